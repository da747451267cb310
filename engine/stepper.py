"""Replaying a model one timestep at a time.

The stepper is the only forward-pass implementation: ``Model.predict`` runs a stepper to the end without
recording, so "step to the end" and "predict" are the same code and agree bit for bit.

Schedule. Every recurrent layer call is placed in a *stage*; all recurrent calls of a stage advance together, one
timestep per ``step()``. A recurrent layer that reads the step-by-step output of another one (stacked LSTMs with
``return_sequences``, possibly through per-timestep layers such as Dropout or Dense) joins its stage, so both move
together. A layer that needs its whole input before it can start (``go_backwards`` on such an input, a
decoder fed by an encoder's final state, …) starts a later stage. Layers that are not recurrent run as soon as all of
their inputs are final; per-timestep layers between recurrent layers of one stage run one step at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputShapeError
from .graph import Graph, Node, Ref
from .layers.recurrent import RecurrentLayer, RecurrentRun
from .parallel import StallGuard


@dataclass
class Stage:
    index: int  # 1-based; 0 is "before any recurrent step"
    nodes: list[int]  # recurrent and per-step nodes, topological order
    recurrent: list[int]
    T: int = 0


@dataclass
class Schedule:
    stages: list[Stage]
    final_stage: dict[int, int]  # node id -> stage after which its outputs are final (0: at start)
    stepped_input: dict[int, bool]  # recurrent node id -> reads its input one step at a time
    after_stage: dict[int, list[int]]  # stage -> non-stepped nodes computed when it ends
    seq_stage: dict[Ref, int]  # output refs filled one step at a time, and in which stage


def _is_causal(layer) -> bool:
    return getattr(layer, "causal", not getattr(layer, "go_backwards", False))


def make_schedule(graph: Graph) -> Schedule:
    final: dict[int, int] = {}
    stepped_input: dict[int, bool] = {}
    seq_stage: dict[Ref, int] = {}
    stage_nodes: dict[int, list[int]] = {}
    stage_rec: dict[int, list[int]] = {}
    after: dict[int, list[int]] = {}
    for node in graph.nodes:
        nid = node.id
        if node.is_input:
            final[nid] = 0
            continue
        layer = node.layer
        mask_refs = [m for m in (node.mask_inputs or []) if m is not None]
        if isinstance(layer, RecurrentLayer):
            x_ref, others = node.inputs[0], node.inputs[1:] + mask_refs
            s_other = max((final[r[0]] for r in others), default=0)
            s_x = seq_stage.get(x_ref)
            if s_x is not None and _is_causal(layer) and s_x > s_other:
                stage, stepped_input[nid] = s_x, True
            else:
                stage, stepped_input[nid] = max(final[x_ref[0]], s_other) + 1, False
            final[nid] = stage
            stage_nodes.setdefault(stage, []).append(nid)
            stage_rec.setdefault(stage, []).append(nid)
            if layer.return_sequences and getattr(layer, "steps_output", True):
                seq_stage[(nid, 0)] = stage
            continue
        seq_in = {seq_stage[r] for r in node.inputs if r in seq_stage}
        if layer.timewise and len(seq_in) == 1:
            s = seq_in.pop()
            if all(r in seq_stage or final[r[0]] < s for r in node.inputs) and all(final[m[0]] < s for m in mask_refs):
                final[nid] = s
                stage_nodes.setdefault(s, []).append(nid)
                for k in range(node.n_outputs):
                    seq_stage[(nid, k)] = s
                continue
        fs = max((final[r[0]] for r in node.inputs + mask_refs), default=0)
        final[nid] = fs
        after.setdefault(fs, []).append(nid)
    n = max(stage_nodes, default=0)
    stages = [Stage(i, stage_nodes.get(i, []), stage_rec.get(i, [])) for i in range(1, n + 1)]
    return Schedule(stages, final, stepped_input, after, seq_stage)


@dataclass
class StepInfo:
    step: int  # global step index just completed (0-based)
    stage: int
    t: int  # timestep within the stage


class Stepper:
    """Moves a model's forward pass one timestep at a time: ``reset()``, ``step()``, ``run()``, ``seek(n)``.

    ``record`` keeps every recurrent layer's gates and states per step; ``readout`` gives, for each step, the
    model's outputs as if every recurrent layer of the step's stage stopped there (the "prediction at t"): a step
    keeps what that needs (views of the records where it can), and ``readouts`` computes them when read.
    """

    def __init__(self, graph: Graph, inputs: list[np.ndarray], record: bool = False, readout: bool = False,
                 schedule: Schedule | None = None):
        self.graph = graph
        self.schedule = schedule or make_schedule(graph)
        self.inputs = inputs
        self.record = record
        self.readout_enabled = readout
        self.batch = inputs[0].shape[0]
        self.implicit_masks = getattr(graph, "implicit_masks", True)
        # at batch 1, where OpenBLAS runs several threads, steps are timed to notice stalls (engine/parallel.py)
        self._guard = StallGuard.make(self.batch)
        self.reset()

    # --- state -------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.env: dict[Ref, np.ndarray] = {}
        # Keras masks (batch, time) bool of final values, and of values filled step by step in the current stage
        self.masks: dict[Ref, np.ndarray] = {}
        self.mask_buffers: dict[Ref, np.ndarray] = {}
        self.runs: dict[int, RecurrentRun] = {}
        self.buffers: dict[Ref, np.ndarray] = {}
        self._readouts: list[list[np.ndarray | None]] = []  # per step: per model output
        self._pending: list[tuple] = []  # steps whose readout is not computed yet: (stage, t, kept values)
        self.step_index = 0  # steps done
        self.stage_pos = 0  # index into schedule.stages of the current stage
        self.t = 0  # steps done within the current stage
        self.stage_log: list[tuple[int, int]] = []  # (stage, t) of each step done
        self._plan: list[tuple] | None = None  # step()'s per-node work for the current stage
        self._readout_plan: tuple | None = None  # the current stage's readout nodes and live values
        for nid, x in zip(self.graph.inputs, self.inputs):
            self.env[(nid, 0)] = x
        self._compute(self.schedule.after_stage.get(0, []))
        self._skip_empty_stages()

    @property
    def stages(self) -> list[Stage]:
        return self.schedule.stages

    @property
    def done(self) -> bool:
        return self.stage_pos >= len(self.stages)

    @property
    def current_stage(self) -> Stage | None:
        return None if self.done else self.stages[self.stage_pos]

    def total_steps(self) -> int:
        """Steps of every stage; later stages' lengths are known once earlier ones are computed or by shape."""
        total = 0
        for i, st in enumerate(self.stages):
            if st.T:
                total += st.T
            else:
                total += self._stage_T_guess(st)
        return total

    def _stage_T_guess(self, st: Stage) -> int:
        T = 0
        for nid in st.recurrent:
            ref = self.graph.nodes[nid].inputs[0]
            if ref in self.env:
                T = max(T, self.env[ref].shape[1])
            else:
                shp = self.graph.nodes[ref[0]].output_shapes[ref[1]] if self.graph.nodes[ref[0]].output_shapes else None
                if shp and len(shp) > 1 and shp[1]:
                    T = max(T, shp[1])
                elif not self.graph.nodes[ref[0]].is_input:
                    T = max(T, self.inputs[0].shape[1] if self.inputs[0].ndim > 1 else 0)
        return T

    # --- moving ------------------------------------------------------------------------------------------------
    def step(self) -> StepInfo | None:
        """Advance every recurrent layer of the current stage by one timestep; None when already at the end."""
        stages = self.schedule.stages
        if self.stage_pos >= len(stages):
            return None
        st = stages[self.stage_pos]
        t = self.t
        plan = self._plan
        if plan is None:
            plan = self._plan = self._step_plan(st)
        # exp(-z) overflows to inf in a saturated σ gate, whose value is then exactly 0: not worth a warning
        with np.errstate(over="ignore"):
            if self._guard is None:
                self._advance(plan, t)
            else:
                self._guard.run(lambda: self._advance(plan, t))
        info = StepInfo(self.step_index, st.index, t)
        self.stage_log.append((st.index, t))
        self.step_index += 1
        self.t = t + 1
        if self.readout_enabled:
            copied = self._stage_readout_plan(st)[3]
            self._pending.append((st, t, self._keep_for_readout(copied) if copied else None))
        if self.t >= st.T:
            self._finish_stage(st)
        return info

    def _advance(self, plan: list[tuple], t: int) -> None:
        """Step t of every node of the current stage."""
        mask_buffers = self.mask_buffers
        for run, node, x_ref, src in plan:
            if run is None:
                self._step_timewise(node, t)
            elif t < run.T:
                if x_ref is None:
                    run.step(None)
                    continue
                x_t = src.seq[:, t] if src is not None else self.buffers[x_ref][:, t]
                mb = mask_buffers.get(x_ref)
                if mb is None:
                    run.step(x_t)
                else:
                    m_t = mb[:, t]
                    run.step(x_t, m_t)
                    out = mask_buffers.get((node.id, 0))
                    if out is not None:
                        out[:, t] = m_t

    def _step_plan(self, st: Stage) -> list[tuple]:
        """What ``step`` does for each node of the stage, looked up once per stage: (run, node, x_ref, src) — the
        recurrent run (None for a per-step layer), its stepped input ref (None when it has its whole input) and
        the run whose ``seq`` that input is (None when a per-step layer's buffer)."""
        plan = []
        for nid in st.nodes:
            node = self.graph.nodes[nid]
            run = self.runs.get(nid)
            if run is None:
                plan.append((None, node, None, None))
            elif self.schedule.stepped_input[nid]:
                x_ref = node.inputs[0]
                plan.append((run, node, x_ref, self.runs.get(x_ref[0])))
            else:
                plan.append((run, node, None, None))
        return plan

    def run(self) -> list[np.ndarray]:
        """Step to the end and return the model's outputs. Without readouts, a stage not yet begun is run layer by
        layer (``_run_stage``): the same steps, so the same bits, in another order."""
        while not self.done:
            if self.t == 0 and not self.readout_enabled:
                self._run_stage(self.stages[self.stage_pos])
            else:
                self.step()
        return self.outputs()

    def _run_stage(self, st: Stage) -> None:
        """Every step of stage ``st``, node after node: each layer runs over all its timesteps before the next one
        starts. A node's step t reads only its own state and step t of the nodes before it in the plan (whose
        sequences are kept whole), so every step computes exactly what ``step()`` computes. What changes is what the
        caches hold: one layer's weights at a time (at batch 1, 2×LSTM(256) steps 1.7-1.9x faster this way:
        its 3.3 MB of weights do not fit a core's 2 MB L2 cache, each layer's do), and no per-step bookkeeping."""
        plan = self._plan
        if plan is None:
            plan = self._plan = self._step_plan(st)
        guard = self._guard
        with np.errstate(over="ignore"):
            for item in plan:
                if guard is None:
                    self._run_node(item, 0, st.T)
                else:  # the steps of each node timed on their own (layers differ in cost)
                    guard.new_stage()
                    for t in range(st.T):
                        guard.run(lambda: self._run_node(item, t, t + 1))
        self.stage_log.extend((st.index, t) for t in range(st.T))
        self.step_index += st.T
        self.t = st.T
        self._finish_stage(st)

    def _run_node(self, item: tuple, t0: int, t1: int) -> None:
        """Steps t0 … t1-1 of one node of the stage's plan (see ``_advance``)."""
        run, node, x_ref, src = item
        if run is None:
            for t in range(t0, t1):
                self._step_timewise(node, t)
            return
        t1 = min(t1, run.T)
        step = run.step
        if x_ref is None:
            for _ in range(t0, t1):
                step(None)
            return
        seq = src.seq if src is not None else self.buffers[x_ref]
        mb = self.mask_buffers.get(x_ref)
        if mb is None:
            for t in range(t0, t1):
                step(seq[:, t])
            return
        out = self.mask_buffers.get((node.id, 0))
        for t in range(t0, t1):
            m_t = mb[:, t]
            step(seq[:, t], m_t)
            if out is not None:
                out[:, t] = m_t

    def seek(self, n: int) -> None:
        """Go to the state after ``n`` steps (replaying from the start when going back)."""
        n = max(0, n)
        if n < self.step_index:
            self.reset()
        while self.step_index < n and not self.done:
            self.step()

    def outputs(self) -> list[np.ndarray]:
        if not self.done:
            raise RuntimeError("the stepper has not reached the end")
        return [self.env[r] for r in self.graph.outputs]

    # --- internals ---------------------------------------------------------------------------------------------
    def _skip_empty_stages(self) -> None:
        while not self.done:
            st = self.stages[self.stage_pos]
            self._start_stage(st)
            if st.T > 0:
                return
            self._finish_stage(st)

    def _start_stage(self, st: Stage) -> None:
        self._plan = None
        self._readout_plan = None
        if self._guard is not None:
            self._guard.new_stage()
        nodes = self.graph.nodes
        T = 0
        for nid in st.nodes:
            node = nodes[nid]
            layer = node.layer
            if nid not in st.recurrent:
                # a per-step layer: does it carry a mask through this stage?
                if self.implicit_masks and (getattr(layer, "makes_mask", False) or (layer.mask_mode != "drop" and (
                        node.mask_inputs or any(r in self.mask_buffers or r in self.masks for r in node.inputs)))):
                    n_t = self._seq_len((nid, 0))
                    for k in range(node.n_outputs):
                        self.mask_buffers[(nid, k)] = np.ones((self.batch, n_t), bool)
                continue
            init = [self.env[r] for r in node.inputs[1:]] or None
            up = node.inputs[0]
            explicit = node.mask_inputs[0] if node.mask_inputs else None
            if self.schedule.stepped_input[nid]:
                n_t = self._seq_len(up)
                if explicit is not None:  # Keras 3's mask argument, final before this stage
                    mask = np.asarray(self.env[explicit], dtype=bool)
                    run = layer.begin(self.batch, n_t, x_full=None, initial_state=init, record=self.record, mask=mask)
                    if layer.return_sequences and self.implicit_masks:
                        self.mask_buffers[(nid, 0)] = mask
                else:
                    live = up in self.mask_buffers
                    run = layer.begin(self.batch, n_t, x_full=None, initial_state=init, record=self.record, stepped_mask=live)
                    if live and layer.return_sequences:
                        self.mask_buffers[(nid, 0)] = np.ones((self.batch, n_t), bool)
            else:
                x = self.env[up]
                layer.check_input(x)
                mask = np.asarray(self.env[explicit], dtype=bool) if explicit is not None else self.masks.get(up)
                run = layer.begin(x.shape[0], x.shape[1], x_full=x, initial_state=init, record=self.record, mask=mask)
                if mask is not None and layer.return_sequences and getattr(layer, "steps_output", True) and self.implicit_masks:
                    self.mask_buffers[(nid, 0)] = np.array(mask, dtype=bool)
            self.runs[nid] = run
            T = max(T, run.T)
        st.T = T
        self.t = 0

    def _seq_len(self, ref: Ref) -> int:
        if ref[0] in self.runs:
            return self.runs[ref[0]].T
        node = self.graph.nodes[ref[0]]
        seq = self.schedule.seq_stage
        for r in node.inputs:
            if r in seq:
                return self._seq_len(r)
        return self._seq_len(node.inputs[0])

    def _input_masks(self, node: Node) -> list[np.ndarray | None]:
        """Masks of a node's final inputs: Keras 3's explicit ``mask=`` arguments, else those propagated."""
        if node.mask_inputs is not None:
            given = [None if r is None else np.asarray(self.env[r], dtype=bool) for r in node.mask_inputs]
            return (given + [None] * len(node.inputs))[:len(node.inputs)]
        if not self.implicit_masks:
            return [None] * len(node.inputs)
        return [self.masks.get(r) for r in node.inputs]

    def _mask_slice(self, ref: Ref, t: int) -> np.ndarray | None:
        buf = self.mask_buffers.get(ref)
        return None if buf is None else buf[:, t]

    def _slice(self, ref: Ref, t: int) -> np.ndarray:
        run = self.runs.get(ref[0])
        if run is not None:
            return run.seq[:, t]
        return self.buffers[ref][:, t]

    def _step_timewise(self, node: Node, t: int) -> None:
        args, masks = self._timewise_args(node, t)
        outs = node.layer.call(args)
        for k, y in enumerate(outs):
            buf = self.buffers.get((node.id, k))
            if buf is None:
                buf = np.zeros((y.shape[0], self._seq_len((node.id, k))) + y.shape[1:], y.dtype)
                self.buffers[(node.id, k)] = buf
            buf[:, t] = y
        if (node.id, 0) in self.mask_buffers:
            for k, m in enumerate(node.layer.compute_mask(args, masks)):
                if m is not None:
                    self.mask_buffers[(node.id, k)][:, t] = m

    def _timewise_args(self, node: Node, t: int) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """A per-step layer's inputs at step t: stepped sequences sliced, and final sequences of the same rank
        (e.g. the model input added to an LSTM's output) sliced too; other inputs whole."""
        seq = self.schedule.seq_stage
        args: list = [self._slice(r, t) if r in seq else None for r in node.inputs]
        masks: list = [self._mask_slice(r, t) if r in seq else None for r in node.inputs]
        ndim = next(a.ndim for a in args if a is not None)
        for j, r in enumerate(node.inputs):
            if args[j] is None:
                v = self.env[r]
                m = self.masks.get(r)
                if v.ndim == ndim + 1:
                    args[j] = v[:, t]
                    masks[j] = None if m is None else m[:, t]
                else:
                    args[j] = v
        if node.mask_inputs is not None:  # Keras 3's explicit masks, final (batch, T) arrays
            masks = [None if r is None else np.asarray(self.env[r], dtype=bool)[:, t] for r in node.mask_inputs]
            masks = (masks + [None] * len(args))[:len(args)]
        return args, masks

    def _finish_stage(self, st: Stage) -> None:
        for nid in st.nodes:
            if nid in self.runs:
                for k, y in enumerate(self.runs[nid].current_outputs()):
                    self.env[(nid, k)] = y
                node = self.graph.nodes[nid]
                if self.implicit_masks and not getattr(node.layer, "steps_output", True):  # masks made at the end
                    m = self._input_masks(node)[0]
                    for k, mk in enumerate(node.layer.compute_mask([self.env[node.inputs[0]]], [m])):
                        if mk is not None:
                            self.masks[(nid, k)] = mk
            else:
                for k in range(self.graph.nodes[nid].n_outputs):
                    self.env[(nid, k)] = self.buffers[(nid, k)]
            for k in range(self.graph.nodes[nid].n_outputs):
                if (nid, k) in self.mask_buffers:
                    self.masks[(nid, k)] = self.mask_buffers.pop((nid, k))
        self._compute(self.schedule.after_stage.get(st.index, []))
        self.stage_pos += 1
        self.t = 0
        if not self.done:
            self._skip_empty_stages()

    def _compute(self, node_ids: list[int]) -> None:
        nodes = self.graph.nodes
        for nid in node_ids:
            node = nodes[nid]
            layer = node.layer
            args = [self.env[r] for r in node.inputs]
            masks = self._input_masks(node)
            if layer.uses_mask and any(m is not None for m in masks):
                outs = layer.call(args, masks)
            else:
                outs = layer.call(args)
            for k, y in enumerate(outs):
                self.env[(nid, k)] = y
            if self.implicit_masks:
                for k, m in enumerate(layer.compute_mask(args, masks)):
                    if m is not None:
                        self.masks[(nid, k)] = m

    @property
    def readouts(self) -> list[list[np.ndarray | None]]:
        """Per step done, per model output: the readout after that step (None where it is not defined)."""
        if self._pending:
            for st, t, kept in self._pending:
                self._readouts.append(self._readout(st, t, kept))
            self._pending.clear()
        return self._readouts

    def _stage_readout_plan(self, st: Stage) -> tuple:
        """(program, outputs, viewed, copied): how to read out after any step of stage ``st``, worked out at its
        first step. ``program`` lists the nodes downstream of the stage in topological order, each with where its
        inputs come from (``_SRC_*``, see ``_readout``); ``outputs`` the same for the model's outputs. The outputs
        of the stage's runs that change from step to step are either ``viewed`` (ref, run, history), kept by the run
        after each step anyway (``history[:, t]``), or ``copied`` (ref, run, whole) by each step (``whole``: defined
        only once the run is complete, as Bidirectional's)."""
        if self._readout_plan is not None and self._readout_plan[0] is st:
            return self._readout_plan[1:]
        final_stage = self.schedule.final_stage
        nodes = [node for node in self.graph.nodes
                 if not node.is_input and final_stage.get(node.id, 0) == st.index and node.id not in self.runs
                 and (node.id, 0) not in self.buffers]
        viewed, copied, in_val = [], [], set()
        for ref in dict.fromkeys([r for n in nodes for r in n.inputs] + list(self.graph.outputs)):
            run = self.runs.get(ref[0])
            if run is None or final_stage[ref[0]] != st.index:
                continue
            layer = self.graph.nodes[ref[0]].layer
            whole = not getattr(layer, "steps_output", True)
            if not whole and ref[1] == 0 and layer.return_sequences:
                continue  # a slice of run.seq, final once the step is done
            history = None if whole else run.output_history(ref[1])
            if history is not None:
                viewed.append((ref, run, history))
            else:
                copied.append((ref, run, whole))
            in_val.add(ref)

        def source(ref: Ref) -> tuple:
            if ref in in_val:
                return (_SRC_VALUE, ref)
            stage = final_stage[ref[0]]
            if stage < st.index and ref in self.env:
                return (_SRC_FINAL, self.env[ref])
            if stage == st.index:
                run = self.runs.get(ref[0])
                if run is not None:
                    return (_SRC_SEQ, run)
                buf = self.buffers.get(ref)
                if buf is not None:
                    return (_SRC_BUFFER, buf)
            return (_SRC_NONE, None)

        program = []
        for node in nodes:
            program.append((node, [source(r) for r in node.inputs]))
            in_val.update((node.id, k) for k in range(node.n_outputs))
        outputs = [source(r) for r in self.graph.outputs]
        self._readout_plan = (st, program, outputs, viewed, copied)
        return program, outputs, viewed, copied

    @staticmethod
    def _keep_for_readout(copied: list[tuple]) -> dict[Ref, np.ndarray | None]:
        """What the readout of step t needs that later steps overwrite and no record keeps: copies."""
        kept = {}
        for ref, run, whole in copied:
            if whole:
                kept[ref] = run.current_outputs()[ref[1]] if run.t >= run.T else None
            else:
                kept[ref] = np.array(run.current_outputs()[ref[1]], copy=True)
        return kept

    def _readout(self, st: Stage, t: int, kept: dict | None) -> list[np.ndarray | None]:
        """Outputs as if the recurrent layers of stage ``st`` stopped after its step t.

        Values are tagged: final (done earlier) or last (a state or last output at t) — ``_LAST`` —, or ``_SLICE``
        (the value at step t of a sequence); a layer that is not timewise cannot take a slice (it would need the
        rest of the sequence) and gives None, as do the layers after it.
        """
        program, outputs, viewed, _ = self._stage_readout_plan(st)
        val: dict[Ref, tuple[int, np.ndarray] | None] = {}
        for ref, run, history in viewed:
            # contiguous, as current_outputs() gives it (a product over a strided view may round differently)
            val[ref] = (_LAST, np.ascontiguousarray(history[:, min(t, run.T - 1)]))
        if kept:
            for ref, v in kept.items():
                val[ref] = None if v is None else (_LAST, v)
        for node, sources in program:
            values = []
            kind = _LAST
            for src in sources:
                a = self._readout_source(src, t, val)
                if a is None:
                    kind = None
                    break
                kind |= a[0]
                values.append(a[1])
            if kind is None or (kind == _SLICE and not node.layer.timewise):
                for k in range(node.n_outputs):
                    val[(node.id, k)] = None
                continue
            try:
                outs = node.layer.call(values)
            except Exception:
                outs = [None] * node.n_outputs
            for k, y in enumerate(outs):
                val[(node.id, k)] = None if y is None else (kind, y)
        result = []
        for src in outputs:
            v = self._readout_source(src, t, val)
            result.append(None if v is None else v[1])
        return result

    @staticmethod
    def _readout_source(src: tuple, t: int, val: dict) -> tuple[int, np.ndarray] | None:
        code, p = src
        if code == _SRC_VALUE:
            return val[p]
        if code == _SRC_FINAL:
            return (_LAST, p)
        if code == _SRC_SEQ:
            return (_SLICE, p.seq[:, min(t, p.T - 1)])
        if code == _SRC_BUFFER:
            return (_SLICE, p[:, t])
        return None


# where a readout input comes from (Stepper._stage_readout_plan) and what it is (Stepper._readout)
_SRC_VALUE, _SRC_FINAL, _SRC_SEQ, _SRC_BUFFER, _SRC_NONE = range(5)
_LAST, _SLICE = 0, 1


def check_inputs(graph: Graph, inputs: list[np.ndarray], dtype=np.float32) -> list[np.ndarray]:
    """Inputs as ``dtype`` (float32, or float64 for an exact reference run; ints for integer inputs), checked
    against the model's input shapes."""
    if len(inputs) != len(graph.inputs):
        raise InputShapeError(f"the model has {len(graph.inputs)} inputs, got {len(inputs)} arrays")
    out = []
    batch = None
    for nid, x in zip(graph.inputs, inputs):
        layer = graph.nodes[nid].layer
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise InputShapeError(f"input {layer.name!r} is not numeric (dtype {x.dtype})")
        shape = layer.shape
        if len(shape) == x.ndim + 1 and x.ndim >= 1 and (shape[0] is None):
            pass
        if x.ndim != len(shape):
            raise InputShapeError(f"input {layer.name!r} has shape {x.shape}, the model expects {_fmt_shape(shape)}")
        for d, want in zip(x.shape[1:], shape[1:]):
            if want is not None and d != want:
                raise InputShapeError(f"input {layer.name!r} has shape {x.shape}, the model expects {_fmt_shape(shape)}")
        if x.shape[0] == 0 or (x.ndim > 1 and 0 in x.shape[1:]):
            raise InputShapeError(f"input {layer.name!r} is empty (shape {x.shape})")
        if batch is not None and x.shape[0] != batch:
            raise InputShapeError("inputs have different batch sizes")
        batch = x.shape[0]
        if "int" in str(layer.dtype):
            x = x.astype(np.int64, copy=False)
        else:
            x = np.ascontiguousarray(x, dtype=dtype)
            if not np.all(np.isfinite(x)):
                raise InputShapeError(f"input {layer.name!r} contains NaN or infinity")
        out.append(x)
    return out


def _fmt_shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
