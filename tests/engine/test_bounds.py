"""Every size a file or an input controls is checked before it is allocated; graph building is linear; the config's
size and depth are capped. Each test builds its hostile file with tests/engine/crafted.py."""
from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pytest

import engine
from engine.errors import ModelFileError
from engine.graph import build_graph
from engine.inputs import load_dataset, load_inputs
from engine.limits import Limits, parse_size

from . import crafted


def load_error(path, **kw) -> str:
    with pytest.raises(ModelFileError) as ei:
        engine.load_model(path, **kw)
    msg = str(ei.value)
    assert msg.startswith(str(path) + ": ") and "\n" not in msg, msg
    return msg


# --- shapes implied by the config ---------------------------------------------------------------------------------
def test_amplifying_config_refused_at_load(tmp_path):
    # 3 → 3,000 → 3,000,000 → 3e9 floats per sample: 12 GB for one sample, refused before any replay
    p = crafted.tiny_h5(tmp_path / "amp.h5", config=crafted.repeat_config(1000, 1000, 1000), weights=crafted.lstm_only_weights())
    msg = load_error(p)
    assert "'rep2'" in msg and "(None, 1000, 3000000)" in msg and "budget" in msg


def test_repeat_vector_million_refused_for_the_input_batch(tmp_path):
    # RepeatVector(1,000,000) over LSTM(3): 12 MB per sample, so the budget decides with the input's batch
    p = crafted.tiny_h5(tmp_path / "rv.h5", config=crafted.repeat_config(1_000_000), weights=crafted.lstm_only_weights())
    m = engine.load_model(p, limits=Limits(max_activation_bytes=100 * 1024**2))
    x = np.zeros((16, 4, crafted.FEATURES), "f4")  # 16 × 12 MB = 192 MB > 100 MB
    with pytest.raises(engine.InputShapeError, match=r"'rep0' would output shape \(16, 1000000, 3\)"):
        m.predict(x)
    with pytest.raises(engine.InputShapeError, match="budget"):
        m.stepper(x)
    assert m.predict(x[:2]).shape == (2, 1_000_000, 3)  # 24 MB: within the budget, and it runs


def test_concatenate_amplification_refused(tmp_path):
    # one tensor concatenated 2,000 times along time, twice over: 4e6 × (4 × 3) floats per sample
    layers = [{"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
               "config": {"name": "in", "batch_input_shape": [None, 4, 3], "dtype": "float32"}},
              {"class_name": "Concatenate", "name": "c1", "config": {"name": "c1", "axis": 1},
               "inbound_nodes": [[["in", 0, 0, {}]] * 2000]},
              {"class_name": "Concatenate", "name": "c2", "config": {"name": "c2", "axis": 1},
               "inbound_nodes": [[["c1", 0, 0, {}]] * 2000]}]
    cfg = {"class_name": "Functional", "config": {"name": "m", "layers": layers, "input_layers": [["in", 0, 0]],
                                                  "output_layers": [["c2", 0, 0]]}}
    p = crafted.weightless_h5(tmp_path / "cat.h5", cfg)
    m = engine.load_model(p, limits=Limits(max_activation_bytes=256 * 1024**2))  # 183 MB per sample
    with pytest.raises(engine.InputShapeError, match=r"'c2' would output shape \(2, 16000000, 3\)"):
        m.predict(np.zeros((2, 4, 3), "f4"))
    assert "183.1 MB for a single sample" in load_error(p, limits=Limits(max_activation_bytes=64 * 1024**2))


def test_trace_counts_the_recorded_gates(tmp_path):
    m = engine.load_model(crafted.tiny_h5(tmp_path / "m.h5"), limits=Limits(max_activation_bytes=2 * 1024**2))
    x = np.zeros((8000, 4, crafted.FEATURES), "f4")  # predict keeps ~0.4 MB; a trace 7 gate/state arrays more
    m.predict(x)
    with pytest.raises(engine.InputShapeError, match="replaying this input would keep"):
        m.trace(x)


# --- graph building and config caps -------------------------------------------------------------------------------
def test_reverse_ordered_config_builds_linearly():
    # Listed last-first, every layer waits for the one after it. The old builder re-scanned the pending list once per
    # layer (quadratic: 12,000 layers took ~80 s, 40,000 ~15 min); now 12,000 take ~0.6 s and 40,000 1.8–2.6 s
    # (bench/bench_graph.py). The bound is 50x that, so this guards the complexity, not the speed.
    cfg = crafted.chain_config(12_000, reverse=True)
    t0 = time.perf_counter()
    g = build_graph(cfg, {}, "2.21.0")
    assert time.perf_counter() - t0 < 20
    assert len(g.nodes) == 12_001
    assert [n.qualname for n in g.nodes[:3]] == ["in", "a0", "a1"]  # topological order whatever the listing order


def test_graph_order_kept_for_forward_configs():
    g1 = build_graph(crafted.chain_config(50), {}, "2.21.0")
    g2 = build_graph(crafted.chain_config(50, reverse=True), {}, "2.21.0")
    assert [n.qualname for n in g1.nodes] == [n.qualname for n in g2.nodes]


def test_broken_graph_still_named(tmp_path):
    cfg = crafted.chain_config(3)
    cfg["config"]["layers"][2]["inbound_nodes"] = [[["nowhere", 0, 0, {}]]]
    msg = load_error(crafted.weightless_h5(tmp_path / "b.h5", cfg))
    assert "never produced" in msg and "'a1'" in msg


def test_too_many_layers_refused(tmp_path):
    p = crafted.weightless_h5(tmp_path / "many.h5", crafted.chain_config(200))
    assert "more than 100 layer calls" in load_error(p, limits=Limits(max_layers=100))


def test_json_depth_bomb_refused_cleanly(tmp_path):
    # deep enough to parse, far deeper than any Keras config: refused by the depth cap, not a RecursionError
    cfg = crafted.tiny_config()
    deep: list = []
    for _ in range(500):
        deep = [deep]
    cfg["config"]["layers"][0]["config"]["extra"] = deep
    msg = load_error(crafted.tiny_h5(tmp_path / "deep.h5", config=cfg))
    assert "nested more than 64 levels deep" in msg


def test_nested_models_depth_refused(tmp_path):
    inner = crafted.tiny_config()
    for _ in range(300):
        inner = {"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "InputLayer", "config": {"name": "i", "batch_input_shape": [None, 4, 2]}}, inner]}}
    msg = load_error(crafted.tiny_h5(tmp_path / "nest.h5", config=inner))
    assert "nested" in msg


# --- decoded inputs ---------------------------------------------------------------------------------------------
def test_npy_header_declaring_1e12_elements_names_the_input(tmp_path):
    p = crafted.npy_with_header(tmp_path / "huge.npy", (10**12,))
    with pytest.raises(ModelFileError) as ei:
        load_inputs(p)
    assert str(ei.value).startswith(f"{p}: the array declares shape (1000000000000,)") and "input budget" in str(ei.value)


def test_npy_header_longer_than_the_file(tmp_path):
    p = crafted.npy_with_header(tmp_path / "short.npy", (1000,))
    with pytest.raises(ModelFileError, match="truncated"):
        load_inputs(p)


def test_npz_bomb_refused_before_decompressing(tmp_path, monkeypatch):
    # 200 MB of zeros deflated to ~200 KB: refused from the member's declared size and ratio, nothing inflated
    p = crafted.npz_bomb(tmp_path / "bomb.npz")
    assert p.stat().st_size < 400_000
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("np.load reached"))
    for fn in (load_inputs, load_dataset):
        with pytest.raises(ModelFileError, match="would expand .* times"):
            fn(p)


def test_npz_member_declared_over_budget(tmp_path):
    p = tmp_path / "big.npz"
    np.savez(p, x_0=np.zeros((1000, 10, 2), "f4"))  # 80 KB
    small = Limits(max_input_bytes=50_000)
    with pytest.raises(ModelFileError, match="input budget"):
        load_inputs(p, small)
    with pytest.raises(ModelFileError, match="input budget"):
        load_dataset(p, small)
    assert load_inputs(p)[0].shape == (1000, 10, 2)


def test_npz_member_header_over_budget(tmp_path):
    p = tmp_path / "hdr.npz"
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x_0.npy", buf.getvalue() + bytes(64))
    with pytest.raises(ModelFileError, match=r"declares shape \(1000000, 1000000\) of float64"):
        load_inputs(p)


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_empty_csv_one_clean_line(tmp_path, text, recwarn):
    p = tmp_path / "empty.csv"
    p.write_text(text)
    with pytest.raises(ModelFileError, match="the CSV file holds no rows"):
        load_inputs(p)
    assert not [w for w in recwarn if "loadtxt" in str(w.message)]


def test_parse_size():
    assert parse_size("12G") == 12 * 1024**3
    assert parse_size("512M") == 512 * 1024**2
    assert parse_size("1.5GB") == 3 * 1024**3 // 2
    assert parse_size("800000000") == 800_000_000
    for bad in ("", "x", "0", "-1G", "nanG"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_json_too_deep_for_the_parser_is_one_line(tmp_path):
    text = '{"a": ' + "[" * 200_000 + "]" * 200_000 + "}"
    msg = load_error(crafted.tiny_h5(tmp_path / "bomb.h5", model_config_text=text))
    assert "model_config" in msg and "RecursionError" in msg
