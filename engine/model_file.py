"""Reading Keras model files with h5py alone.

Three layouts are understood, each found by walking the names the file itself stores:

* Keras 2 / tf.keras full-model HDF5: root attribute ``model_config`` (JSON) and group ``model_weights`` whose
  attribute ``layer_names`` lists the layers; each layer group's ``weight_names`` lists its datasets (``…:0``).
  Long attribute lists are split by Keras into ``layer_names0``, ``layer_names1`` ….
* Keras 3 legacy HDF5: the same outline, names without ``:0``.
* Keras 3 ``.keras`` zip: ``config.json``, ``metadata.json`` and ``model.weights.h5`` whose groups
  ``layers/<key>/vars/<i>`` carry the layer name in the ``vars`` group's ``name`` attribute.

Nothing from the file is executed: JSON is parsed as data and arrays are read as numbers.

This reader runs libhdf5 on untrusted bytes, so a user's file is read in a child process
(``engine/reader_process.py``); calling it directly is for trusted files (the engine's own tests). It reads in two
passes. The first walks the file's structure and refuses, before any data is read, what a Keras file never
contains: soft and external links, external storage, virtual datasets, an object reached by two paths (hard-link
cycles and DAGs), filters other than gzip/lzf/shuffle, chunks larger than their dataset, and weights beyond the
budget (counted with their real item size). The second reads every dataset, straight into one block of memory
that the caller allocates (``alloc``), so the child process can read into memory it shares with the parent.
Before each step the reader reports where it is (``progress``), so a crash in libhdf5 can be placed.
"""
from __future__ import annotations

import io
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import h5py
import numpy as np

from .errors import FormatError
from .keras_zip import StoredMember, read_keras_zip
from .limits import DEFAULT, Limits
from .weights import WeightGroup

FORMAT_LABELS = {
    "keras2-h5": "Keras 2 / tf.keras HDF5 (.h5)",
    "keras3-h5": "Keras 3 legacy HDF5 (.h5)",
    "keras3-zip": "Keras 3 native (.keras)",
    "keras2-zip": "tf.keras 2.13–2.15 native (.keras)",
}

# HDF5 filters a (re-packed) Keras file may use; anything else is refused before a byte of data is read.
ALLOWED_FILTERS = {h5py.h5z.FILTER_DEFLATE: "gzip", h5py.h5z.FILTER_SHUFFLE: "shuffle", 32000: "lzf"}
FILTER_NAMES = {h5py.h5z.FILTER_FLETCHER32: "fletcher32", h5py.h5z.FILTER_SZIP: "szip",
                h5py.h5z.FILTER_NBIT: "nbit", h5py.h5z.FILTER_SCALEOFFSET: "scaleoffset"}
ALIGN = 64  # every array starts on a cache line of the block it is read into
CRC_FIRST_BYTES = 32 * 1024**2  # a stored weights member up to this size has its CRC checked before it is read

Progress = Callable[[str], None]
Alloc = Callable[[int], "memoryview | bytearray | np.ndarray"]


@dataclass
class RawModel:
    """A model file's contents, uninterpreted: the config dict and the stored weights per top-level layer."""

    path: str
    format: str
    keras_version: str
    config: dict
    weights: dict[str, WeightGroup]


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value.item())
    if isinstance(value, (str, np.str_)):
        return str(value)
    raise FormatError(f"attribute is not text ({type(value).__name__})")


def _parse_json(text: str, what: str, limits: Limits = DEFAULT) -> dict:
    if len(text) > limits.max_config_bytes:
        raise FormatError(f"{what} is larger than {limits.max_config_bytes // 1024**2} MB")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise FormatError(f"{what} is not valid JSON ({e.__class__.__name__}: {str(e)[:80]})") from None
    if not isinstance(value, dict):
        raise FormatError(f"{what} is not a JSON object")
    return value


def _out_dtype(dt: np.dtype) -> np.dtype:
    """The dtype a weight is handed on in: float32 for any float, native byte order otherwise."""
    return np.dtype(np.float32) if dt.kind == "f" else dt.newbyteorder("=")


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class _Walk:
    """One walk over an open HDF5 file: every link is checked before it is followed, every object may be reached by
    one path only, and every dataset's storage and size are checked before any data is read (``fill`` reads)."""

    def __init__(self, limits: Limits, progress: Progress, label: str = ""):
        self.limits = limits
        self.progress = progress
        self.label = label  # "model.weights.h5: " inside an archive
        self.seen: dict[int, str] = {}  # object address -> the one path it is reached by
        self.pending: list[tuple[list, int, str, h5py.Dataset, str, np.dtype, tuple, int]] = []
        self.used = 0  # bytes the datasets declare, with their real item size
        self.total = 0  # bytes of the block they are read into

    def at(self, what: str) -> None:
        self.progress(f"{what} in {self.label}" if self.label else what)

    # --- structure ---------------------------------------------------------------------------------------------
    def child(self, g: h5py.Group, name: str, where: str):
        """The object ``name`` (a relative path) under ``g``, or None if absent. Only hard links are followed."""
        obj = g
        for comp in name.split("/"):
            if not isinstance(obj, h5py.Group):
                return None
            if comp in ("", "."):
                raise FormatError(f"name {name!r} under {where or '/'!r} is not a plain relative path; refusing")
            path = f"{where}/{comp}" if where else comp
            key = comp.encode("utf-8")
            try:
                if not obj.id.links.exists(key):
                    return None
                info = obj.id.links.get_info(key)
            except (KeyError, ValueError, OSError, RuntimeError):
                raise FormatError(f"{path!r} cannot be looked up: the file is corrupt") from None
            if info.type == h5py.h5l.TYPE_SOFT:
                raise FormatError(f"{path!r} is a soft link; a Keras file has none, refusing")
            if info.type == h5py.h5l.TYPE_EXTERNAL:
                raise FormatError(f"{path!r} is an external link (to another file); refusing")
            if info.type != h5py.h5l.TYPE_HARD:
                raise FormatError(f"{path!r} is a user-defined link; refusing")
            first = self.seen.setdefault(int(info.u), path)
            if first != path:
                raise FormatError(f"{path!r} and {first!r} are the same object (linked twice); refusing")
            self.at(f"opening {path!r}")
            try:
                obj = obj[comp]
            except (KeyError, OSError, ValueError, TypeError, RuntimeError):
                raise FormatError(f"{path!r} cannot be opened: the file is corrupt") from None
            where = path
            if not isinstance(obj, (h5py.Group, h5py.Dataset)):
                raise FormatError(f"{path!r} is neither a group nor a dataset; refusing")
        return obj

    def keys(self, g: h5py.Group, where: str) -> list[str]:
        self.at(f"listing {where or '/'!r}")
        try:
            return list(g.keys())
        except (OSError, ValueError, RuntimeError, UnicodeDecodeError):
            raise FormatError(f"group {where or '/'!r} cannot be listed: the file is corrupt") from None

    def attr(self, obj, key: str, where: str):
        """Attribute ``key`` of ``obj`` or None; its declared size is checked before it is read."""
        try:
            if key not in obj.attrs:
                return None
            aid = h5py.h5a.open(obj.id, key.encode("utf-8"))
            n = int(np.prod(aid.shape or (), dtype=np.int64)) * max(aid.dtype.itemsize, 1)
        except (KeyError, OSError, ValueError, TypeError, RuntimeError):
            raise FormatError(f"attribute {key!r} of {where or '/'!r} cannot be read: the file is corrupt") from None
        if n > self.limits.max_config_bytes:
            raise FormatError(f"attribute {key!r} of {where or '/'!r} declares {n} bytes; refusing")
        self.at(f"reading attribute {key!r} of {where or '/'!r}")
        try:
            return obj.attrs[key]
        except (KeyError, OSError, ValueError, TypeError, RuntimeError, UnicodeDecodeError):
            raise FormatError(f"attribute {key!r} of {where or '/'!r} cannot be read: the file is corrupt") from None

    def names(self, obj, key: str, where: str) -> list[str]:
        """An attribute holding a list of names, joined again if Keras split it into key0, key1, …"""
        raw = self.attr(obj, key, where)
        if raw is not None:
            chunks = [raw]
        else:
            chunks = []
            while (raw := self.attr(obj, f"{key}{len(chunks)}", where)) is not None:
                chunks.append(raw)
            if not chunks:
                raise FormatError(f"attribute {key!r} is missing")
        out: list[str] = []
        for raw in chunks:
            arr = np.asarray(raw)
            if arr.size == 0:
                continue
            if arr.dtype.kind not in "SUO":
                raise FormatError(f"attribute {key!r} does not hold names")
            out.extend(_text(v) for v in arr.reshape(-1))
        return out

    def dataset(self, obj, where: str, into: list, name: str) -> None:
        """Check a weight's storage and size now; it is read by ``fill`` into ``into`` as ``(name, array)``."""
        if not isinstance(obj, h5py.Dataset):
            raise FormatError(f"weight {where!r} is not a dataset")
        try:
            dt, shape = obj.dtype, obj.shape
            dcpl = obj.id.get_create_plist()
            layout = dcpl.get_layout()
            externals = dcpl.get_external_count()
            filters = [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]
            chunk = dcpl.get_chunk() if layout == h5py.h5d.CHUNKED else None
        except (OSError, ValueError, TypeError, RuntimeError):
            raise FormatError(f"weight {where!r} cannot be read: the file is corrupt") from None
        if dt.kind not in "fiub" or dt.fields is not None or dt.itemsize > 8:
            raise FormatError(f"weight {where!r} has non-numeric type {dt}")
        if shape is None:
            raise FormatError(f"weight {where!r} has no data space")
        if layout == h5py.h5d.VIRTUAL:
            raise FormatError(f"weight {where!r} is a virtual dataset (its data would come from elsewhere); refusing")
        if externals:
            raise FormatError(f"weight {where!r} keeps its data in an external file; refusing")
        for code in filters:
            if code not in ALLOWED_FILTERS:
                what = FILTER_NAMES.get(code, f"filter {code}")
                raise FormatError(f"weight {where!r} uses the {what} filter (only gzip, lzf and shuffle are read); refusing")
        if chunk is not None and (len(chunk) != len(shape) or any(c > max(d, 1) for c, d in zip(chunk, shape))):
            raise FormatError(f"weight {where!r} has chunks {tuple(chunk)} larger than its shape {shape}; refusing")
        count = int(np.prod(shape, dtype=np.int64))
        if count < 0 or any(d < 0 for d in shape):
            raise FormatError(f"weight {where!r} has an impossible shape {shape}")
        self.used += count * dt.itemsize
        if self.used > self.limits.max_bytes:
            raise FormatError(f"weights are larger than {self.limits.max_bytes / 1024**3:g} GB "
                              f"(weight {where!r} has shape {shape} of {dt}); refusing")
        out = _out_dtype(dt)
        into.append((name, None))
        self.pending.append((into, len(into) - 1, name, obj, where, out, shape, self.total))
        self.total += _aligned(count * out.itemsize)

    # --- data --------------------------------------------------------------------------------------------------
    def fill(self, alloc: Alloc | None) -> None:
        """Read every checked dataset into one block of ``self.total`` bytes from ``alloc``."""
        if alloc is None or not self.total:
            block = np.empty(self.total, np.uint8)
        else:
            block = np.frombuffer(alloc(self.total), np.uint8)
        for into, i, name, ds, where, out, shape, offset in self.pending:
            count = int(np.prod(shape, dtype=np.int64))
            arr = block[offset:offset + count * out.itemsize].view(out).reshape(shape)
            if count:
                self.at(f"reading {where!r}")
                try:
                    if ds.dtype == out:
                        ds.read_direct(arr)
                    else:
                        arr[...] = ds[()]
                except (OSError, ValueError, TypeError, RuntimeError):
                    raise FormatError(f"weight {where!r} cannot be read: the file is truncated or corrupt") from None
            into[i] = (name, arr)


def _read_legacy_h5(f: h5py.File, path: str, limits: Limits, progress: Progress, alloc: Alloc | None) -> RawModel:
    w = _Walk(limits, progress)
    text = w.attr(f, "model_config", "")
    if text is None:
        if w.attr(f, "layer_names", "") is not None or w.child(f, "model_weights", "") is not None:
            raise FormatError("holds weights only, no model config (saved with save_weights); open the full model file")
        raise FormatError("is an HDF5 file but not a Keras model (no 'model_config' attribute)")
    config = _parse_json(_text(text), "model_config", limits)
    raw_version = w.attr(f, "keras_version", "")
    version = _text(raw_version) if raw_version is not None else "2"
    wroot = w.child(f, "model_weights", "")
    top = "model_weights"
    if wroot is None:
        wroot, top = f, ""
    elif not isinstance(wroot, h5py.Group):
        raise FormatError("'model_weights' is not a group")
    elif raw_version is None:
        inner = w.attr(wroot, "keras_version", top)
        if inner is not None:
            version = _text(inner)
    weights: dict[str, WeightGroup] = {}
    for lname in w.names(wroot, "layer_names", top):
        g = w.child(wroot, lname, top)
        if g is None:
            raise FormatError(f"weights of layer {lname!r} are listed but missing")
        lwhere = f"{top}/{lname}" if top else lname
        if not isinstance(g, h5py.Group):
            raise FormatError(f"weights of layer {lname!r} are not a group")
        group = WeightGroup(name=lname)
        for wname in w.names(g, "weight_names", lwhere):
            ds = w.child(g, wname, lwhere)
            if ds is None:
                raise FormatError(f"weight {lname}/{wname} is listed but missing")
            w.dataset(ds, f"{lwhere}/{wname}", group.arrays, _strip_weight_name(wname))
        weights[lname] = group
    w.fill(alloc)
    fmt = "keras3-h5" if version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 3 else "keras2-h5"
    return RawModel(path=path, format=fmt, keras_version=version, config=config, weights=weights)


def _strip_weight_name(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _read_keras3_weights(f: h5py.File, limits: Limits, progress: Progress, alloc: Alloc | None) -> dict[str, WeightGroup]:
    w = _Walk(limits, progress, "model.weights.h5")

    def vars_of(g: h5py.Group, where: str, group: WeightGroup) -> None:
        v = w.child(g, "vars", where)
        if v is None:
            return
        vwhere = f"{where}/vars" if where else "vars"
        if not isinstance(v, h5py.Group):
            raise FormatError(f"{vwhere} is not a group")
        keys = w.keys(v, vwhere)
        if not all(k.isdigit() for k in keys):
            raise FormatError(f"{vwhere} has unexpected entries {keys[:3]}")
        for k in sorted(keys, key=int):
            w.dataset(w.child(v, k, vwhere), f"{vwhere}/{k}", group.arrays, "")
        name = w.attr(v, "name", vwhere)
        if name is not None:
            group.name = _text(name)

    def walk(g: h5py.Group, name: str, where: str) -> WeightGroup:
        group = WeightGroup(name=name)
        vars_of(g, where, group)
        for key in w.keys(g, where):
            if key == "vars":
                continue
            kwhere = f"{where}/{key}" if where else key
            sub = w.child(g, key, where)
            if not isinstance(sub, h5py.Group):
                continue
            if key == "layers":
                for lkey in w.keys(sub, kwhere):
                    lg = w.child(sub, lkey, kwhere)
                    if isinstance(lg, h5py.Group):
                        layer = walk(lg, lkey, f"{kwhere}/{lkey}")
                        group.layers[layer.name] = layer
            else:
                part = walk(sub, key, kwhere)
                part.name = key
                group.parts[key] = part
        return group

    root = walk(f, "", "")
    w.fill(alloc)
    _renest(root)
    if not root.layers:
        other = [k for k, g in root.parts.items() if not g.is_empty() and k not in ("optimizer", "metrics")]
        if other:  # weights are there, in a layout not known: say what is there rather than that nothing is
            raise FormatError(f"model.weights.h5 holds weights under {', '.join(sorted(other)[:6])} but none under "
                              f"'layers/', the layout Keras writes; this layout is not known, so they are not read")
    return root.layers


def _renest(group: WeightGroup, depth: int = 0) -> None:
    """tf.keras 2.13–2.15 on Windows wrote one group per path, with backslashes in its name (``layers\\gru\\cell``
    beside ``layers\\gru``) instead of nested groups: nest them again, as Keras meant them."""
    if depth > 64:
        raise FormatError("model.weights.h5 is nested too deeply")
    for key in [k for k in group.parts if "\\" in k]:
        part = group.parts.pop(key)
        path = [p for p in key.split("\\") if p]
        here, i = group, 0
        while i < len(path):
            as_layer = path[i] == "layers" and i + 1 < len(path)
            if as_layer:
                i += 1
            name, last = path[i], i == len(path) - 1
            table = here.layers if as_layer else here.parts
            have = table.get(name)
            if last:
                part.name = name
                if have is None:
                    table[name] = part
                else:  # made as a step on the way to a deeper group first: the two are one group
                    have.arrays = part.arrays + have.arrays
                    have.parts.update(part.parts)
                    have.layers.update(part.layers)
            elif have is None:
                have = table[name] = WeightGroup(name=name)
            here = have if not last else here
            i += 1
    for sub in list(group.parts.values()) + list(group.layers.values()):
        _renest(sub, depth + 1)


def read_model_file(path: str | os.PathLike, limits: Limits = DEFAULT, progress: Progress | None = None,
                    alloc: Alloc | None = None) -> RawModel:
    """Read a model file into a RawModel, raising FormatError with a one-line reason on any problem.

    This runs libhdf5 in this process: for a user's file use ``engine.reader_process.read_isolated``."""
    path = os.fspath(path)
    progress = progress or (lambda what: None)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FormatError("no such file") from None
    except OSError as e:
        raise FormatError(f"cannot be opened ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise FormatError("is a directory, not a model file")
    if not stat.S_ISREG(st.st_mode):
        raise FormatError("is not a regular file (a pipe or a device?); refusing")
    if st.st_size == 0:
        raise FormatError("is empty")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as e:
        raise FormatError(f"cannot be opened ({e.strerror or e})") from None
    if head.startswith(b"PK"):
        return _read_zip(path, limits, progress, alloc)
    progress("opening the file as HDF5")
    if head != b"\x89HDF\r\n\x1a\n":
        # HDF5 may start at an offset (user block); let h5py decide, but name the common case clearly.
        if not h5py.is_hdf5(path):
            raise FormatError("is neither an HDF5 (.h5) nor a .keras (zip) file")
    try:
        with h5py.File(path, "r") as f:
            return _read_legacy_h5(f, path, limits, progress, alloc)
    except FormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, UnicodeDecodeError) as e:
        detail = "truncated" if "truncated" in str(e) else "corrupt"
        raise FormatError(f"cannot be read as HDF5: the file is {detail}") from None


def _read_zip(path: str, limits: Limits, progress: Progress, alloc: Alloc | None) -> RawModel:
    progress("reading the zip archive")
    members = read_keras_zip(path, limits)
    if "config.json" not in members:
        raise FormatError("is a zip file but not a .keras model (no config.json)")
    config = _parse_json(members["config.json"].decode("utf-8", errors="replace"), "config.json", limits)
    version = "3"
    if "metadata.json" in members:
        meta = _parse_json(members["metadata.json"].decode("utf-8", errors="replace"), "metadata.json", limits)
        version = str(meta.get("keras_version", version))
    if "model.weights.h5" not in members:
        raise FormatError("is a .keras archive without model.weights.h5")
    member = members["model.weights.h5"]
    fmt = "keras2-zip" if version.split(".")[0].isdigit() and int(version.split(".")[0]) < 3 else "keras3-zip"
    progress("opening model.weights.h5 as HDF5")
    if not isinstance(member, StoredMember):
        return RawModel(path=path, format=fmt, keras_version=version, config=config,
                        weights=_read_weights_member(io.BytesIO(member), limits, progress, alloc))
    if member.size <= CRC_FIRST_BYTES:  # cheap: checked before libhdf5 sees a byte (a damaged member can hang it)
        progress("checking the CRC of model.weights.h5")
        if not member.crc_ok():
            raise FormatError("archive member model.weights.h5 is corrupt (CRC mismatch); refusing")
        return RawModel(path=path, format=fmt, keras_version=version, config=config,
                        weights=_read_weights_member(member.open(), limits, progress, alloc))
    with ThreadPoolExecutor(1) as pool:  # read in place; its CRC is checked meanwhile, on another thread
        crc = pool.submit(member.crc_ok)
        try:
            weights = _read_weights_member(member.open(), limits, progress, alloc)
        finally:
            crc_ok = crc.result()
    if not crc_ok:
        raise FormatError("archive member model.weights.h5 is corrupt (CRC mismatch); refusing")
    return RawModel(path=path, format=fmt, keras_version=version, config=config, weights=weights)


def _read_weights_member(fh, limits: Limits, progress: Progress, alloc: Alloc | None) -> dict:
    try:
        with fh, h5py.File(fh, "r") as f:
            return _read_keras3_weights(f, limits, progress, alloc)
    except FormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, UnicodeDecodeError):
        raise FormatError("model.weights.h5 inside the archive cannot be read: it is truncated or corrupt") from None
