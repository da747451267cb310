"""The prediction read out after every step, for every sample of a batch: the exercise's "how the model warms up
over the window" picture. The stepper's own readouts (the model's outputs as if every recurrent layer of the step's
stage stopped there), gathered per sample, without recording the gates."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stepper import Stepper


@dataclass
class BatchReadouts:
    #: (batch, steps, dims) float32, the output flattened per step; NaN where the readout is not defined (a step of
    #: an encoder, whose model output needs a later stage)
    values: np.ndarray
    #: (stage, t) of each step, in processing order
    steps: list[tuple[int, int]]
    output: int

    @property
    def defined_steps(self) -> np.ndarray:
        """Indices of the steps whose readout is defined."""
        return np.flatnonzero(np.isfinite(self.values).any(axis=(0, 2))) if self.values.size else np.zeros(0, int)


def batch_readouts(model, inputs: list[np.ndarray], output: int = 0) -> BatchReadouts:
    """Run ``inputs`` (every sample) to the end and read output ``output`` after each step."""
    xs = model._inputs(inputs)
    model._check_runnable()
    st = Stepper(model.graph, xs, record=False, readout=True, schedule=model.schedule)
    st.run()
    per_step = [r[output] for r in st.readouts]
    batch = xs[0].shape[0]
    dims = next((v.reshape(batch, -1).shape[1] for v in per_step if v is not None), 1)
    values = np.full((batch, len(per_step), dims), np.nan, np.float32)
    for k, v in enumerate(per_step):
        if v is not None and v.size == batch * dims:
            values[:, k] = v.reshape(batch, dims)
    return BatchReadouts(values, list(st.stage_log), output)
