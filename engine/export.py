"""Writing arrays the user asks to export (gate matrices, traces). Only ever where the user chose to save."""
from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np


def save_matrix(path: str | os.PathLike, a: np.ndarray, columns: Sequence[str] | None = None,
                rows: Sequence[str] | None = None) -> None:
    """.npy keeps the exact float32 values; .csv writes them with enough digits to read back exactly, under a
    header row of column names (``c0, c1, …`` unless given) and, with ``rows``, each row's name first."""
    spath = os.fspath(path)
    a = np.asarray(a)
    buf = io.BytesIO()
    if spath.lower().endswith(".csv"):
        # a convolution kernel (*taps, in channels, out) as one row per (tap, input channel), as the window shows it
        a2 = a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1, a.shape[-1])
        cols = list(columns) if columns is not None else [f"c{j}" for j in range(a2.shape[1])]
        if len(cols) != a2.shape[1] or (rows is not None and len(rows) != a2.shape[0]):
            raise ValueError("one name per column (and per row)")
        head = ([""] if rows is not None else []) + [_csv_field(c) for c in cols]
        buf.write((",".join(head) + "\n").encode())
        for r in range(a2.shape[0]):
            fields = [_csv_field(rows[r])] if rows is not None else []
            fields += [f"{float(v):.9g}" for v in a2[r]]
            buf.write((",".join(fields) + "\n").encode())
    else:
        np.save(buf, np.ascontiguousarray(a))
    with open(spath, "wb") as fh:
        fh.write(buf.getvalue())


def _csv_field(s: str) -> str:
    s = str(s)
    return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ',"\n') else s
