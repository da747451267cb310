"""Reading the members of a ``.keras`` archive into memory, defensively.

Nothing is extracted to disk. Member names that would point outside an archive are refused, and sizes are checked
against limits before anything is decompressed (zip bombs), and again while reading (the declared size can lie).
"""
from __future__ import annotations

import zipfile

from .errors import FormatError

WANTED = ("config.json", "metadata.json", "model.weights.h5")
LIMITS = {"config.json": 64 * 1024**2, "metadata.json": 1024**2, "model.weights.h5": 8 * 1024**3}
MAX_RATIO = 200  # deflate rarely beats ~10x on weights; far beyond that is a bomb
MAX_MEMBERS = 10_000


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def read_keras_zip(path: str) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise FormatError(f"is not a valid zip archive ({e})") from None
    except OSError as e:
        raise FormatError(f"cannot be opened ({e.strerror or e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise FormatError(f"archive has {len(infos)} members; refusing")
        for info in infos:
            if _unsafe_name(info.filename):
                raise FormatError(f"archive member {info.filename!r} is named outside the archive; refusing")
        out: dict[str, bytes] = {}
        for info in infos:
            if info.filename not in WANTED:
                continue
            limit = LIMITS[info.filename]
            if info.file_size > limit:
                raise FormatError(f"archive member {info.filename} declares {info.file_size} bytes (limit {limit}); refusing")
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1024**2:
                raise FormatError(f"archive member {info.filename} expands {info.file_size // max(info.compress_size, 1)}x (zip bomb?); refusing")
            try:
                with zf.open(info) as fh:
                    data = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
                raise FormatError(f"archive member {info.filename} cannot be read ({e})") from None
            if len(data) != info.file_size:
                raise FormatError(f"archive member {info.filename} does not match its declared size; refusing")
            out[info.filename] = data
        return out
