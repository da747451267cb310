"""The replay written out as code: one readable NumPy-only ``.py`` file and a ``.npz`` of the weights.

``write_code(model, directory, name)`` writes ``<name>.py`` and ``<name>.npz``. The script depends on NumPy alone;
it runs as ``python <name>.py X.npy Y.npy`` (X: .npy, or .npz with x_0, x_1, … for several inputs; Y: .npy, or .npz
with output_0, output_1, … for several outputs) and exposes ``predict(x)`` for import. Its equations are written
per layer kind and gate, with comments naming the Keras weights; its activations are the engine's own functions
(copied from engine/activations.py), so it reproduces ``model.predict`` (tests/engine/test_codegen.py checks it
against Keras on every fixture it supports).

Layers written out: LSTM, GRU (both reset_after forms), SimpleRNN, Bidirectional around them, ConvLSTM1D/2D/3D
(``conv_lstm``: the LSTM equations with convolutions, over the helper ``conv_nd``), Dense (also on a sequence),
Embedding, Masking and Keras masks, Dropout and the other identity layers (SpatialDropout1D/2D/3D …), Activation and
the activation layers, RepeatVector, Flatten, Reshape, Permute, the merge layers, Concatenate, Conv1D, Conv2D/Conv3D,
the 1-D/2-D/3-D pooling and global pooling layers, ZeroPadding1D/2D/3D, Cropping1D/2D/3D (the 2-D and 3-D ones in
both data formats), BatchNormalization / LayerNormalization, TimeDistributed around any of the non-recurrent ones
(the steps folded into the batch), and the mask operations Keras 3 records. Any other layer is refused by name
(``CodegenError``).

Names and numbers from the model file only ever appear in the script as ``repr`` strings or in comments made
printable: nothing the file says can become code.
"""
from __future__ import annotations

import inspect
import io
import os

import numpy as np

from . import activations as A
from .errors import FormatError
from .export import atomic_open
from .layers import ops
from .layers.advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU, keras_relu
from .layers.bidirectional import Bidirectional
from .layers.conv import Conv1D, conv_padding
from .layers.conv_lstm import ConvLSTM
from .layers.conv_nd import ConvND
from .layers.core import Activation, Dense, Identity
from .layers.embedding import Embedding, Masking
from .layers.gru import GRU
from .layers.lstm import LSTM
from .layers.merge import Concatenate, _Merge
from .layers.normalization import BatchNormalization, LayerNormalization
from .layers.padding_nd import _Border
from .layers.pooling import GlobalAveragePooling1D, GlobalMaxPooling1D, _Pool1D
from .layers.pooling_nd import _GlobalND, _PoolND
from .layers.recurrent import RecurrentLayer
from .layers.shape_ops import Flatten, Permute, RepeatVector, Reshape
from .layers.simple_rnn import SimpleRNN
from .layers.time_distributed import TimeDistributed


class CodegenError(FormatError):
    """A model the code generator cannot write out (the message names the layer and its class)."""


def _printable(s: object) -> str:
    """Text safe in a comment: one line, printable characters only."""
    return "".join(c if c.isprintable() else "?" for c in str(s))


# --- the helper functions the script may contain, each written once ----------------------------------------------
_LSTM_SRC = '''
def lstm(x, kernel, recurrent_kernel, bias, act, rec_act, go_backwards=False, return_sequences=False,
         mask=None, zero_output_for_mask=False, initial_state=None):
    """Keras LSTM over x (batch, T, features). The kernel's columns are the gates in Keras' order i | f | c | o:

        i_t = rec_act(x_t·W_i + h_(t-1)·U_i + b_i)       input gate
        f_t = rec_act(x_t·W_f + h_(t-1)·U_f + b_f)       forget gate
        c~_t = act(x_t·W_c + h_(t-1)·U_c + b_c)          candidate
        o_t = rec_act(x_t·W_o + h_(t-1)·U_o + b_o)       output gate
        C_t = f_t * C_(t-1) + i_t * c~_t                  cell state
        h_t = o_t * act(C_t)                              hidden state

    W = kernel (features, 4·units), U = recurrent_kernel (units, 4·units), b = bias (4·units,).
    At a step the mask skips, the states are carried over. Returns [output, h, C]."""
    batch, T = x.shape[:2]
    W_i, W_f, W_c, W_o = np.split(kernel, 4, axis=1)
    U_i, U_f, U_c, U_o = np.split(recurrent_kernel, 4, axis=1)
    units = recurrent_kernel.shape[0]
    if bias is None:
        b_i = b_f = b_c = b_o = np.zeros(units, np.float32)
    else:
        b_i, b_f, b_c, b_o = np.split(bias, 4)
    if initial_state:
        h, C = (np.asarray(s, np.float32) for s in initial_state)
    else:
        h = C = np.zeros((batch, units), np.float32)
    out = np.zeros((batch, units), np.float32)
    outputs = []
    for t in (reversed(range(T)) if go_backwards else range(T)):
        x_t = x[:, t]
        i = rec_act(x_t @ W_i + h @ U_i + b_i)
        f = rec_act(x_t @ W_f + h @ U_f + b_f)
        c = act(x_t @ W_c + h @ U_c + b_c)
        o = rec_act(x_t @ W_o + h @ U_o + b_o)
        C_new = f * C + i * c
        h_new = o * act(C_new)
        if mask is None:
            h, C, out = h_new, C_new, h_new
        else:
            keep = mask[:, t, None]
            out = np.where(keep, h_new, 0 if zero_output_for_mask else out)
            h, C = np.where(keep, h_new, h), np.where(keep, C_new, C)
        outputs.append(out)
    return [np.stack(outputs, axis=1) if return_sequences else out, h, C]
'''

_GRU_SRC = '''
def gru(x, kernel, recurrent_kernel, bias, act, rec_act, reset_after, go_backwards=False, return_sequences=False,
        mask=None, zero_output_for_mask=False, initial_state=None):
    """Keras GRU over x (batch, T, features). The kernel's columns are the gates in Keras' order z | r | h:

        z_t = rec_act(x_t·W_z + b_z + h_(t-1)·U_z [+ bU_z])     update gate
        r_t = rec_act(x_t·W_r + b_r + h_(t-1)·U_r [+ bU_r])     reset gate
        reset_after=True:  h~_t = act(x_t·W_h + b_h + r_t * (h_(t-1)·U_h + bU_h))
        reset_after=False: h~_t = act(x_t·W_h + b_h + (r_t * h_(t-1))·U_h)
        h_t = z_t * h_(t-1) + (1 - z_t) * h~_t

    W = kernel (features, 3·units), U = recurrent_kernel (units, 3·units); bias is (3·units,), or with
    reset_after (2, 3·units): the input bias b and the recurrent bias bU. Returns [output, h]."""
    batch, T = x.shape[:2]
    units = recurrent_kernel.shape[0]
    W_z, W_r, W_h = np.split(kernel, 3, axis=1)
    U_z, U_r, U_h = np.split(recurrent_kernel, 3, axis=1)
    zero = np.zeros(units, np.float32)
    b_in = bias[0] if (bias is not None and reset_after) else bias
    b_z, b_r, b_h = np.split(b_in, 3) if b_in is not None else (zero, zero, zero)
    bU_z, bU_r, bU_h = np.split(bias[1], 3) if (bias is not None and reset_after) else (zero, zero, zero)
    h = np.asarray(initial_state[0], np.float32) if initial_state else np.zeros((batch, units), np.float32)
    out = np.zeros((batch, units), np.float32)
    outputs = []
    for t in (reversed(range(T)) if go_backwards else range(T)):
        x_t = x[:, t]
        if reset_after:
            z = rec_act(x_t @ W_z + b_z + (h @ U_z + bU_z))
            r = rec_act(x_t @ W_r + b_r + (h @ U_r + bU_r))
            hh = act(x_t @ W_h + b_h + r * (h @ U_h + bU_h))
        else:
            z = rec_act(x_t @ W_z + b_z + h @ U_z)
            r = rec_act(x_t @ W_r + b_r + h @ U_r)
            hh = act(x_t @ W_h + b_h + (r * h) @ U_h)
        h_new = z * h + (1 - z) * hh
        if mask is None:
            h, out = h_new, h_new
        else:
            keep = mask[:, t, None]
            out = np.where(keep, h_new, 0 if zero_output_for_mask else out)
            h = np.where(keep, h_new, h)
        outputs.append(out)
    return [np.stack(outputs, axis=1) if return_sequences else out, h]
'''

_RNN_SRC = '''
def simple_rnn(x, kernel, recurrent_kernel, bias, act, go_backwards=False, return_sequences=False,
               mask=None, zero_output_for_mask=False, initial_state=None):
    """Keras SimpleRNN over x (batch, T, features):  h_t = act(x_t·W + b + h_(t-1)·U).

    W = kernel (features, units), U = recurrent_kernel (units, units), b = bias (units,). Returns [output, h]."""
    batch, T = x.shape[:2]
    units = recurrent_kernel.shape[0]
    b = bias if bias is not None else np.zeros(units, np.float32)
    h = np.asarray(initial_state[0], np.float32) if initial_state else np.zeros((batch, units), np.float32)
    out = np.zeros((batch, units), np.float32)
    outputs = []
    for t in (reversed(range(T)) if go_backwards else range(T)):
        h_new = act(x[:, t] @ kernel + b + h @ recurrent_kernel)
        if mask is None:
            h, out = h_new, h_new
        else:
            keep = mask[:, t, None]
            out = np.where(keep, h_new, 0 if zero_output_for_mask else out)
            h = np.where(keep, h_new, h)
        outputs.append(out)
    return [np.stack(outputs, axis=1) if return_sequences else out, h]
'''

_DENSE_SRC = '''
def dense(x, kernel, bias, act):
    """Keras Dense: act(x·kernel + bias), on the last axis (also on a sequence, step by step)."""
    y = x @ kernel
    if bias is not None:
        y = y + bias
    return act(y)
'''

_CONV_SRC = '''
def conv1d(x, kernel, bias, act, stride, dilation, padding):
    """Keras Conv1D (channels_last): y[b, o] = act(bias + Σ_j x_pad[b, o·stride + j·dilation] · kernel[j]),
    kernel (kernel_size, in_channels, filters); padding valid, same (the extra zero on the right) or causal."""
    k = kernel.shape[0]
    left, right, out = conv_padding(x.shape[1], (k - 1) * dilation + 1, stride, padding)
    xp = np.pad(x, ((0, 0), (left, right), (0, 0))) if left or right else x
    y = np.zeros((x.shape[0], out, kernel.shape[2]), np.float32)
    span = (out - 1) * stride + 1
    for j in range(k):
        y += xp[:, j * dilation:j * dilation + span:stride] @ kernel[j]
    if bias is not None:
        y += bias
    return act(y)
'''

_POOL_SRC = '''
def pool1d(x, pool, stride, padding, reduce):
    """MaxPooling1D / AveragePooling1D over the steps; with padding="same" a window counts only the real steps."""
    L = x.shape[1]
    left, _, out = conv_padding(L, pool, stride, padding)
    y = np.empty((x.shape[0], out, x.shape[2]), np.float32)
    for o in range(out):
        win = x[:, max(0, o * stride - left):min(L, o * stride - left + pool)]
        y[:, o] = win.max(axis=1) if reduce == "max" else win.mean(axis=1, dtype=np.float32)
    return y
'''

_CONV_ND_SRC = '''
def conv_nd(x, kernel, strides, dilation, padding):
    """An N-d convolution as Keras computes it, channels_last: x (batch, *spatial, in_channels), kernel
    (*kernel_size, in_channels, filters), the result (batch, *out_spatial, filters), without bias:

        y[b, p, o] = Σ_tap Σ_c x_pad[b, p·stride + tap·dilation, c] · kernel[tap, c, o]

    padding "valid" (none) or "same" (TensorFlow's split of the zeros, the extra one after). The input under each
    kernel position (tap) is gathered for every output position, side by side (the patches), and multiplied by the
    kernel seen as one (taps·in_channels, filters) matrix."""
    rank = kernel.ndim - 2
    pads, out = [], []
    for n, k, s, d in zip(x.shape[1:1 + rank], kernel.shape[:rank], strides, dilation):
        before, after, size = conv_padding(n, (k - 1) * d + 1, s, padding)
        pads.append((before, after))
        out.append(size)
    if any(before or after for before, after in pads):
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    under_tap = []
    for tap in np.ndindex(*kernel.shape[:rank]):
        window = tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in zip(tap, dilation, out, strides))
        under_tap.append(x[(slice(None),) + window])
    patches = np.stack(under_tap, axis=-2)  # (batch, *out_spatial, taps, in_channels)
    filters = kernel.shape[-1]
    y = patches.reshape(-1, kernel.size // filters) @ kernel.reshape(-1, filters)
    return y.reshape((x.shape[0],) + tuple(out) + (filters,))
'''

_CONV_LAYER_SRC = '''
def conv(x, kernel, bias, act, strides, dilation, padding, channels_first=False):
    """Keras Conv2D / Conv3D: act(conv_nd(x, kernel) + bias). kernel (*kernel_size, in_channels, filters),
    bias (filters,). With channels_first, x is (batch, channels, *spatial): the channels are moved last for the
    arithmetic and back after."""
    if channels_first:
        x = np.moveaxis(x, 1, -1)
    y = conv_nd(x, kernel, strides, dilation, padding)
    if bias is not None:
        y += bias
    y = act(y)
    return np.moveaxis(y, -1, 1) if channels_first else y
'''

_POOL_ND_SRC = '''
def pool_nd(x, pool, strides, padding, reduce, channels_first=False):
    """MaxPooling2D/3D (reduce="max") and AveragePooling2D/3D (reduce="mean"): each output position reduces
    its window of pool values per axis, moved by strides. With padding="same" the window counts only the real
    values (the maximum ignores the padding, the mean divides by the real values in the window), as TensorFlow
    does. channels_last x (batch, *spatial, channels), or channels_first (batch, channels, *spatial)."""
    if channels_first:
        x = np.moveaxis(x, 1, -1)
    rank = len(pool)
    pads, out = [], []
    for n, k, s in zip(x.shape[1:1 + rank], pool, strides):
        before, after, size = conv_padding(n, k, s, padding)
        pads.append((before, after))
        out.append(size)
    fill = -np.inf if reduce == "max" else 0.0
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=fill)
    real = np.pad(np.ones(x.shape[1:1 + rank], np.float32), pads)  # 1 where a value is real, 0 in the padding
    y = count = None
    for tap in np.ndindex(*pool):  # every position of the window in turn
        window = tuple(slice(t, t + (o - 1) * s + 1, s) for t, o, s in zip(tap, out, strides))
        v = xp[(slice(None),) + window]
        if y is None:
            y, count = v.copy(), real[window].copy()
        else:
            y = np.maximum(y, v) if reduce == "max" else y + v
            count += real[window]
    if reduce != "max":
        y = (y / count[..., None]).astype(np.float32)
    return np.moveaxis(y, -1, 1) if channels_first else y
'''

_CONV_LSTM_SRC = '''
def conv_lstm(x, kernel, recurrent_kernel, bias, act, rec_act, strides, dilation, padding, channels_first=False,
              go_backwards=False, return_sequences=False, mask=None, zero_output_for_mask=False, initial_state=None):
    """Keras ConvLSTM1D / ConvLSTM2D / ConvLSTM3D over x (batch, T, *spatial, channels), or with channels_first
    (batch, T, channels, *spatial): an LSTM whose products are convolutions (*, see conv_nd). The kernels' last
    axis holds the gates in Keras' order i | f | c | o, filters each:

        i_t = rec_act(x_t*W_i + b_i + h_(t-1)*U_i)       input gate
        f_t = rec_act(x_t*W_f + b_f + h_(t-1)*U_f)       forget gate
        c~_t = act(x_t*W_c + b_c + h_(t-1)*U_c)          candidate
        o_t = rec_act(x_t*W_o + b_o + h_(t-1)*U_o)       output gate
        C_t = f_t ⊙ C_(t-1) + i_t ⊙ c~_t                  cell state (maps, filters channels)
        h_t = o_t ⊙ act(C_t)                              hidden state

    x_t*W: the layer's strides, dilation and padding; h_(t-1)*U: stride 1, padding "same", no dilation.
    W = kernel (*kernel_size, channels, 4·filters), U = recurrent_kernel (*kernel_size, filters, 4·filters),
    b = bias (4·filters,). At a step the mask (batch, T) skips, the states are carried over.
    Returns [output, h, C] in the layer's layout."""
    rank = kernel.ndim - 2
    F = recurrent_kernel.shape[-1] // 4
    if channels_first:  # the arithmetic is channels_last; the results are moved back at the end
        x = np.moveaxis(x, 2, -1)
        initial_state = [np.moveaxis(s, 1, -1) for s in initial_state] if initial_state else None
    batch, T = x.shape[:2]
    one = (1,) * rank
    # the maps' size: the input's, through the layer's convolution
    size = tuple(conv_padding(n, (k - 1) * d + 1, s, padding)[2]
                 for n, k, s, d in zip(x.shape[2:2 + rank], kernel.shape[:rank], strides, dilation))
    if initial_state:
        h, C = (np.asarray(s, np.float32) for s in initial_state)
    else:
        h = C = np.zeros((batch,) + size + (F,), np.float32)
    out = np.zeros_like(h)
    outputs = []
    for t in (reversed(range(T)) if go_backwards else range(T)):
        z = conv_nd(x[:, t], kernel, strides, dilation, padding)
        if bias is not None:
            z += bias
        z += conv_nd(h, recurrent_kernel, one, one, "same")
        i = rec_act(z[..., :F])
        f = rec_act(z[..., F:2 * F])
        c = act(z[..., 2 * F:3 * F])
        o = rec_act(z[..., 3 * F:])
        C_new = f * C + i * c
        h_new = o * act(C_new)
        if mask is None:
            h, C, out = h_new, C_new, h_new
        else:
            keep = mask[:, t].reshape((batch,) + (1,) * (rank + 1))
            out = np.where(keep, h_new, 0 if zero_output_for_mask else out).astype(np.float32)
            h, C = np.where(keep, h_new, h), np.where(keep, C_new, C)
        outputs.append(out)
    first = np.stack(outputs, axis=1) if return_sequences else out
    if channels_first:
        return [np.moveaxis(first, -1, 2 if return_sequences else 1), np.moveaxis(h, -1, 1), np.moveaxis(C, -1, 1)]
    return [first, h, C]
'''

_MASKS_SRC = '''
def and_masks(*masks):
    """Keras' merge of masks: a step is kept when every input that has a mask keeps it."""
    live = [m for m in masks if m is not None]
    if not live:
        return None
    out = live[0]
    for m in live[1:]:
        out = np.logical_and(out, m)
    return out
'''

_MAIN_SRC = '''

def _load(path):
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            keys = sorted((k for k in z.files if k.startswith("x_")), key=lambda k: int(k[2:]))
            return [z[k] for k in (keys or z.files[:1])]
    return [np.load(path, allow_pickle=False)]


def main(argv):
    if len(argv) != 3:
        print(f"usage: python {argv[0]} X.npy|X.npz Y.npy|Y.npz", file=sys.stderr)
        return 2
    xs = _load(argv[1])
    y = predict(xs if len(xs) > 1 else xs[0])
    ys = y if isinstance(y, list) else [y]
    if argv[2].endswith(".npz"):
        np.savez(argv[2], **{f"output_{i}": a for i, a in enumerate(ys)})
    elif len(ys) == 1:
        np.save(argv[2], ys[0])
    else:
        print(f"error: the model has {len(ys)} outputs; write them to an .npz", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''

# activations that call others, and module-level names they use
_ACT_DEPS = {"swish": ("sigmoid",), "hard_silu": ("hard_sigmoid_keras3",), "mish": ("softplus",), "gelu": ("_erf",)}
_ACT_CONSTANTS = {"selu": "_SELU_ALPHA = np.float32({!r})\n_SELU_SCALE = np.float32({!r})\n".format(
    float(A._SELU_ALPHA), float(A._SELU_SCALE))}


class _Writer:
    def __init__(self, model):
        self.model = model
        self.graph = model.graph
        self.weights: dict[str, np.ndarray] = {}
        self.prefix: dict[int, str] = {}  # id(layer) -> its key prefix in the .npz
        self.helpers: dict[str, str] = {}
        self.acts: dict[str, object] = {}
        self.lines: list[str] = []
        self.mask: dict[tuple[int, int], str | None] = {}  # ref -> the variable holding its mask, or None

    # --- small pieces --------------------------------------------------------------------------------------------
    @staticmethod
    def var(ref) -> str:
        return f"t{ref[0]}_{ref[1]}"

    def act(self, fn) -> str:
        name = fn.__name__
        if not hasattr(A, name) or getattr(A, name) is not fn:
            raise CodegenError(f"activation {name!r} cannot be written out")
        self._add_act(name)
        return name

    def _add_act(self, name: str) -> None:
        if name in self.acts:
            return
        for dep in _ACT_DEPS.get(name, ()):
            self._add_act(dep)
        self.acts[name] = getattr(A, name)

    def weight(self, node, layer, wname: str, a: np.ndarray | None) -> str:
        if a is None:
            return "None"
        prefix = self.prefix.setdefault(id(layer), node.qualname)
        key = f"{prefix}/{wname}"
        self.weights[key] = np.ascontiguousarray(a)
        return f"W[{key!r}]"

    def emit(self, line: str = "") -> None:
        for part in line.split("\n"):
            self.lines.append(("    " + part) if part else "")

    def comment(self, text: str) -> None:
        self.emit("# " + _printable(text))

    def refuse(self, node, why: str = ""):
        L = node.layer
        what = why or f"{L.class_name} layers are not written out as code (yet)"
        raise CodegenError(f"layer {node.qualname!r} ({L.class_name}): {what}")

    # --- masks ---------------------------------------------------------------------------------------------------
    def input_masks(self, node) -> list[str | None]:
        if node.mask_inputs is not None:
            given = [None if r is None else self.var(r) for r in node.mask_inputs]
            return (given + [None] * len(node.inputs))[:len(node.inputs)]
        if not getattr(self.graph, "implicit_masks", True):
            return [None] * len(node.inputs)
        return [self.mask.get(r) for r in node.inputs]

    def set_mask(self, node, k: int, expr: str | None) -> None:
        """Output k's mask: an expression assigned to its own variable (Keras 2 passes masks along implicitly)."""
        if expr is None or not getattr(self.graph, "implicit_masks", True):
            self.mask[(node.id, k)] = None
            return
        name = f"m{node.id}_{k}"
        if expr != name:
            self.emit(f"{name} = {expr}")
        self.mask[(node.id, k)] = name

    # --- the graph -----------------------------------------------------------------------------------------------
    def write(self) -> str:
        g = self.graph
        n_in = len(g.inputs)
        for i, nid in enumerate(g.inputs):
            node = g.nodes[nid]
            dtype = "np.int64" if "int" in str(node.layer.dtype) else "np.float32"
            self.comment(f"input {i}: {node.qualname} {tuple(node.layer.shape)}")
            self.emit(f"{self.var((nid, 0))} = np.asarray(xs[{i}], dtype={dtype})")
            self.mask[(nid, 0)] = None
        for node in g.nodes:
            if node.is_input:
                continue
            self.emit()
            self.node(node)
        outs = [self.var(r) for r in g.outputs]
        self.emit()
        self.emit(f"return {outs[0]}" if len(outs) == 1 else f"return [{', '.join(outs)}]")
        return self.source(n_in)

    def node(self, node) -> None:
        L = node.layer
        xs = [self.var(r) for r in node.inputs]
        ms = self.input_masks(node)
        outs = [self.var((node.id, k)) for k in range(node.n_outputs)]
        desc = ", ".join(f"{k}={v}" for k, v in L.describe().items()) if hasattr(L, "describe") else ""
        self.comment(f"{node.qualname} ({L.class_name}{': ' + desc if desc else ''})")
        if isinstance(L, RecurrentLayer):
            self.recurrent(node, L, xs, ms, outs)
            return
        if L.uses_mask and any(m is not None for m in ms) and not isinstance(L, GlobalAveragePooling1D):
            self.refuse(node, "a masked input to this layer is not written out as code")
        shape = node.output_shapes[0] if node.output_shapes else None
        if isinstance(L, TimeDistributed):
            self.time_distributed(node, L, xs, outs, shape)
            self.set_mask(node, 0, ms[0] if ms else None)
            return
        self.layer_code(node, L, xs, ms, outs, shape)

    def time_distributed(self, node, L, xs, outs, shape) -> None:
        """The inner layer on every timestep alone: on the whole sequence when it acts on the last axis only
        (Dense, Activation, the identities), else with the steps folded into the batch and unfolded after."""
        inner = L.inner
        if isinstance(inner, (Dense, Activation, Identity)):
            self.simple(node, inner, xs, outs)
            return
        x = xs[0]
        self.comment(f"{inner.class_name} on each timestep: (batch, T, ...) -> (batch·T, ...) and back")
        self.emit(f"_td_in = {x}.reshape((-1,) + {x}.shape[2:])")
        inner_shape = None if shape is None else (None,) + tuple(shape[2:])
        self.layer_code(node, inner, ["_td_in"], [None], ["_td_out"], inner_shape, wrapped=True)
        self.emit(f"{outs[0]} = _td_out.reshape({x}.shape[:2] + _td_out.shape[1:])")

    def layer_code(self, node, L, xs, ms, outs, shape, wrapped: bool = False) -> None:
        """The code of one (non-recurrent) layer: ``outs`` from ``xs``; ``shape`` its output shape (None where
        unknown); ``wrapped`` inside TimeDistributed (the wrapper names the refusal and sets the mask)."""
        keep = ms[0] if ms else None
        if isinstance(L, (Dense, Activation, Identity)):
            self.simple(node, L, xs, outs)
            self.set_mask(node, 0, keep)
        elif isinstance(L, Embedding):
            self.comment(f"embeddings {L.table.shape}: row k is token k's vector (float token ids are cast, as Keras does)")
            self.emit(f"{outs[0]} = {self.weight(node, L, 'embeddings', L.table)}[{xs[0]}.astype(np.int64)]")
            self.set_mask(node, 0, f"{xs[0]} != 0" if L.mask_zero else None)
        elif isinstance(L, Masking):
            self.comment("a step whose features all equal mask_value is masked (and zeroed)")
            m = f"m{node.id}_0"
            self.emit(f"{m} = np.any({xs[0]} != np.float32({float(L.mask_value)!r}), axis=-1)")
            self.emit(f"{outs[0]} = {xs[0]} * {m}[..., None].astype(np.float32)")
            self.set_mask(node, 0, m)
        elif isinstance(L, _Merge):
            name = L.class_name
            if name == "Subtract":
                expr = f"{xs[0]} - {xs[1]}"
            elif name == "Add":
                expr = " + ".join(xs)
            elif name == "Average":
                expr = f"({' + '.join(xs)}) / np.float32({len(xs)})"
            elif name == "Multiply":
                expr = " * ".join(xs)
            elif name in ("Maximum", "Minimum"):
                expr = f"np.{name.lower()}.reduce([{', '.join(xs)}])"
            else:
                self.refuse(node)
            self.emit(f"{outs[0]} = np.asarray({expr}, dtype=np.float32)")
            self.set_mask(node, 0, self._and(ms))
        elif isinstance(L, Concatenate):
            self.emit(f"{outs[0]} = np.concatenate([{', '.join(xs)}], axis={L.axis})")
            self.concat_mask(node, L, xs, ms)
        elif isinstance(L, RepeatVector):
            self.emit(f"{outs[0]} = np.repeat({xs[0]}[:, None, :], {L.n}, axis=1)")
            self.set_mask(node, 0, None)
        elif isinstance(L, Flatten):
            if L.channels_first:
                self.comment("channels_first: the channels moved last first, so the order is Keras' channels_last one")
                self.emit(f"{outs[0]} = np.moveaxis({xs[0]}, 1, -1).reshape({xs[0]}.shape[0], -1)")
            else:
                self.emit(f"{outs[0]} = {xs[0]}.reshape({xs[0]}.shape[0], -1)")
        elif isinstance(L, Reshape):
            self.emit(f"{outs[0]} = {xs[0]}.reshape(({xs[0]}.shape[0],) + {tuple(L.target)!r})")
        elif isinstance(L, Permute):
            self.emit(f"{outs[0]} = np.transpose({xs[0]}, (0,) + {tuple(L.dims)!r})")
        elif isinstance(L, GlobalAveragePooling1D):
            kd = bool(L.keepdims)
            if ms and ms[0] is not None:
                self.comment("the mean over the steps the mask keeps")
                self.emit(f"_mf = {ms[0]}.astype(np.float32)[:, :, None]")
                self.emit(f"{outs[0]} = (({xs[0]} * _mf).sum(axis=1, keepdims={kd}) / _mf.sum(axis=1, keepdims={kd}))"
                          ".astype(np.float32)")
            else:
                self.emit(f"{outs[0]} = {xs[0]}.mean(axis=1, keepdims={kd}, dtype=np.float32)")
        elif isinstance(L, GlobalMaxPooling1D):
            self.emit(f"{outs[0]} = {xs[0]}.max(axis=1, keepdims={bool(L.keepdims)})")
        elif isinstance(L, Conv1D):
            self.comment(f"kernel {L.kernel.shape} (kernel_size, in_channels, filters), bias "
                         f"{None if L.bias is None else L.bias.shape}")
            self.need_conv("conv1d", _CONV_SRC)
            k = self.weight(node, L, "kernel", L.kernel)
            b = self.weight(node, L, "bias", L.bias)
            self.emit(f"{outs[0]} = conv1d({xs[0]}, {k}, {b}, {self.act(L.act)}, stride={L.stride}, "
                      f"dilation={L.dilation}, padding={L.padding!r})")
        elif isinstance(L, _Pool1D):
            self.need_conv("pool1d", _POOL_SRC)
            self.emit(f"{outs[0]} = pool1d({xs[0]}, {L.pool}, {L.stride}, {L.padding!r}, {L.reduce!r})")
        elif isinstance(L, ConvND):
            self.comment(f"kernel {L.kernel.shape} (*kernel_size, in_channels, filters), bias "
                         f"{None if L.bias is None else L.bias.shape}")
            self.need_conv("conv_nd", _CONV_ND_SRC)
            self.helpers["conv"] = _CONV_LAYER_SRC
            k = self.weight(node, L, "kernel", L.kernel)
            b = self.weight(node, L, "bias", L.bias)
            self.emit(f"{outs[0]} = conv({xs[0]}, {k}, {b}, {self.act(L.act)}, strides={L.strides!r}, "
                      f"dilation={L.dilation!r}, padding={L.padding!r}, channels_first={L.channels_first})")
        elif isinstance(L, _PoolND):
            self.need_conv("pool_nd", _POOL_ND_SRC)
            self.emit(f"{outs[0]} = pool_nd({xs[0]}, {L.pool!r}, {L.strides!r}, {L.padding!r}, {L.reduce!r}, "
                      f"channels_first={L.channels_first})")
        elif isinstance(L, _GlobalND):
            how = "max" if L.reduce == "max" else "mean"
            kw = "" if how == "max" else ", dtype=np.float32"
            self.comment(f"the {how} over the spatial axes {L._axes()}")
            self.emit(f"{outs[0]} = {xs[0]}.{how}(axis={L._axes()!r}, keepdims={bool(L.keepdims)}{kw})")
        elif isinstance(L, _Border):
            axes = L._axes()
            if L.sign > 0:
                widths = [(0, 0)] * (L.rank + 2)
                for ax, p in zip(axes, L.amounts):
                    widths[ax] = tuple(p)
                self.comment(f"zeros (before, after) on the axes {axes}: {L.amounts}")
                self.emit(f"{outs[0]} = np.pad({xs[0]}, {widths!r})")
            else:
                cut = [":"] * (L.rank + 2)
                for ax, (a, b) in zip(axes, L.amounts):
                    cut[ax] = f"{a}:-{b}" if b else f"{a}:"
                self.comment(f"(before, after) cut from the axes {axes}: {L.amounts}")
                self.emit(f"{outs[0]} = {xs[0]}[{', '.join(cut)}]")
        elif isinstance(L, (BatchNormalization, LayerNormalization)):
            self.norm(node, L, xs, outs, shape)
            self.set_mask(node, 0, keep)
        elif isinstance(L, (LeakyReLU, ReLU, ELU, ThresholdedReLU, Softmax, PReLU)):
            self.activation_layer(node, L, xs[0], outs[0])
            self.set_mask(node, 0, keep)
        elif isinstance(L, ops._Op):
            self.op(node, L, xs, outs)
        elif wrapped:
            self.refuse(node, f"TimeDistributed({L.class_name}) is not written out as code")
        else:
            self.refuse(node)

    def activation_layer(self, node, L, x: str, out: str) -> None:
        """The activation layers with options or weights, in Keras' own order of operations."""
        f32 = "np.float32({!r})".format
        if isinstance(L, (LeakyReLU, ReLU)):
            self.helpers.setdefault("keras_relu", "\n" + inspect.getsource(keras_relu))
            if isinstance(L, LeakyReLU):
                self.emit(f"{out} = keras_relu({x}, negative_slope={L.slope!r})")
            else:
                self.emit(f"{out} = keras_relu({x}, negative_slope={L.negative_slope!r}, "
                          f"max_value={L.max_value!r}, threshold={L.threshold!r})")
        elif isinstance(L, ELU):
            self.comment("x where x > 0, else alpha * (exp(x) - 1)")
            self.emit(f"_e = np.where({x} > 0, {x}, np.expm1(np.minimum({x}, 0))).astype(np.float32)")
            self.emit(f"{out} = _e" if L.alpha == 1.0 else
                      f"{out} = np.where({x} > 0, _e, {f32(L.alpha)} * _e).astype(np.float32)")
        elif isinstance(L, ThresholdedReLU):
            self.emit(f"{out} = {x} * ({x} > {f32(L.theta)}).astype(np.float32)")
        elif isinstance(L, Softmax):
            self.emit(f"_e = np.exp({x} - np.max({x}, axis={L.axis}, keepdims=True))")
            self.emit(f"{out} = (_e / np.sum(_e, axis={L.axis}, keepdims=True)).astype(np.float32)")
        else:  # PReLU: max(x, 0) - alpha * max(-x, 0), alpha broadcast over the shared axes
            self.comment(f"alpha {L.alpha.shape}")
            a = self.weight(node, L, "alpha", L.alpha)
            self.emit(f"{out} = (np.maximum({x}, 0) + -{a} * np.maximum(-{x}, 0)).astype(np.float32)")

    def need_conv(self, name: str, src: str) -> None:
        self.helpers.setdefault("conv_padding", "\n" + inspect.getsource(conv_padding))
        self.helpers[name] = src

    def _and(self, ms) -> str | None:
        live = [m for m in ms if m is not None]
        if not live:
            return None
        self.helpers["and_masks"] = _MASKS_SRC
        return f"and_masks({', '.join(live)})"

    def concat_mask(self, node, L, xs, ms) -> None:
        if all(m is None for m in ms):
            return self.set_mask(node, 0, None)
        shape = node.output_shapes[0] if node.output_shapes else None
        if shape is None:
            self.refuse(node, "a masked Concatenate of unknown rank is not written out as code")
        ndim = len(shape)
        ax = L.axis + ndim if L.axis < 0 else L.axis
        if ax == ndim - 1:
            return self.set_mask(node, 0, self._and(ms))
        if ax == 1 and ndim >= 3:
            full = [m if m is not None else f"np.ones({x}.shape[:2], bool)" for m, x in zip(ms, xs)]
            return self.set_mask(node, 0, f"np.concatenate([{', '.join(full)}], axis=1)")
        self.set_mask(node, 0, None)

    def simple(self, node, L, xs, outs) -> None:
        if isinstance(L, Dense):
            self.comment(f"kernel {L.kernel.shape}, bias {None if L.bias is None else L.bias.shape}")
            self.helpers["dense"] = _DENSE_SRC
            k = self.weight(node, L, "kernel", L.kernel)
            b = self.weight(node, L, "bias", L.bias)
            self.emit(f"{outs[0]} = dense({xs[0]}, {k}, {b}, {self.act(L.act)})")
        elif isinstance(L, Activation):
            self.emit(f"{outs[0]} = {self.act(L.act)}({xs[0]})")
        else:
            self.emit(f"{outs[0]} = {xs[0]}  # identity at inference")

    def norm(self, node, L, xs, outs, shape) -> None:
        if shape is None:
            self.refuse(node, f"{L.class_name} on an input of unknown rank is not written out as code")
        nd = len(shape)
        axes = tuple(sorted(a + nd if a < 0 else a for a in L.axes))
        if any(not 0 < a < nd or shape[a] is None for a in axes):
            self.refuse(node, f"{L.class_name} over axes {L.axes} is not written out as code")
        pshape = tuple(shape[a] if a in axes else 1 for a in range(nd))
        names = [n for n, _ in L.weight_arrays()]
        w = {n: self.weight(node, L, n, a) for n, a in L.weight_arrays()}
        x = xs[0]
        last = axes == (nd - 1,)

        def p(key):  # a parameter, shaped to broadcast over the normalised axes
            return w[key] if last else f"{w[key]}.reshape({pshape!r})"

        if isinstance(L, BatchNormalization):
            self.comment(f"over axes {axes}, inference: inv = gamma / sqrt(moving_variance + eps); "
                         "y = x·inv + (beta − moving_mean·inv)")
            self.emit(f"_inv = (1 / np.sqrt({w['moving_variance']} + np.float32({float(L.eps)!r}))).astype(np.float32)")
            if "gamma" in names:
                self.emit(f"_inv = _inv * {w['gamma']}")
            self.emit(f"_off = -{w['moving_mean']} * _inv" + (f" + {w['beta']}" if "beta" in names else ""))
            if not last:
                self.emit(f"_inv, _off = _inv.reshape({pshape!r}), _off.reshape({pshape!r})")
            self.emit(f"{outs[0]} = ({x} * _inv + _off).astype(np.float32)")
        else:
            ax = axes[0] if len(axes) == 1 else axes
            self.emit(f"_x = {x}.astype(np.float64)")
            if L.rms:
                self.comment(f"rms_scaling over axes {axes}: y = x / sqrt(mean(x²) + eps) · gamma")
                self.emit(f"_y = _x / np.sqrt(np.mean(_x * _x, axis={ax!r}, keepdims=True) + {float(L.eps)!r})")
            else:
                self.comment(f"over axes {axes}: y = (x − mean) / sqrt(var + eps) · gamma + beta")
                self.emit(f"_mean = _x.mean(axis={ax!r}, keepdims=True)")
                self.emit(f"_y = (_x - _mean) / np.sqrt(((_x - _mean) ** 2).mean(axis={ax!r}, keepdims=True) + "
                          f"{float(L.eps)!r})")
            if "gamma" in names:
                self.emit(f"_y = _y * {p('gamma')}")
            if "beta" in names and not L.rms:
                self.emit(f"_y = _y + {p('beta')}")
            self.emit(f"{outs[0]} = _y.astype(np.float32)")

    def op(self, node, L, xs, outs) -> None:
        it = iter(xs)
        try:
            args = [next(it) if c is None else f"np.float32({float(c)!r})" for c in L.constants]
        except StopIteration:
            self.refuse(node, "an operation with missing inputs")
        name = L.class_name
        binary = {"NotEqual": "np.not_equal", "Equal": "np.equal", "LogicalAnd": "np.logical_and",
                  "LogicalOr": "np.logical_or"}
        if name in binary:
            self.emit(f"{outs[0]} = {binary[name]}({args[0]}, {args[1]})")
        elif name == "LogicalNot":
            self.emit(f"{outs[0]} = np.logical_not({args[0]})")
        elif name in ("Any", "All"):
            self.emit(f"{outs[0]} = np.{name.lower()}({args[0]}, axis={L.axis!r}, keepdims={bool(L.keepdims)})")
        elif name == "ExpandDims":
            self.emit(f"{outs[0]} = np.expand_dims({args[0]}, {int(L.axis)})")
        elif name in ("ZerosLike", "OnesLike"):
            dt = {bool: "bool", np.float32: "np.float32", np.int32: "np.int32", np.int64: "np.int64"}.get(L.dtype)
            dt = dt or f"{args[0]}.dtype"
            self.emit(f"{outs[0]} = np.full({args[0]}.shape, {L.fill}, dtype={dt})")
        elif isinstance(L, ops.ConcatenateOp):
            self.emit(f"{outs[0]} = np.concatenate([{', '.join(xs)}], axis={int(L.axis)})")
        else:
            self.refuse(node)
        self.set_mask(node, 0, None)

    # --- recurrent layers --------------------------------------------------------------------------------------
    def cell_call(self, node, L, x: str, mask: str | None, init: list[str], prefix: str = "") -> str:
        """The call of one cell layer's function; weights named ``<layer>/<prefix>kernel`` …"""
        key = prefix
        k = self.weight(node, L, f"{key}kernel", L.kernel)
        u = self.weight(node, L, f"{key}recurrent_kernel", L.recurrent_kernel)
        b = self.weight(node, L, f"{key}bias", L.bias)
        # one argument group per line, indented under the call
        opts = (f"go_backwards={L.go_backwards}, return_sequences={L.return_sequences},\n        mask={mask or 'None'}, "
                f"zero_output_for_mask={L.zero_output_for_mask}, "
                f"initial_state={'[' + ', '.join(init) + ']' if init else 'None'}")
        if isinstance(L, ConvLSTM):
            self.need_conv("conv_nd", _CONV_ND_SRC)
            self.helpers["conv_lstm"] = _CONV_LSTM_SRC
            self.comment(f"{prefix}kernel {L.kernel.shape} = W_i|W_f|W_c|W_o (*kernel_size, channels, 4·filters), "
                         f"recurrent_kernel {L.recurrent_kernel.shape} = U_i|U_f|U_c|U_o, "
                         f"bias {None if L.bias is None else L.bias.shape}")
            return (f"conv_lstm({x}, {k}, {u}, {b},\n        act={self.act(L.act)}, rec_act={self.act(L.rec_act)}, "
                    f"strides={L.strides!r}, dilation={L.dilation!r}, padding={L.padding!r}, "
                    f"channels_first={L.channels_first},\n        {opts})")
        if isinstance(L, LSTM):
            self.helpers["lstm"] = _LSTM_SRC
            self.comment(f"{prefix}kernel {L.kernel.shape} = W_i|W_f|W_c|W_o, recurrent_kernel {L.recurrent_kernel.shape} "
                         f"= U_i|U_f|U_c|U_o, bias {None if L.bias is None else L.bias.shape}")
            return (f"lstm({x}, {k}, {u}, {b},\n        act={self.act(L.act)}, rec_act={self.act(L.rec_act)}, "
                    f"{opts})")
        if isinstance(L, GRU):
            self.helpers["gru"] = _GRU_SRC
            self.comment(f"{prefix}kernel {L.kernel.shape} = W_z|W_r|W_h, recurrent_kernel {L.recurrent_kernel.shape} "
                         f"= U_z|U_r|U_h, bias {None if L.bias is None else L.bias.shape}"
                         + (" = [b; bU]" if L.reset_after and L.bias is not None else ""))
            return (f"gru({x}, {k}, {u}, {b},\n        act={self.act(L.act)}, rec_act={self.act(L.rec_act)}, "
                    f"reset_after={L.reset_after}, {opts})")
        if isinstance(L, SimpleRNN):
            self.helpers["simple_rnn"] = _RNN_SRC
            self.comment(f"{prefix}kernel {L.kernel.shape} = W, recurrent_kernel {L.recurrent_kernel.shape} = U, "
                         f"bias {None if L.bias is None else L.bias.shape}")
            return f"simple_rnn({x}, {k}, {u}, {b},\n        act={self.act(L.act)}, {opts})"
        self.refuse(node)

    def recurrent(self, node, L, xs, ms, outs) -> None:
        x, init = xs[0], xs[1:]
        mask = ms[0] if ms else None
        n_out = len(outs)
        if isinstance(L, Bidirectional):
            fw, bw = L.forward_layer, L.backward_layer
            n = len(fw.state_names)
            self.emit(f"_fw = {self.cell_call(node, fw, x, mask, init[:n], 'forward/')}")
            self.emit(f"_bw = {self.cell_call(node, bw, x, mask, init[n:], 'backward/')}")
            if L.return_sequences:
                self.comment("the backward sequence comes out in processing order: flip it back into time order")
                self.emit("_bw[0] = _bw[0][:, ::-1]")
            merged = {"concat": "[np.concatenate([_fw[0], _bw[0]], axis=-1)]", "sum": "[_fw[0] + _bw[0]]",
                      "mul": "[_fw[0] * _bw[0]]", "ave": "[(_fw[0] + _bw[0]) / np.float32(2)]",
                      None: "[_fw[0], _bw[0]]"}[L.merge_mode]
            states = " + _fw[1:] + _bw[1:]" if L.return_state else ""
            self.comment(f"merge_mode={L.merge_mode!r}" + ("; then the states: forward's, backward's" if states else ""))
            self.emit(f"{', '.join(outs)}{',' if n_out == 1 else ''} = {merged}{states}")
        else:
            call = self.cell_call(node, L, x, mask, init)
            if L.return_state:
                self.emit(f"{', '.join(outs)} = {call}")
            else:
                self.emit(f"{outs[0]} = {call}[0]")
        if getattr(self.graph, "implicit_masks", True):
            for k, m in enumerate(L.compute_mask([None], [mask])):
                self.set_mask(node, k, None if m is None else mask)

    # --- the file ------------------------------------------------------------------------------------------------
    def source(self, n_in: int) -> str:
        m = self.model
        head = [
            '"""The forward pass of a Keras model, in NumPy alone: written by LSTM Inspector (export-code).',
            "",
            "    python THIS.py X.npy Y.npy          X: .npy, or .npz with x_0, x_1, ... for several inputs;",
            "                                       Y: .npy, or .npz with output_0, output_1, ...",
            "    from THIS import predict; predict(x)  (a list of arrays for several inputs or outputs)",
            "",
            "The weights are read from the .npz of the same name, next to this file, keyed <layer>/<Keras weight>.",
            '"""',
            "# model: " + _printable(m.name) + "  (" + _printable(m.format_label) + ", Keras " + _printable(m.keras_version) + ")",
            "import math  # noqa: F401  (gelu)",
            "import os",
            "import sys",
            "",
            "import numpy as np",
            "",
            'W = np.load(os.path.splitext(os.path.abspath(__file__))[0] + ".npz", allow_pickle=False)',
            "",
        ]
        body = ["", "# --- activations (as Keras computes them) " + "-" * 70]
        consts = "".join(_ACT_CONSTANTS.get(n, "") for n in self.acts)
        if consts:
            body.append(consts.rstrip("\n"))
        for name, fn in self.acts.items():
            body.append("")
            body.append("")
            body.append(inspect.getsource(fn).rstrip("\n"))
        body.append("")
        body.append("")
        body.append("# --- layers " + "-" * 100)
        for src in self.helpers.values():
            body.append(src.rstrip("\n"))
            body.append("")
        body.append("")
        body.append("def predict(x):")
        body.append('    """What Keras\' model.predict(x) returns: an array, or a list for several outputs."""')
        if n_in > 1:
            body.append("    xs = list(x)")
            body.append(f"    if len(xs) != {n_in}:")
            body.append(f'        raise ValueError("the model has {n_in} inputs")')
        else:
            body.append("    xs = list(x) if isinstance(x, (list, tuple)) else [x]")
        body.append("    with np.errstate(over=\"ignore\"):  # a saturated sigmoid: exp(-z) is inf, the gate exactly 0")
        body.append("        return _forward(xs)")
        body.append("")
        body.append("")
        body.append("def _forward(xs):")
        body.extend(self.lines)
        return "\n".join(head + body) + "\n" + _MAIN_SRC


def generate(model) -> tuple[str, dict[str, np.ndarray]]:
    """(the script's source, the weights by key) for a loaded model; CodegenError if a layer is not supported."""
    if model.unsupported:
        bad = model.unsupported[0]
        raise CodegenError(f"layer {bad.name!r}: {bad.reason}")
    w = _Writer(model)
    src = w.write()
    return src, w.weights


def write_code(model, directory: str | os.PathLike, name: str) -> tuple[str, str]:
    """Write ``<name>.py`` and ``<name>.npz`` into ``directory`` (made if missing); returns their paths. Each file is
    written to a temporary name and renamed into place."""
    stem = "".join(c if (c.isalnum() or c in "_-") else "_" for c in name) or "model"
    if not stem[0].isalpha():
        stem = "m_" + stem
    src, weights = generate(model)
    d = os.fspath(directory)
    os.makedirs(d, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **weights)
    paths = []
    for ext, data in ((".npz", buf.getvalue()), (".py", src.encode("utf-8"))):
        path = os.path.join(d, stem + ext)
        with atomic_open(path) as fh:
            fh.write(data)
        paths.append(path)
    return paths[1], paths[0]
