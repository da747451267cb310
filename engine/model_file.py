"""Reading Keras model files with h5py alone.

Three layouts are understood, each found by walking the names the file itself stores:

* Keras 2 / tf.keras full-model HDF5: root attribute ``model_config`` (JSON) and group ``model_weights`` whose
  attribute ``layer_names`` lists the layers; each layer group's ``weight_names`` lists its datasets (``…:0``).
  Long attribute lists are split by Keras into ``layer_names0``, ``layer_names1`` ….
* Keras 3 legacy HDF5: the same outline, names without ``:0``.
* Keras 3 ``.keras`` zip: ``config.json``, ``metadata.json`` and ``model.weights.h5`` whose groups
  ``layers/<key>/vars/<i>`` carry the layer name in the ``vars`` group's ``name`` attribute.

Nothing from the file is executed: JSON is parsed as data and arrays are read as numbers.
"""
from __future__ import annotations

import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import h5py
import numpy as np

from .errors import FormatError
from .keras_zip import StoredMember, read_keras_zip
from .weights import WeightGroup

# A hostile file can declare enormous datasets; refuse before allocating.
MAX_WEIGHT_BYTES = 8 * 1024**3
MAX_CONFIG_BYTES = 64 * 1024**2

FORMAT_LABELS = {
    "keras2-h5": "Keras 2 / tf.keras HDF5 (.h5)",
    "keras3-h5": "Keras 3 legacy HDF5 (.h5)",
    "keras3-zip": "Keras 3 native (.keras)",
}


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


def _name_list(attrs, key: str) -> list[str]:
    """An attribute holding a list of names, joined again if Keras split it into key0, key1, …"""
    if key in attrs:
        raw = attrs[key]
        chunks = [raw]
    else:
        chunks = []
        i = 0
        while f"{key}{i}" in attrs:
            chunks.append(attrs[f"{key}{i}"])
            i += 1
        if not chunks:
            raise FormatError(f"attribute {key!r} is missing")
    names: list[str] = []
    for raw in chunks:
        arr = np.asarray(raw)
        if arr.size == 0:
            continue
        if arr.dtype.kind not in "SUO":
            raise FormatError(f"attribute {key!r} does not hold names")
        names.extend(_text(v) for v in arr.reshape(-1))
    return names


def _parse_json(text: str, what: str) -> dict:
    if len(text) > MAX_CONFIG_BYTES:
        raise FormatError(f"{what} is larger than {MAX_CONFIG_BYTES // 1024**2} MB")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise FormatError(f"{what} is not valid JSON ({e.__class__.__name__}: {str(e)[:80]})") from None
    if not isinstance(value, dict):
        raise FormatError(f"{what} is not a JSON object")
    return value


class _Budget:
    def __init__(self):
        self.used = 0

    def read(self, ds, where: str) -> np.ndarray:
        if not isinstance(ds, h5py.Dataset):
            raise FormatError(f"weight {where!r} is not a dataset")
        if ds.dtype.kind not in "fiub":
            raise FormatError(f"weight {where!r} has non-numeric type {ds.dtype}")
        n = int(np.prod(ds.shape, dtype=np.int64)) * 4
        self.used += n
        if self.used > MAX_WEIGHT_BYTES:
            raise FormatError(f"weights are larger than {MAX_WEIGHT_BYTES // 1024**3} GB (weight {where!r} has shape {ds.shape})")
        try:
            arr = ds[()]
        except (OSError, ValueError):
            raise FormatError(f"weight {where!r} cannot be read: the file is truncated or corrupt") from None
        arr = np.asarray(arr)
        if arr.dtype.kind == "f":
            arr = np.ascontiguousarray(arr, dtype=np.float32)
        return arr


def _read_legacy_h5(f: h5py.File, path: str) -> RawModel:
    attrs = f.attrs
    if "model_config" not in attrs:
        if "layer_names" in attrs or "model_weights" in f:
            raise FormatError("holds weights only, no model config (saved with save_weights); open the full model file")
        raise FormatError("is an HDF5 file but not a Keras model (no 'model_config' attribute)")
    config = _parse_json(_text(attrs["model_config"]), "model_config")
    version = _text(attrs["keras_version"]) if "keras_version" in attrs else "2"
    wroot = f["model_weights"] if "model_weights" in f else f
    if "model_weights" in f and "keras_version" in wroot.attrs and "keras_version" not in attrs:
        version = _text(wroot.attrs["keras_version"])
    budget = _Budget()
    weights: dict[str, WeightGroup] = {}
    for lname in _name_list(wroot.attrs, "layer_names"):
        if lname not in wroot:
            raise FormatError(f"weights of layer {lname!r} are listed but missing")
        g = wroot[lname]
        group = WeightGroup(name=lname)
        for wname in _name_list(g.attrs, "weight_names"):
            if wname not in g:
                raise FormatError(f"weight {lname}/{wname} is listed but missing")
            group.arrays.append((_strip_weight_name(wname), budget.read(g[wname], f"{lname}/{wname}")))
        weights[lname] = group
    fmt = "keras3-h5" if version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 3 else "keras2-h5"
    return RawModel(path=path, format=fmt, keras_version=version, config=config, weights=weights)


def _strip_weight_name(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _read_keras3_weights(f: h5py.File) -> dict[str, WeightGroup]:
    budget = _Budget()

    def vars_of(g: h5py.Group, where: str) -> list[tuple[str, np.ndarray]]:
        if "vars" not in g:
            return []
        v = g["vars"]
        if not isinstance(v, h5py.Group):
            raise FormatError(f"{where}/vars is not a group")
        keys = list(v.keys())
        if not all(k.isdigit() for k in keys):
            raise FormatError(f"{where}/vars has unexpected entries {keys[:3]}")
        return [("", budget.read(v[k], f"{where}/vars/{k}")) for k in sorted(keys, key=int)]

    def layer_name(g: h5py.Group, key: str) -> str:
        if "vars" in g and "name" in g["vars"].attrs:
            return _text(g["vars"].attrs["name"])
        return key

    def walk(g: h5py.Group, name: str, where: str) -> WeightGroup:
        group = WeightGroup(name=name, arrays=vars_of(g, where))
        for key in g.keys():
            if key == "vars":
                continue
            sub = g[key]
            if not isinstance(sub, h5py.Group):
                continue
            if key == "layers":
                for lkey in sub.keys():
                    lg = sub[lkey]
                    if isinstance(lg, h5py.Group):
                        lname = layer_name(lg, lkey)
                        group.layers[lname] = walk(lg, lname, f"{where}/layers/{lkey}")
            else:
                group.parts[key] = walk(sub, key, f"{where}/{key}")
        return group

    root = walk(f, "", "")
    return root.layers


def read_model_file(path: str | os.PathLike) -> RawModel:
    """Read a model file into a RawModel, raising FormatError with a one-line reason on any problem."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FormatError("no such file")
    if os.path.isdir(path):
        raise FormatError("is a directory, not a model file")
    size = os.path.getsize(path)
    if size == 0:
        raise FormatError("is empty")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK"):
        return _read_zip(path)
    if head != b"\x89HDF\r\n\x1a\n":
        # HDF5 may start at an offset (user block); let h5py decide, but name the common case clearly.
        if not h5py.is_hdf5(path):
            raise FormatError("is neither an HDF5 (.h5) nor a .keras (zip) file")
    try:
        with h5py.File(path, "r") as f:
            return _read_legacy_h5(f, path)
    except FormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as e:
        detail = "truncated" if "truncated" in str(e) else "corrupt"
        raise FormatError(f"cannot be read as HDF5: the file is {detail}") from None


def _read_zip(path: str) -> RawModel:
    members = read_keras_zip(path)
    if "config.json" not in members:
        raise FormatError("is a zip file but not a .keras model (no config.json)")
    config = _parse_json(members["config.json"].decode("utf-8", errors="replace"), "config.json")
    version = "3"
    if "metadata.json" in members:
        meta = _parse_json(members["metadata.json"].decode("utf-8", errors="replace"), "metadata.json")
        version = str(meta.get("keras_version", version))
    if "model.weights.h5" not in members:
        raise FormatError("is a .keras archive without model.weights.h5")
    member = members["model.weights.h5"]
    if not isinstance(member, StoredMember):
        return RawModel(path=path, format="keras3-zip", keras_version=version, config=config,
                        weights=_read_weights_member(io.BytesIO(member)))
    with ThreadPoolExecutor(1) as pool:  # read in place; its CRC is checked meanwhile, on another thread
        crc = pool.submit(member.crc_ok)
        try:
            weights = _read_weights_member(member.open())
        finally:
            crc_ok = crc.result()
    if not crc_ok:
        raise FormatError("archive member model.weights.h5 is corrupt (CRC mismatch); refusing")
    return RawModel(path=path, format="keras3-zip", keras_version=version, config=config, weights=weights)


def _read_weights_member(fh) -> dict:
    try:
        with fh, h5py.File(fh, "r") as f:
            return _read_keras3_weights(f)
    except FormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError):
        raise FormatError("model.weights.h5 inside the archive cannot be read: it is truncated or corrupt") from None
