"""Reading the members of a ``.keras`` archive, defensively.

Nothing is extracted to disk. Member names that would point outside an archive are refused, and sizes are checked
against limits before anything is decompressed (zip bombs), and again while reading (the declared size can lie).

The weights member, stored uncompressed as Keras writes it, is not read into memory: it is opened where it lies in
the archive (``StoredMember``, a read-only window on the file), so its arrays are read once, straight into the
model's arrays, while another thread checks its CRC. A compressed one is decompressed into memory.
"""
from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

from .errors import FormatError

WANTED = ("config.json", "metadata.json", "model.weights.h5")
LIMITS = {"config.json": 64 * 1024**2, "metadata.json": 1024**2, "model.weights.h5": 8 * 1024**3}
MAX_RATIO = 200  # deflate rarely beats ~10x on weights; far beyond that is a bomb
MAX_MEMBERS = 10_000


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


class StoredMember:
    """An uncompressed archive member, read in place: ``open()`` gives a seekable read-only file over its bytes,
    ``crc_ok()`` reads it once more to check its CRC (the two can run side by side: both release the GIL)."""

    def __init__(self, path: str, name: str, offset: int, size: int, crc: int):
        self.path, self.name, self.offset, self.size, self.crc = path, name, offset, size, crc
        if offset + size > os.path.getsize(path):
            raise FormatError(f"archive member {name} runs past the end of the file; refusing")

    def open(self) -> "_Window":
        return _Window(open(self.path, "rb", buffering=0), self.offset, self.size)

    def crc_ok(self) -> bool:
        crc = 0
        buf = bytearray(4 * 1024**2)
        view = memoryview(buf)
        with open(self.path, "rb", buffering=0) as fh:
            fh.seek(self.offset)
            left = self.size
            while left > 0:
                n = fh.readinto(view[:min(left, len(buf))])
                if not n:
                    return False
                crc = zlib.crc32(view[:n], crc)
                left -= n
        return crc == self.crc


class _Window(io.RawIOBase):
    """Bytes [offset, offset + size) of a file, as a read-only seekable file (reads go straight into the
    caller's buffer)."""

    def __init__(self, fh, offset: int, size: int):
        super().__init__()
        self.fh, self.offset, self.size, self.pos = fh, offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self.size}[whence]
        self.pos = max(0, base + pos)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, b) -> int:
        n = max(0, min(len(b), self.size - self.pos))
        if n == 0:
            return 0
        self.fh.seek(self.offset + self.pos)
        with memoryview(b) as dst:
            got = self.fh.readinto(dst.cast("B")[:n])
        self.pos += got or 0
        return got or 0

    def close(self) -> None:
        if not self.closed:
            self.fh.close()
        super().close()


def _data_offset(path: str, info: zipfile.ZipInfo) -> int:
    """Where a member's bytes start: after its local header (whose name and extra field lengths may differ from
    the central directory's)."""
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise FormatError(f"archive member {info.filename} has no valid local header; refusing")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + name_len + extra_len


def read_keras_zip(path: str) -> dict[str, "bytes | StoredMember"]:
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
            if info.filename == "model.weights.h5" and info.compress_type == zipfile.ZIP_STORED:
                if info.compress_size != info.file_size:
                    raise FormatError(f"archive member {info.filename} does not match its declared size; refusing")
                out[info.filename] = StoredMember(path, info.filename, _data_offset(path, info), info.file_size,
                                                  info.CRC)
                continue
            try:
                with zf.open(info) as fh:
                    data = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
                raise FormatError(f"archive member {info.filename} cannot be read ({e})") from None
            if len(data) != info.file_size:
                raise FormatError(f"archive member {info.filename} does not match its declared size; refusing")
            out[info.filename] = data
        return out
