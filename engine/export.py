"""Writing files the user asks for (predictions, traces, gate matrices, plots): only where the user chose to save,
never over the model or the input, and atomically: the data goes to a temporary file in the same folder, renamed
into place once complete, so a failed write leaves nothing behind and an old file intact."""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Sequence

import numpy as np


class SameFileError(ValueError):
    """The output path is one of the files being read (by inode: through symlinks and hard links too)."""


def refuse_same_file(output: str | os.PathLike, *sources: tuple[str, str | os.PathLike | None]) -> None:
    """Raise SameFileError when ``output`` is the same file as one of ``sources`` ((what, path) pairs)."""
    try:
        out = os.stat(output)  # follows symlinks: a link to the model is the model
    except OSError:
        return  # does not exist yet: cannot be any source
    for what, src in sources:
        if src is None:
            continue
        try:
            st = os.stat(src)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            raise SameFileError(f"is the {what} file; refusing to overwrite it")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yields a temporary path next to ``path`` (same suffix, so writers that pick a format by suffix still do);
    renamed over ``path`` when the block ends without an error, removed otherwise. A symlink at ``path`` is
    written through (its target is replaced), as a plain ``open(path, "wb")`` would."""
    target = os.path.realpath(os.fspath(path))
    folder, name = os.path.split(target)
    if os.path.isdir(target):
        raise IsADirectoryError(21, "Is a directory", os.fspath(path))
    base, suffix = os.path.splitext(name)
    fd, tmp = tempfile.mkstemp(prefix=f".{base[:60]}.", suffix=f".part{suffix}", dir=folder or ".")
    try:
        try:
            mode = os.stat(target).st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
        os.fchmod(fd, mode)
        os.close(fd)
        fd = -1
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike):
    """A binary file object for ``path``, written atomically (see atomic_path); flushed to disk before the rename."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """One array as .npy (when the path says so), otherwise an .npz of all, written atomically."""
    with atomic_open(path) as fh:
        if os.fspath(path).lower().endswith(".npy"):
            (a,) = arrays.values()
            np.save(fh, a)
        else:
            np.savez(fh, **arrays)


def save_matrix(path: str | os.PathLike, a: np.ndarray, columns: Sequence[str] | None = None,
                rows: Sequence[str] | None = None) -> None:
    """.npy keeps the exact float32 values; .csv writes them with enough digits to read back exactly, under a
    header row of column names (``c0, c1, …`` unless given) and, with ``rows``, each row's name first. Written
    atomically."""
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
    with atomic_open(spath) as fh:
        fh.write(buf.getvalue())


def _csv_field(s: str) -> str:
    s = str(s)
    return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ',"\n') else s
