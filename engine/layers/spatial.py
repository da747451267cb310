"""Sliding windows over the spatial axes of channels_last arrays (batch, *spatial, channels), for any rank: the
convolution and pooling arithmetic shared by Conv2D/Conv3D, the 2-D/3-D pooling layers and ConvLSTM1D/2D/3D.

Padding follows TensorFlow (``conv_padding``): "same" splits the zeros with the extra one on the right/bottom.
A layer with ``data_format="channels_first"`` moves its channels last on the way in and back on the way out
(``to_channels_last`` / ``to_channels_first``); the arithmetic itself is written once.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import FormatError
from .conv import conv_padding

#: the patch matrix of a convolution is built in parts of at most this many bytes (an image sequence of 120 frames
#: of 64×64×3 with a 3×3 kernel would otherwise need 53 MB at once; one 1024×1024 frame into 64 channels 2.4 GB)
PATCH_BYTES = 32 * 1024 ** 2


def data_format(layer) -> bool:
    """True for channels_first, False for channels_last; anything else is refused naming the layer."""
    fmt = layer.config.get("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise FormatError(f"layer {layer.name!r}: unknown data_format {fmt!r}")
    return fmt == "channels_first"


def to_channels_last(x: np.ndarray) -> np.ndarray:
    """(batch, C, *spatial) → (batch, *spatial, C), a view."""
    return np.moveaxis(x, 1, -1)


def to_channels_first(x: np.ndarray) -> np.ndarray:
    """(batch, *spatial, C) → (batch, C, *spatial), a view."""
    return np.moveaxis(x, -1, 1)


def window_padding(sizes, windows, strides, dilations, padding: str) -> tuple[list[tuple[int, int]], tuple[int, ...]]:
    """Per spatial axis the (before, after) zeros and the output size."""
    pads, out = [], []
    for n, k, s, d in zip(sizes, windows, strides, dilations):
        lo, hi, o = conv_padding(n, (k - 1) * d + 1, s, padding)
        pads.append((lo, hi))
        out.append(o)
    return pads, tuple(out)


def output_size(size, window: int, stride: int, dilation: int, padding: str):
    """One spatial axis' output size (None stays None)."""
    if not isinstance(size, int):
        return None
    return conv_padding(size, (window - 1) * dilation + 1, stride, padding)[2]


def conv_nd(x: np.ndarray, kernel: np.ndarray, strides, dilations, padding: str) -> np.ndarray:
    """``y[n, p, o] = Σ_{tap, c} x_pad[n, p·s + tap·d, c] · kernel[tap, c, o]``: x (N, *S, Cin), kernel (*k, Cin, Cout),
    float32 (N, *S_out, Cout). The patches of every output position are gathered into one matrix (im2col) and
    multiplied by the kernel as (taps·Cin, Cout), in parts of at most PATCH_BYTES; when even one frame's patches
    are bigger than that, the product is summed tap by tap instead (no patch matrix at all)."""
    rank = kernel.ndim - 2
    k = kernel.shape[:rank]
    cin, cout = kernel.shape[-2], kernel.shape[-1]
    pads, out = window_padding(x.shape[1:1 + rank], k, strides, dilations, padding)
    if any(o <= 0 for o in out):
        raise ValueError("input smaller than the kernel")
    if any(lo or hi for lo, hi in pads):
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    w = kernel.reshape(-1, cout)
    n = x.shape[0]
    y = np.empty((n,) + out + (cout,), np.result_type(x.dtype, kernel.dtype))  # float64 for the exact reference
    per_frame = int(np.prod(out)) * w.shape[0] * 4
    if per_frame > PATCH_BYTES:  # one frame's patches would be too big (a large image): a product per kernel tap
        y.fill(0)
        for tap in np.ndindex(*k):
            index = (slice(None),) + tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                                           for t, d, o, s in zip(tap, dilations, out, strides))
            y += x[index] @ kernel[tap]
        return y
    chunk = max(1, PATCH_BYTES // max(per_frame, 1))
    for a in range(0, n, chunk):
        patches = _patches(x[a:a + chunk], k, strides, dilations, out)  # (n', *out, *k, Cin)
        np.matmul(patches.reshape(-1, w.shape[0]), w, out=y[a:a + chunk].reshape(-1, cout))
    return y


def _patches(x: np.ndarray, k, strides, dilations, out) -> np.ndarray:
    """(N, *out, *k, C) contiguous: the window of every output position, taps in kernel order, then channels."""
    rank = len(k)
    spans = [(kk - 1) * d + 1 for kk, d in zip(k, dilations)]
    win = sliding_window_view(x, spans, axis=tuple(range(1, 1 + rank)))  # (N, *pos, C, *spans)
    index = (slice(None),) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, strides)) + (slice(None),) \
        + tuple(slice(None, None, d) for d in dilations)
    win = win[index]  # (N, *out, C, *k)
    order = (0,) + tuple(range(1, 1 + rank)) + tuple(range(2 + rank, 2 + 2 * rank)) + (1 + rank,)
    return np.ascontiguousarray(win.transpose(order))


def pool_nd(x: np.ndarray, windows, strides, padding: str, reduce: str) -> np.ndarray:
    """Max or average pooling of x (N, *S, C) over windows of ``windows``. With "same" padding, max ignores the
    padding and the average counts only the real values in each window (as TensorFlow does)."""
    rank = len(windows)
    pads, out = window_padding(x.shape[1:1 + rank], windows, strides, (1,) * rank, padding)
    if any(o <= 0 for o in out):
        raise ValueError("input smaller than the pool")
    padded = any(lo or hi for lo, hi in pads)
    fill = -np.inf if reduce == "max" else 0.0
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=fill) if padded else x
    axes = tuple(range(1, 1 + rank))
    win = sliding_window_view(xp, windows, axis=axes)  # (N, *pos, C, *windows)
    index = (slice(None),) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, strides))
    win = win[index]
    red = tuple(range(-rank, 0))
    if reduce == "max":
        return np.ascontiguousarray(win.max(axis=red), dtype=x.dtype)
    total = win.sum(axis=red, dtype=x.dtype)
    if not padded:
        return (total / x.dtype.type(np.prod(windows))).astype(x.dtype)
    ones = np.pad(np.ones(x.shape[1:1 + rank], x.dtype), pads)
    count = sliding_window_view(ones, windows)[index[1:]].sum(axis=red)  # (*out,)
    return (total / count[..., None]).astype(x.dtype)
