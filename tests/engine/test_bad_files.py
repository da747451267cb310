"""Every kind of bad input gives one clear error naming the file and the reason, through the engine and the CLI."""
from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

import engine
from engine.errors import ModelFileError

from . import crafted


def load_error(path) -> str:
    with pytest.raises(ModelFileError) as ei:
        engine.load_model(path)
    msg = str(ei.value)
    assert msg.startswith(str(path) + ": "), msg
    assert "\n" not in msg
    return msg


def test_valid_crafted_file_loads(tmp_path):
    # The crafted baseline must itself be fine, or every test below would pass for the wrong reason.
    m = engine.load_model(crafted.tiny_h5(tmp_path / "ok.h5"))
    y = m.predict(np.zeros((2, 4, crafted.FEATURES), "f4"))
    assert y.shape == (2, crafted.OUT)
    mz = engine.load_model(crafted.keras_zip(tmp_path / "ok.keras", crafted.tiny_keras_members()))
    np.testing.assert_array_equal(mz.predict(np.ones((2, 4, 2), "f4")), m.predict(np.ones((2, 4, 2), "f4")))


def test_missing_file(tmp_path):
    assert "no such file" in load_error(tmp_path / "nope.h5")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.h5"
    p.write_bytes(b"")
    assert "is empty" in load_error(p)


def test_text_file(tmp_path):
    p = tmp_path / "notes.h5"
    p.write_text("hello, I am not a model\n")
    assert "neither an HDF5" in load_error(p)


def test_truncated_h5(tmp_path):
    good = crafted.tiny_h5(tmp_path / "good.h5").read_bytes()
    p = tmp_path / "cut.h5"
    p.write_bytes(good[: len(good) // 3])
    msg = load_error(p)
    assert "cannot be read as HDF5: the file is truncated" in msg


def test_hdf5_not_keras(tmp_path):
    p = tmp_path / "data.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(10)
    assert "not a Keras model" in load_error(p)


def test_weights_only_file(tmp_path):
    p = tmp_path / "w.h5"
    with h5py.File(p, "w") as f:
        f.attrs["layer_names"] = np.array([b"lstm"])
        f.create_group("lstm").attrs["weight_names"] = np.array([], dtype="S")
    assert "weights only" in load_error(p)


def test_broken_json(tmp_path):
    p = crafted.tiny_h5(tmp_path / "json.h5", model_config_text='{"class_name": "Sequential", "config": {')
    assert "model_config is not valid JSON" in load_error(p)


def test_missing_weights(tmp_path):
    w = crafted.tiny_weights()
    del w["dense"]
    assert "Dense" in load_error(crafted.tiny_h5(tmp_path / "m.h5", weights=w))


def test_wrong_shaped_weights(tmp_path):
    w = crafted.tiny_weights()
    name, k = w["lstm"][1]
    w["lstm"][1] = (name, k[:, :-1])
    msg = load_error(crafted.tiny_h5(tmp_path / "m.h5", weights=w))
    assert "'lstm'" in msg and "shape" in msg


@pytest.mark.parametrize("units", [10**12, 0, -3, "many", True])
def test_absurd_units(tmp_path, units):
    cfg = crafted.tiny_config()
    cfg["config"]["layers"][0]["config"]["units"] = units
    assert "units=" in load_error(crafted.tiny_h5(tmp_path / "m.h5", config=cfg))


def test_absurd_input_shape(tmp_path):
    cfg = crafted.tiny_config()
    cfg["config"]["layers"][0]["config"]["batch_input_shape"] = [None, 10**15, 2]
    assert "impossible dimension" in load_error(crafted.tiny_h5(tmp_path / "m.h5", config=cfg))


def test_unknown_layer_named(tmp_path):
    cfg = crafted.with_layer(crafted.tiny_config(), 1, {"class_name": "FancyAttention", "config": {"name": "fancy"}})
    msg = load_error(crafted.tiny_h5(tmp_path / "m.h5", config=cfg))
    assert "'FancyAttention'" in msg and "'fancy'" in msg


def test_unknown_layer_kept_as_placeholder_when_not_strict(tmp_path):
    cfg = crafted.with_layer(crafted.tiny_config(), 1, {"class_name": "FancyAttention", "config": {"name": "fancy"}})
    m = engine.load_model(crafted.tiny_h5(tmp_path / "m.h5", config=cfg), strict=False)
    assert [l.class_name for l in m.unsupported] == ["FancyAttention"]
    assert m.layer("lstm").gate("W", "i").shape == (crafted.FEATURES, crafted.UNITS)
    with pytest.raises(engine.UnsupportedLayerError, match="FancyAttention"):
        m.predict(np.zeros((1, 4, 2), "f4"))


def test_lambda_refused_by_name(tmp_path):
    # What Keras 2 writes for Lambda: marshalled bytecode, base64 — it must never be decoded, let alone run.
    lam = {"class_name": "Lambda", "config": {"name": "double", "function": ["4wEAAAAAAAAA", None, None],
                                              "function_type": "lambda", "module": "__main__"}}
    cfg = crafted.with_layer(crafted.tiny_config(), 1, lam)
    msg = load_error(crafted.tiny_h5(tmp_path / "m.h5", config=cfg))
    assert "Lambda" in msg and "never executes code" in msg


def test_custom_activation_refused(tmp_path):
    cfg = crafted.tiny_config()
    cfg["config"]["layers"][1]["config"]["activation"] = {"module": "my_pkg", "class_name": "my_act",
                                                          "config": {}, "registered_name": "Custom>my_act"}
    msg = load_error(crafted.tiny_h5(tmp_path / "m.h5", config=cfg))
    assert "custom" in msg


def test_not_a_model_class(tmp_path):
    p = crafted.tiny_h5(tmp_path / "m.h5", model_config_text=json.dumps({"class_name": "Dense", "config": {}}))
    assert "not a Keras model" in load_error(p)


def test_broken_graph(tmp_path):
    cfg = {"class_name": "Functional", "config": {"name": "f", "layers": [
        {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [None, 4, 2], "name": "in"}, "inbound_nodes": []},
        {"class_name": "Dense", "name": "dense", "config": {"name": "dense", "units": 1}, "inbound_nodes": [[["ghost", 0, 0, {}]]]},
    ], "input_layers": [["in", 0, 0]], "output_layers": [["dense", 0, 0]]}}
    w = {"dense": crafted.tiny_weights()["dense"]}
    assert "never produced" in load_error(crafted.tiny_h5(tmp_path / "m.h5", config=cfg, weights=w))


def test_deeply_nested_json(tmp_path):
    text = '{"class_name": "Sequential", "config": ' + "[" * 100000 + "]" * 100000 + "}"
    msg = load_error(crafted.tiny_h5(tmp_path / "m.h5", model_config_text=text))
    assert "JSON" in msg or "nested" in msg


# --- .keras archives ------------------------------------------------------------------------------------------

def test_keras_not_a_zip(tmp_path):
    p = tmp_path / "m.keras"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "not a valid zip" in load_error(p)


def test_keras_zip_without_config(tmp_path):
    p = crafted.keras_zip(tmp_path / "m.keras", {"readme.txt": b"hi"})
    assert "no config.json" in load_error(p)


def test_keras_zip_member_outside_archive(tmp_path):
    members = crafted.tiny_keras_members()
    members["../../etc/evil.h5"] = b"x"
    assert "outside the archive" in load_error(crafted.keras_zip(tmp_path / "m.keras", members))


def test_keras_zip_bomb(tmp_path):
    members = crafted.tiny_keras_members()
    members["model.weights.h5"] = bytes(40 * 1024**2)  # 40 MB of zeros deflates to ~40 KB
    msg = load_error(crafted.keras_zip(tmp_path / "m.keras", members, zipfile.ZIP_DEFLATED))
    assert "zip bomb" in msg


def test_keras_zip_declared_size_over_limit(tmp_path):
    from engine.limits import Limits

    p = crafted.keras_zip(tmp_path / "m.keras", crafted.tiny_keras_members())
    with pytest.raises(ModelFileError, match="config.json declares"):
        engine.load_model(p, limits=Limits(max_config_bytes=10))


def test_keras_zip_corrupt_weights(tmp_path):
    members = crafted.tiny_keras_members()
    members["model.weights.h5"] = members["model.weights.h5"][:200]
    assert "model.weights.h5" in load_error(crafted.keras_zip(tmp_path / "m.keras", members))


def _weights_data_range(path):
    """Where the stored model.weights.h5 member's bytes lie in the archive."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("model.weights.h5")
    raw = path.read_bytes()
    head = raw[info.header_offset:info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
    return start, start + info.file_size


def test_keras_zip_weights_read_in_place_same_as_deflated(tmp_path):
    x = np.random.RandomState(0).randn(3, 4, crafted.FEATURES).astype("f4")
    stored = engine.load_model(crafted.keras_zip(tmp_path / "s.keras", crafted.tiny_keras_members()))
    deflated = engine.load_model(crafted.keras_zip(tmp_path / "d.keras", crafted.tiny_keras_members(), zipfile.ZIP_DEFLATED))
    np.testing.assert_array_equal(stored.predict(x), deflated.predict(x))


def test_keras_zip_weights_flipped_byte_refused(tmp_path):
    p = crafted.keras_zip(tmp_path / "m.keras", crafted.tiny_keras_members())
    start, end = _weights_data_range(p)
    raw = bytearray(p.read_bytes())
    raw[end - 10] ^= 0xFF  # inside the last array's data: HDF5 itself would not notice
    p.write_bytes(bytes(raw))
    assert "CRC mismatch" in load_error(p)


def test_keras_zip_weights_member_past_end_refused(tmp_path):
    p = crafted.keras_zip(tmp_path / "m.keras", crafted.tiny_keras_members())
    raw = p.read_bytes()
    # the central directory entry of model.weights.h5: declare it a megabyte bigger (both sizes agree, as stored)
    cd = next(i for i in range(len(raw)) if raw.startswith(b"PK\x01\x02", i) and raw[i + 46:i + 62] == b"model.weights.h5")
    size = int.from_bytes(raw[cd + 24:cd + 28], "little") + 10**6
    p.write_bytes(raw[:cd + 20] + size.to_bytes(4, "little") * 2 + raw[cd + 28:])
    assert "'model.weights.h5' runs past the end" in load_error(p)


def test_nothing_written_next_to_model(tmp_path):
    p = crafted.keras_zip(tmp_path / "m.keras", crafted.tiny_keras_members())
    before = sorted(x.name for x in tmp_path.iterdir())
    engine.load_model(p).predict(np.zeros((1, 4, 2), "f4"))
    assert sorted(x.name for x in tmp_path.iterdir()) == before


# --- inputs ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,needle", [((2, 4, 3), "expects (None, 4, 2)"), ((2, 5, 2), "expects (None, 4, 2)"),
                                          ((4, 2), "expects"), ((0, 4, 2), "empty")])
def test_input_wrong_shape(tmp_path, shape, needle):
    m = engine.load_model(crafted.tiny_h5(tmp_path / "m.h5"))
    with pytest.raises(engine.InputShapeError, match="input 'lstm_input'|input 'input'") as ei:
        m.predict(np.zeros(shape, "f4"))
    assert needle in str(ei.value)


def test_input_nan(tmp_path):
    m = engine.load_model(crafted.tiny_h5(tmp_path / "m.h5"))
    x = np.zeros((1, 4, 2), "f4")
    x[0, 1, 1] = np.inf
    with pytest.raises(engine.InputShapeError, match="NaN or infinity"):
        m.predict(x)


def test_split_name_attributes_and_list_config(tmp_path):
    """Keras splits long attribute lists into layer_names0, layer_names1 …; very old Sequential configs are a bare
    list of layers. Both read like the plain form, giving the same predictions."""
    ref_path = crafted.tiny_h5(tmp_path / "ref.h5")
    x = np.random.RandomState(2).randn(2, 4, 2).astype("f4")
    ref = engine.load_model(ref_path).predict(x)
    p = crafted.tiny_h5(tmp_path / "split.h5", model_config_text=json.dumps(
        {"class_name": "Sequential", "config": crafted.tiny_config()["config"]["layers"]}))
    with h5py.File(p, "r+") as f:
        g = f["model_weights"]
        names = g.attrs["layer_names"]
        del g.attrs["layer_names"]
        g.attrs["layer_names0"] = names[:1]
        g.attrs["layer_names1"] = names[1:]
        lg = g["lstm"]
        wn = lg.attrs["weight_names"]
        del lg.attrs["weight_names"]
        lg.attrs["weight_names0"] = wn[:2]
        lg.attrs["weight_names1"] = wn[2:]
    np.testing.assert_array_equal(engine.load_model(p).predict(x), ref)
