"""Reading the members of a ``.keras`` archive, defensively.

Nothing is extracted to disk. Member names that would point outside an archive are refused, and sizes are checked
against limits before anything is decompressed (zip bombs), and again while reading (the declared size can lie).
Every oddity zipfile or Keras would refuse is refused first, in one line: encryption, an unsupported "version needed"
or compression method, a corrupt deflate/bzip2/LZMA stream, a member named differently in its local header than in
the central directory, a member held twice, members that overlap each other or the central directory.

The weights member, stored uncompressed as Keras writes it, is not read into memory: it is opened where it lies in
the archive (``StoredMember``, a read-only window on the file), so its arrays are read once, straight into the
model's arrays, while another thread checks its CRC. A compressed one is decompressed into memory.
"""
from __future__ import annotations

import io
import lzma
import os
import struct
import zipfile
import zlib

from .errors import FormatError
from .limits import DEFAULT, Limits

WANTED = ("config.json", "metadata.json", "model.weights.h5")
SUPPORTED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
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


def _local_header(fh, info: zipfile.ZipInfo) -> int:
    """Where a member's bytes start, after its local header (whose extra field may differ from the central
    directory's). The local header must name the same member as the central directory, as zipfile checks too."""
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise FormatError(f"archive member {info.filename!r} has no valid local header; refusing")
    flags, = struct.unpack("<H", head[6:8])
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    raw = fh.read(name_len)
    try:
        name = raw.decode("utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError:
        name = None
    if name != info.orig_filename:
        raise FormatError(f"archive member {info.filename!r} is named {raw[:60]!r} in its local header "
                          "(the central directory and the member disagree); refusing")
    return info.header_offset + 30 + name_len + extra_len


def _check_layout(path: str, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> dict[str, int]:
    """Every member's data offset; refuses members that overlap each other or the central directory, or whose
    compressed bytes would run past it (a size that lies)."""
    end = zf.start_dir
    spans = []
    offsets: dict[str, int] = {}
    with open(path, "rb") as fh:
        for info in infos:
            start = _local_header(fh, info)
            offsets[info.filename] = start
            spans.append((info.header_offset, start + info.compress_size, info.filename))
    spans.sort()
    for i, (a, b, name) in enumerate(spans):
        if b > end:
            raise FormatError(f"archive member {name!r} runs past the end of its data (its declared size lies); refusing")
        if i + 1 < len(spans) and spans[i + 1][0] < b:
            raise FormatError(f"archive members {name!r} and {spans[i + 1][2]!r} overlap; refusing")
    return offsets


def _check_member(info: zipfile.ZipInfo) -> None:
    """What zipfile or Keras would refuse about one wanted member, refused here first, in one line."""
    if info.flag_bits & 0x1:
        raise FormatError(f"archive member {info.filename!r} is encrypted; refusing")
    if info.flag_bits & 0x60:
        raise FormatError(f"archive member {info.filename!r} uses strong encryption or patch data; refusing")
    if info.compress_type not in SUPPORTED_COMPRESSION:
        raise FormatError(f"archive member {info.filename!r} uses compression method {info.compress_type}; refusing")


def read_keras_zip(path: str, limits: Limits = DEFAULT) -> dict[str, "bytes | StoredMember"]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise FormatError(f"is not a valid zip archive ({e})") from None
    except NotImplementedError as e:  # e.g. "zip file version 6.4"
        raise FormatError(f"is a zip archive this reader does not support ({e}); refusing") from None
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"cannot be opened as a zip archive ({type(e).__name__})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise FormatError(f"archive has {len(infos)} members; refusing")
        names: set[str] = set()
        for info in infos:
            if _unsafe_name(info.filename):
                raise FormatError(f"archive member {info.filename!r} is named outside the archive; refusing")
            if info.filename in names:
                raise FormatError(f"archive holds member {info.filename!r} twice; refusing")
            names.add(info.filename)
        offsets = _check_layout(path, zf, infos)
        limits_of = {"config.json": limits.max_config_bytes, "metadata.json": 1024**2, "model.weights.h5": limits.max_bytes}
        out: dict[str, bytes] = {}
        for info in infos:
            if info.filename not in WANTED:
                continue
            _check_member(info)
            limit = limits_of[info.filename]
            if info.file_size > limit:
                raise FormatError(f"archive member {info.filename} declares {info.file_size} bytes (limit {limit}); refusing")
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1024**2:
                raise FormatError(f"archive member {info.filename} expands {info.file_size // max(info.compress_size, 1)}x (zip bomb?); refusing")
            if info.filename == "model.weights.h5" and info.compress_type == zipfile.ZIP_STORED:
                if info.compress_size != info.file_size:
                    raise FormatError(f"archive member {info.filename} does not match its declared size; refusing")
                out[info.filename] = StoredMember(path, info.filename, offsets[info.filename], info.file_size, info.CRC)
                continue
            try:
                with zf.open(info) as fh:
                    data = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError,
                    zlib.error, lzma.LZMAError) as e:
                why = str(e).splitlines()[0][:100] if str(e) else type(e).__name__
                raise FormatError(f"archive member {info.filename} cannot be read ({why})") from None
            if len(data) != info.file_size:
                raise FormatError(f"archive member {info.filename} does not match its declared size; refusing")
            out[info.filename] = data
        return out
