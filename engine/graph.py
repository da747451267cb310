"""A model config (Sequential, Functional, nested models, old list-style Sequential) read into one flat graph.

Each call of a layer becomes a :class:`Node`; a layer called twice (shared) gives two nodes over one Layer object.
Nested models are inlined: their layers appear with qualified names (``outer/inner``).
"""
from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field

from . import activations
from .errors import FormatError, UnsupportedLayerError
from .layers.legacy import adapt_keras1
from .layers.base import CODE_CARRYING, LAYER_TYPES, BuildContext, Layer, unsupported
from .limits import DEFAULT, Limits
from .printable import clip
from .shape_budget import check_static
from .weights import WeightGroup

MODEL_CLASSES = {"Sequential", "Functional", "Model"}
MAX_LAYERS = DEFAULT.max_layers
MAX_DIM = 1 << 31

Ref = tuple[int, int]  # (node id, output index)


class InputLayer(Layer):
    def __init__(self, name, shape, dtype):
        self.name = name
        self.class_name = "InputLayer"
        self.config = {"batch_shape": list(shape), "dtype": dtype}
        self.shape = shape
        self.dtype = dtype

    def call(self, inputs):
        return [inputs[0]]


class UnsupportedLayer(Layer):
    """A placeholder for a layer the engine cannot (or will not) replay; it keeps the reason and never runs."""

    def __init__(self, name, class_name, config, error: UnsupportedLayerError):
        self.name = name
        self.class_name = class_name
        self.config = config if isinstance(config, dict) else {}
        self.error = error
        self.reason = error.why
        #: Lambda and other layers carrying code: the whole file is refused, even by ``info``
        self.carries_code = class_name in CODE_CARRYING or "never executes code" in error.why

    def call(self, inputs):
        raise self.error

    def output_shape(self, input_shapes):
        return [None]


class UnbuiltLayer(UnsupportedLayer):
    """A layer of a model saved before it was built (Keras 3): its config is known, its weights do not exist."""

    REASON = "the file holds no weights: the model was saved before it was built (no input shape)"

    def __init__(self, name, class_name, config):
        super().__init__(name, class_name, config, UnsupportedLayerError(class_name, name, self.REASON))

    def describe(self):
        keys = ("units", "filters", "activation", "recurrent_activation", "return_sequences", "rate", "output_dim")
        out = {}
        for k in keys:
            v = self.config.get(k)
            if v is None or v is False:
                continue
            out[k] = activations.activation_name(v) if "activation" in k else ("yes" if v is True else str(v))
        if self.class_name in ("Bidirectional", "TimeDistributed") and isinstance(self.config.get("layer"), dict):
            out["layer"] = str(self.config["layer"].get("class_name"))
        return out


@dataclass
class Node:
    id: int
    layer: Layer
    inputs: list[Ref]
    n_outputs: int
    qualname: str
    output_shapes: list = field(default_factory=list)
    #: Keras 3 writes a layer's mask as an explicit call argument (``mask=`` a bool tensor, or one per input);
    #: when given, it replaces the mask propagated from the inputs
    mask_inputs: list[Ref | None] | None = None

    @property
    def is_input(self) -> bool:
        return isinstance(self.layer, InputLayer)


@dataclass
class Graph:
    nodes: list[Node]
    inputs: list[int]
    outputs: list[Ref]
    layers: list[Layer]  # unique layers in config order, inputs excluded
    name: str = "model"
    #: Keras 2 passes masks implicitly from layer to layer; Keras 3 files record every mask a layer was called with
    #: as an explicit ``mask=`` argument (and none where Keras 3 drops it, e.g. an RNN called with initial_state)
    implicit_masks: bool = True
    #: saved before it was built: the architecture only, no input shape and no weights (nothing can run)
    unbuilt: bool = False


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _shape(value, what: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise FormatError(f"{what} is not a shape: {value!r}")
    out = []
    for d in value:
        if d is None:
            out.append(None)
        elif isinstance(d, int) and not isinstance(d, bool) and 0 < d < MAX_DIM:
            out.append(d)
        else:
            raise FormatError(f"{what} has an impossible dimension {d!r}")
    return tuple(out)


class _Builder:
    def __init__(self, keras_version: str, strict: bool, limits: Limits = DEFAULT):
        self.keras_version = keras_version
        self.strict = strict
        self.max_layers = limits.max_layers
        self.nodes: list[Node] = []
        self.layers: list[Layer] = []
        self.unbuilt = False
        self.stored_names: list[str] = []  # top-level weight groups the file holds, for error messages

    # -- nodes ------------------------------------------------------------------------------------------------
    def add_node(self, layer: Layer, inputs: list[Ref], qualname: str, mask_inputs: list[Ref | None] | None = None) -> int:
        if len(self.nodes) >= self.max_layers:
            raise FormatError(f"more than {self.max_layers} layer calls; refusing")
        n_out = getattr(layer, "n_outputs", 1)
        node = Node(len(self.nodes), layer, inputs, n_out, qualname, mask_inputs=mask_inputs)
        in_shapes = [self.nodes[i].output_shapes[k] if k < len(self.nodes[i].output_shapes) else None for i, k in inputs]
        _check_features(layer, qualname, in_shapes)
        try:
            node.output_shapes = list(layer.output_shape(in_shapes)) if in_shapes and None not in in_shapes else [None] * n_out
        except Exception:  # shapes are for display only
            node.output_shapes = [None] * n_out
        self.nodes.append(node)
        return node.id

    def add_input(self, name: str, shape: tuple, dtype: str) -> Ref:
        layer = InputLayer(name, shape, dtype)
        nid = self.add_node(layer, [], name)
        self.nodes[nid].output_shapes = [shape]
        return (nid, 0)

    # -- layers -----------------------------------------------------------------------------------------------
    def make_layer(self, spec: dict, weights: WeightGroup, prefix: str) -> Layer:
        class_name = spec.get("class_name")
        config = spec.get("config", {})
        if not isinstance(class_name, str):
            raise FormatError(f"a layer entry has no class_name: {str(spec)[:80]}")
        if not isinstance(config, dict):
            raise FormatError(f"layer of class {class_name} has no config object")
        name = prefix + str(config.get("name", spec.get("name", class_name)))
        if self.unbuilt:
            layer = UnbuiltLayer(name, class_name, config)
            self.layers.append(layer)
            return layer
        if _is_op(spec):  # a Keras 3 operation node (ops.not_equal …), not a layer
            from .layers.ops import OP_TYPES

            cls = OP_TYPES.get(class_name)
            if cls is None:
                err = UnsupportedLayerError(class_name, name, f"operation {clip(class_name, 80)!r} (keras.ops) is not supported")
                if self.strict:
                    raise err
                layer = UnsupportedLayer(name, class_name, config, err)
                self.layers.append(layer)
                return layer
        else:
            cls = LAYER_TYPES.get(class_name)
        err = None
        if class_name in CODE_CARRYING or "function" in config and class_name not in LAYER_TYPES:
            err = unsupported(class_name, name)
        elif cls is None:
            err = unsupported(class_name, name)
        note = None
        if err is None and activations.keras_major(self.keras_version) < 3:
            config, weights, note = adapt_keras1(class_name, config, weights)
        if err is None:
            try:
                try:
                    layer = cls(name, class_name, config, BuildContext(self.keras_version, weights))
                except FormatError as e:
                    if weights.is_empty() and self.stored_names and "in the file" in str(e):
                        # say what is there instead of only that this layer is not
                        there = ", ".join(self.stored_names[:8]) + (" …" if len(self.stored_names) > 8 else "")
                        raise FormatError(f"{e}: the file's weights are stored for {there}, none of them "
                                          f"named for this layer or matching its place") from None
                    raise
                if note:
                    layer.notes = tuple(layer.notes) + (note,)
            except UnsupportedLayerError as e:
                err = e
        if err is not None:
            if self.strict:
                raise err
            layer = UnsupportedLayer(name, class_name, config, err)
        self.layers.append(layer)
        return layer

    # -- models -----------------------------------------------------------------------------------------------
    def node_offset(self, spec: dict) -> int:
        """Keras 2 counts a nested model's own construction (Input → outputs) as its node 0, which the config leaves
        out; its calls in the outer model are then nodes 1, 2, … (Keras' ``_should_skip_first_node``). Keras 3
        numbers the calls from 0."""
        if activations.keras_major(self.keras_version) >= 3:
            return 0
        cfg = spec.get("config")
        if spec.get("class_name") in ("Functional", "Model"):
            return 1
        layers = cfg if isinstance(cfg, list) else (cfg or {}).get("layers") if isinstance(cfg, dict) else None
        if isinstance(layers, list) and layers and isinstance(layers[0], dict):
            first = layers[0]
            fcfg = first.get("config") if isinstance(first.get("config"), dict) else {}
            if first.get("class_name") == "InputLayer" or "batch_input_shape" in fcfg or "batch_shape" in fcfg:
                return 1
        return 0

    def build(self, spec: dict, weights: dict[str, WeightGroup], prefix: str = "", inputs: list[Ref] | None = None) -> tuple[list[Ref], list[Ref]]:
        class_name = spec.get("class_name")
        config = spec.get("config")
        if class_name == "Sequential" or isinstance(config, list):
            return self.build_sequential(config, weights, prefix, inputs)
        if class_name in ("Functional", "Model"):
            if not isinstance(config, dict):
                raise FormatError(f"{class_name} model has no config object")
            return self.build_functional(config, weights, prefix, inputs)
        raise FormatError(f"top-level class {class_name!r} is not a Keras model")

    def lookup(self, weights: dict[str, WeightGroup], name: str, fallback_key: str | None) -> WeightGroup:
        if name in weights:
            return weights[name]
        if fallback_key and fallback_key in weights:
            return weights[fallback_key]
        return WeightGroup(name=name)

    def build_sequential(self, config, weights, prefix, inputs):
        layer_specs = config if isinstance(config, list) else config.get("layers")
        if not isinstance(layer_specs, list) or not layer_specs:
            raise FormatError("Sequential model has no layers")
        keys = _auto_keys([s for s in layer_specs if isinstance(s, dict) and s.get("class_name") != "InputLayer"])
        first = layer_specs[0] if isinstance(layer_specs[0], dict) else {}
        fcfg = first.get("config", {}) if isinstance(first.get("config", {}), dict) else {}
        if inputs is None:
            shape = None
            for key in ("batch_shape", "batch_input_shape"):
                if key in fcfg:
                    shape = _shape(fcfg[key], f"layer {fcfg.get('name')!r} {key}")
                    break
            if shape is None and isinstance(config, dict) and config.get("build_input_shape"):
                shape = _shape(config["build_input_shape"], "build_input_shape")
            if shape is None and "input_shape" in fcfg:
                shape = (None,) + _shape(fcfg["input_shape"], "input_shape")
            if shape is None and not prefix and all(w.is_empty() for w in weights.values()):
                self.unbuilt = True  # a Keras 3 model saved before it was built: describe it, never run it
                shape = (None,)
            if shape is None:
                raise FormatError("Sequential model has no input shape")
            in_name = fcfg.get("name", "input") if first.get("class_name") == "InputLayer" else "input"
            current = self.add_input(prefix + str(in_name), shape, str(fcfg.get("dtype", "float32")))
            model_inputs = [current]
        else:
            if len(inputs) != 1:
                raise FormatError("nested Sequential model called with several inputs")
            current = inputs[0]
            model_inputs = inputs
        seen: set[str] = set()
        for spec in layer_specs:
            nm = (spec.get("config") or {}).get("name", spec.get("name")) if isinstance(spec, dict) else None
            if isinstance(nm, str):
                if nm in seen:
                    raise FormatError(_duplicate(nm))
                seen.add(nm)
        k = 0
        for spec in layer_specs:
            if not isinstance(spec, dict):
                raise FormatError("Sequential layer entry is not an object")
            if spec.get("class_name") == "InputLayer":
                continue
            lname = str((spec.get("config") or {}).get("name", spec.get("name", "")))
            if spec.get("class_name") in MODEL_CLASSES:
                sub = self.lookup(weights, lname, keys[k])
                _, outs = self.build(spec, _nested_weights(sub), prefix + lname + "/", [current])
                if len(outs) != 1:
                    raise FormatError(f"nested model {lname!r} in a Sequential model has several outputs")
                current = outs[0]
            else:
                layer = self.make_layer(spec, self.lookup(weights, lname, keys[k]), prefix)
                nid = self.add_node(layer, [current], layer.name)
                current = (nid, 0)
            k += 1
        return model_inputs, [current]

    def build_functional(self, config, weights, prefix, inputs):
        specs = config.get("layers")
        if not isinstance(specs, list) or not specs:
            raise FormatError("Functional model has no layers")
        keys = _auto_keys(specs)
        by_name: dict[str, dict] = {}
        for spec in specs:
            if not isinstance(spec, dict):
                raise FormatError("layer entry is not an object")
            nm = spec.get("name", (spec.get("config") or {}).get("name"))
            if not isinstance(nm, str):
                raise FormatError("a layer has no name")
            if nm in by_name:
                raise FormatError(_duplicate(nm))
            by_name[nm] = spec
        in_refs = _ref_list(config.get("input_layers"))
        out_refs = _ref_list(config.get("output_layers"))
        produced: dict[tuple[str, int], list[Ref]] = {}
        if inputs is not None and len(inputs) != len(in_refs):
            raise FormatError(f"nested model called with {len(inputs)} inputs, it has {len(in_refs)}")
        for j, (lname, node_idx, _) in enumerate(in_refs):
            spec = by_name.get(lname)
            if spec is None or spec.get("class_name") != "InputLayer":
                raise FormatError(f"model input {lname!r} is not an InputLayer")
            if inputs is not None:
                produced[(lname, 0)] = [inputs[j]]
            else:
                cfg = spec.get("config") or {}
                key = "batch_shape" if "batch_shape" in cfg else "batch_input_shape"
                if key not in cfg:
                    raise FormatError(f"input {lname!r} has no shape")
                produced[(lname, 0)] = [self.add_input(prefix + lname, _shape(cfg[key], f"input {lname!r} {key}"), str(cfg.get("dtype", "float32")))]
        layers_made: dict[str, Layer] = {}
        pending = [(spec, k, call) for spec in specs if spec.get("class_name") != "InputLayer"
                   for k, call in enumerate(_calls(spec))]
        # Each call waits for the (layer, node) outputs it reads; it runs as soon as the last one is produced, the
        # earliest in config order first. Linear in the number of calls, whatever order the config lists them in.
        waiting: dict[tuple[str, int], list[int]] = {}
        missing = [0] * len(pending)
        ready: list[int] = []
        for j, (_, _, call) in enumerate(pending):
            needs = {(n, i) for n, i, _ in call.refs} | {(m[0], m[1]) for m in call.masks or () if m is not None}
            needs = {key for key in needs if key not in produced}
            missing[j] = len(needs)
            for key in needs:
                waiting.setdefault(key, []).append(j)
            if not needs:
                ready.append(j)
        heapq.heapify(ready)
        done = 0
        while ready:
            j = heapq.heappop(ready)
            spec, call_idx, call = pending[j]
            lname = spec.get("name", (spec.get("config") or {}).get("name"))
            try:
                in_nodes = [produced[(n, i)][t] for n, i, t in call.refs]
                mask_nodes = None if call.masks is None else [
                    None if m is None else produced[(m[0], m[1])][m[2]] for m in call.masks]
            except IndexError:
                raise FormatError(f"layer {clip(str(lname), 80)!r} reads an output its source does not have (broken graph)") from None
            if not in_nodes:
                raise FormatError(f"layer {clip(str(lname), 80)!r} is called without any input")
            if spec.get("class_name") in MODEL_CLASSES:
                sub = self.lookup(weights, lname, keys.get(lname))
                _, outs = self.build(spec, _nested_weights(sub), prefix + lname + "/", in_nodes)
                key = (lname, call_idx + self.node_offset(spec))
                produced[key] = outs
            else:
                layer = layers_made.get(lname)
                if layer is None:
                    layer = self.make_layer(spec, self.lookup(weights, lname, keys.get(lname)), prefix)
                    layers_made[lname] = layer
                qual = layer.name if call_idx == 0 else f"{layer.name}#{call_idx}"
                if call.constants is not None:
                    layer.set_call_arguments(call.constants)
                nid = self.add_node(layer, in_nodes, qual, mask_inputs=mask_nodes)
                key = (lname, call_idx)
                produced[key] = [(nid, k) for k in range(self.nodes[nid].n_outputs)]
            done += 1
            for w in waiting.pop(key, ()):
                missing[w] -= 1
                if missing[w] == 0:
                    heapq.heappush(ready, w)
        if done < len(pending):
            names = sorted({str(pending[j][0].get("name", "?")) for j in range(len(pending)) if missing[j]})
            raise FormatError(f"layers {names[:5]} have inputs that are never produced (broken graph)")
        try:
            model_inputs = [produced[(n, 0)][t] for n, _, t in in_refs]
            model_outputs = [produced[(n, i)][t] for n, i, t in out_refs]
        except (KeyError, IndexError):
            raise FormatError("model outputs name layers that are not in the graph") from None
        return model_inputs, model_outputs


def _check_features(layer: Layer, qualname: str, in_shapes: list) -> None:
    """A layer whose kernel fixes the features it reads (recurrent layers, Dense) must get that many from the layer
    before it; otherwise the file contradicts itself (Keras could not have saved it) and the replay would fail in a
    matrix product."""
    if not in_shapes or not isinstance(in_shapes[0], tuple) or not in_shapes[0]:
        return
    got = in_shapes[0][-1]
    kernel = getattr(layer, "kernel", None)
    recurrent = getattr(layer, "recurrent", False)
    if recurrent and len(in_shapes[0]) != 3:
        return  # (batch, time, features) only: a ConvLSTM's channels may come first
    try:
        want = layer.input_features if recurrent else (
            kernel.shape[0] if layer.class_name == "Dense" and kernel is not None and kernel.ndim == 2 else None)
    except (NotImplementedError, AttributeError):
        return
    if isinstance(got, int) and isinstance(want, int) and got != want:
        raise FormatError(f"layer {clip(qualname, 80)!r} ({layer.class_name}) gets {got} features, its kernel expects "
                          f"{want}")


def _duplicate(name: str) -> str:
    # Keras refuses such a model too ("All layers added to a Sequential model should have unique names", "The name
    # … is used 2 times in the model"), and weights are matched to layers by name: one of the two would get the
    # other's weights
    return f"two layers are named {clip(name, 80)!r}; layer names must be unique (Keras refuses this model too)"


def _auto_keys(specs: list) -> dict:
    """Keras 3 names weight groups by snake-cased class with a counter; a fallback when names are not stored."""
    seen: dict[str, int] = {}
    out: dict = {}
    for k, spec in enumerate(specs):
        if not isinstance(spec, dict):
            continue
        base = _snake(str(spec.get("class_name", "layer")))
        n = seen.get(base, 0)
        seen[base] = n + 1
        key = base if n == 0 else f"{base}_{n}"
        nm = spec.get("name", (spec.get("config") or {}).get("name"))
        out[nm] = key
        out[k] = key
    return out


def _nested_weights(group: WeightGroup) -> dict[str, WeightGroup]:
    """A nested model's weights by layer name; HDF5 files store them flat, named ``layer/…``."""

    class _Lazy(dict):
        def __missing__(self, key):
            sub = group.sublayer(key)
            return sub

        def __contains__(self, key):
            return True

    d = _Lazy(group.layers)
    return d


def _ref(value) -> tuple[str, int, int]:
    if isinstance(value, dict):  # Keras 3 keras tensor
        if value.get("class_name") != "__keras_tensor__":
            raise FormatError(f"unexpected call argument {str(value)[:60]}")
        value = (value.get("config") or {}).get("keras_history")
    if not isinstance(value, (list, tuple)) or len(value) < 3:
        raise FormatError(f"malformed tensor reference {str(value)[:60]}")
    name, node, idx = value[0], value[1], value[2]
    if not isinstance(name, str) or not isinstance(node, int) or not isinstance(idx, int):
        raise FormatError(f"malformed tensor reference {str(value)[:60]}")
    return name, node, idx


def _ref_list(value) -> list[tuple[str, int, int]]:
    if value is None:
        raise FormatError("model config lists no inputs or outputs")
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [_ref(value)]  # Keras 3 writes a single tensor without the outer list
    if not isinstance(value, list):
        raise FormatError("model inputs/outputs are not a list")
    return [_ref(v) for v in value]


def _is_tensor(v) -> bool:
    return isinstance(v, dict) and v.get("class_name") == "__keras_tensor__"


def _is_op(spec: dict) -> bool:
    module = str(spec.get("module") or "")
    return module.startswith(("keras.src.ops", "keras.ops"))


@dataclass
class _Call:
    refs: list[tuple[str, int, int]]  # tensor inputs, then initial_state tensors
    masks: list | None = None  # Keras 3 ``mask=`` argument: refs (or None) per input
    constants: list | None = None  # Keras 3 operation nodes: the positional arguments, tensors as None


def _calls(spec: dict) -> list[_Call]:
    """The input references of each call of a layer, Keras 2 or Keras 3 style; extra tensors (initial_state) last."""
    nodes = spec.get("inbound_nodes", [])
    if not isinstance(nodes, list):
        raise FormatError(f"layer {spec.get('name')!r} has malformed inbound_nodes")
    is_op = _is_op(spec)
    out = []
    for call in nodes:
        refs: list[tuple[str, int, int]] = []
        masks = None
        constants = None
        if isinstance(call, dict):  # Keras 3
            args = call.get("args", [])
            if not isinstance(args, list):
                raise FormatError(f"layer {spec.get('name')!r} has malformed call arguments")
            if is_op:
                constants = []
            for arg in args:
                if _is_tensor(arg):
                    refs.append(_ref(arg))
                    if is_op:
                        constants.append(None)
                elif isinstance(arg, (list, tuple)):
                    refs.extend(_ref(a) for a in arg if _is_tensor(a))
                elif is_op:
                    constants.append(arg)
            kwargs = call.get("kwargs", {}) or {}
            state = kwargs.get("initial_state")
            if isinstance(state, (list, tuple)):
                refs.extend(_ref(a) for a in state if _is_tensor(a))
            elif _is_tensor(state):
                refs.append(_ref(state))
            mask = kwargs.get("mask")
            if _is_tensor(mask):
                masks = [_ref(mask)]
            elif isinstance(mask, (list, tuple)) and any(_is_tensor(m) for m in mask):
                masks = [_ref(m) if _is_tensor(m) else None for m in mask]
        elif isinstance(call, list):  # Keras 2: [[name, node, index, kwargs], ...]
            for item in call:
                refs.append(_ref(item))
                if isinstance(item, list) and len(item) > 3 and isinstance(item[3], dict):
                    st = item[3].get("initial_state")
                    if isinstance(st, list):
                        refs.extend(_ref(s) for s in st if isinstance(s, list))
        else:
            raise FormatError(f"layer {spec.get('name')!r} has a malformed call entry")
        out.append(_Call(refs, masks, constants))
    return out


def check_config_depth(config, max_depth: int) -> None:
    """Refuse a config nested deeper than ``max_depth`` (lists and objects), walked without recursion, before the
    builder's own recursion (nested models) could run out of stack."""
    stack = [(config, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise FormatError(f"model config is nested more than {max_depth} levels deep; refusing")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))


def build_graph(config: dict, weights: dict[str, WeightGroup], keras_version: str, strict: bool = True,
                limits: Limits = DEFAULT) -> Graph:
    if not isinstance(config, dict):
        raise FormatError("model config is not a JSON object")
    check_config_depth(config, limits.max_config_depth)
    b = _Builder(keras_version, strict, limits)
    b.stored_names = [k for k, w in weights.items() if not w.is_empty()]
    inputs, outputs = b.build(config, weights)
    name = str((config.get("config") or {}).get("name", "model")) if isinstance(config.get("config"), dict) else "model"
    # A Keras 3 Sequential config records no calls, hence no mask= arguments, yet Keras 3 passes masks from layer to
    # layer in a Sequential model as Keras 2 does: its masks are implicit too.
    sequential = config.get("class_name") == "Sequential" or isinstance(config.get("config"), list)
    graph = Graph(nodes=b.nodes, inputs=[i for i, _ in inputs], outputs=outputs, layers=b.layers, name=name,
                  implicit_masks=activations.keras_major(keras_version) < 3 or sequential, unbuilt=b.unbuilt)
    check_static(graph, limits)
    return graph
