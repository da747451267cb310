"""Reading input arrays for the CLI and the GUI: .npy, .npz (x_0, x_1, … or the only array) and .csv."""
from __future__ import annotations

import os
import zipfile

import numpy as np

from .errors import ModelFileError

MAX_INPUT_BYTES = 4 * 1024**3


def load_inputs(path: str | os.PathLike) -> list[np.ndarray]:
    """Arrays from a file, never unpickling; errors are ModelFileError naming the file."""
    spath = os.fspath(path)
    if not os.path.isfile(spath):
        raise ModelFileError(spath, "no such file")
    if os.path.getsize(spath) > MAX_INPUT_BYTES:
        raise ModelFileError(spath, "input file is larger than 4 GB")
    ext = os.path.splitext(spath)[1].lower()
    try:
        if ext == ".csv":
            a = np.loadtxt(spath, delimiter=",", dtype=np.float32, ndmin=2)
            return [a[:, :, None]]  # (batch, time) of one feature
        if ext == ".npz":
            with np.load(spath, allow_pickle=False) as z:
                keys = list(z.keys())
                xs = sorted((k for k in keys if k.startswith("x_")), key=lambda k: int(k[2:]) if k[2:].isdigit() else 0)
                if not xs:
                    xs = ["x"] if "x" in keys else keys[:1] if len(keys) == 1 else []
                if not xs:
                    raise ModelFileError(spath, f"npz has no arrays named x_0, x_1, … (has {keys[:5]})")
                return [np.asarray(z[k]) for k in xs]
        arr = np.load(spath, allow_pickle=False)
        if isinstance(arr, np.lib.npyio.NpzFile):
            arr.close()
            raise ModelFileError(spath, "is an .npz archive; name it .npz")
        return [np.asarray(arr)]
    except ModelFileError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ModelFileError(spath, f"cannot be read as an input array ({str(e).splitlines()[0][:100] if str(e) else type(e).__name__})") from None
