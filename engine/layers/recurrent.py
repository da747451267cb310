"""What every recurrent layer shares: options, the run protocol the stepper drives, and per-gate weight views."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import FormatError, InputShapeError
from .base import BuildContext, Layer


@dataclass(frozen=True)
class GateSlice:
    """One gate's block of a weight matrix, as a view into the layer's array (no copy)."""

    matrix: str  # "W" (kernel), "U" (recurrent kernel) or "b" (bias)
    gate: str  # e.g. "i", "f", "c", "o"
    array: np.ndarray


class RecurrentRun:
    """One pass of a recurrent layer over a batch, advanced one timestep per ``step()``.

    ``x_full`` (batch, T, features) is given when the whole input sequence is known when the run starts; the run
    may then project all timesteps at once. Otherwise each ``step`` receives that step's input ``x_t`` (batch,
    features), already in processing order. ``record`` keeps every step's gates and states in ``records``
    (arrays of shape (batch, T, …), indexed by processing step).
    """

    layer: "RecurrentLayer"
    t: int  # steps done
    T: int

    def step(self, x_t: np.ndarray | None = None) -> None:
        raise NotImplementedError

    def states(self) -> list[np.ndarray]:
        raise NotImplementedError

    def current_outputs(self) -> list[np.ndarray]:
        """The layer's outputs as if the sequence ended after the steps done so far."""
        raise NotImplementedError


class RecurrentLayer(Layer):
    recurrent = True
    timewise = False
    gate_names: ClassVar[tuple[str, ...]] = ()
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    #: names of the per-step arrays a recording run keeps, in display order
    record_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name, class_name, config, ctx: BuildContext):
        super().__init__(name, class_name, config, ctx)
        self.units = self.int_option("units")
        self.return_sequences = bool(config.get("return_sequences", False))
        self.return_state = bool(config.get("return_state", False))
        self.go_backwards = bool(config.get("go_backwards", False))
        self.stateful = bool(config.get("stateful", False))
        if config.get("time_major", False):
            raise FormatError(f"layer {name!r}: time_major=True inputs are not supported")
        notes = []
        if self.stateful:
            notes.append("stateful layer: replayed from a zero initial state")
        self.notes = tuple(notes)
        self.n_outputs = 1 + (len(self.state_names) if self.return_state else 0)

    @property
    def input_features(self) -> int:
        raise NotImplementedError

    def gate_slices(self) -> list[GateSlice]:
        raise NotImplementedError

    def start(self, batch: int, T: int, x_full: np.ndarray | None = None, initial_state: list[np.ndarray] | None = None,
              record: bool = False) -> RecurrentRun:
        raise NotImplementedError

    def check_input(self, x: np.ndarray) -> None:
        if x.ndim != 3:
            raise InputShapeError(f"layer {self.name!r} ({self.class_name}) needs a 3-D input (batch, time, features), got shape {x.shape}")
        if x.shape[-1] != self.input_features:
            raise InputShapeError(
                f"layer {self.name!r} ({self.class_name}) gets {x.shape[-1]} features per step, its kernel expects {self.input_features}"
            )

    def call(self, inputs):
        """Whole-sequence call, for use outside the stepper (tests, nested evaluation)."""
        x = inputs[0]
        self.check_input(x)
        run = self.start(x.shape[0], x.shape[1], x_full=x, initial_state=list(inputs[1:]) or None)
        for _ in range(x.shape[1]):
            run.step()
        return run.current_outputs()

    def output_shape(self, input_shapes):
        b, t = input_shapes[0][0], input_shapes[0][1]
        first = (b, t, self.units) if self.return_sequences else (b, self.units)
        return [first] + ([(b, self.units)] * len(self.state_names) if self.return_state else [])

    def describe(self):
        d = {"units": str(self.units)}
        if self.return_sequences:
            d["return_sequences"] = "yes"
        if self.return_state:
            d["return_state"] = "yes"
        if self.go_backwards:
            d["go_backwards"] = "yes"
        if self.stateful:
            d["stateful"] = "yes (replayed from zero state)"
        return d
