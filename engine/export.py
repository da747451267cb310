"""Writing arrays the user asks to export (gate matrices, traces). Only ever where the user chose to save."""
from __future__ import annotations

import io
import os

import numpy as np


def save_matrix(path: str | os.PathLike, a: np.ndarray) -> None:
    """.npy keeps the exact float32 values; .csv writes them with enough digits to read back exactly."""
    spath = os.fspath(path)
    a = np.asarray(a)
    buf = io.BytesIO()
    if spath.lower().endswith(".csv"):
        # a convolution kernel (*taps, in channels, out) as one row per (tap, input channel), as the window shows it
        np.savetxt(buf, a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1, a.shape[-1]), delimiter=",", fmt="%.9g")
    else:
        np.save(buf, np.ascontiguousarray(a))
    with open(spath, "wb") as fh:
        fh.write(buf.getvalue())
