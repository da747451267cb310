"""Export as code (engine/codegen.py, ``main.py export-code``): the written NumPy script reproduces Keras' own
predictions (≤ 1e-5) on every fixture, runs as ``python DIR/<name>.py X Y``, imports nothing but NumPy (and the
standard library), and nothing a model file says can become code."""
from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.codegen import CodegenError, generate, write_code
from lstm_inspector import cli as main
from tests.engine.helpers import TOL, max_err
from tests.fixture_index import FIXTURES, case_id, cases, find

from . import crafted

def import_script(path, tag):
    spec = importlib.util.spec_from_file_location(f"exported_{tag}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("e", cases(), ids=case_id)
def test_exported_code_matches_keras(e, tmp_path):
    model = engine.load_model(FIXTURES / e["model"])
    data = np.load(FIXTURES / e["data"], allow_pickle=False)
    xs = [data[f"x_{i}"] for i in range(len(model.graph.inputs))]
    if model.unsupported:  # the engine itself refuses the model: nothing to write out
        pytest.skip(f"refused by the engine: {model.unsupported[0].reason}")
    py, npz = write_code(model, tmp_path, e["name"])  # a CodegenError here is a failure
    assert os.path.basename(py) == f"{e['name']}.py" and os.path.basename(npz) == f"{e['name']}.npz"
    y = import_script(py, f"{e['format']}_{e['name']}").predict(xs if len(xs) > 1 else xs[0])
    ys = y if isinstance(y, list) else [y]
    assert len(ys) == len([k for k in data.files if k.startswith("y_")])
    for i, yi in enumerate(ys):
        ref = data[f"y_{i}"]
        assert yi.shape == ref.shape and yi.dtype == np.float32, i
        err = max_err(yi, ref)  # a diverged model's NaN/inf must sit where Keras has them
        assert err <= TOL, f"output {i}: max abs error {err:.3g}"


def test_every_replayable_fixture_is_written_out():
    """The gap cannot reopen silently: every fixture the engine replays is written out as code (none refused)."""
    refused = []
    for e in cases():
        model = engine.load_model(FIXTURES / e["model"])
        if model.unsupported:
            continue
        try:
            generate(model)
        except CodegenError as err:
            refused.append(f"{case_id(e)}: {err}")
    assert refused == [], "\n".join(refused)


def test_script_imports_only_numpy_and_the_standard_library(tmp_path):
    for name in ("br_masking", "br_multi_io", "act_gelu", "br_sequential_mix", "br_norms", "cv_convlstm2d_options",
                 "cv_lrcn_bn", "cg_volumes_cf"):
        src, _ = generate(engine.load_model(FIXTURES / find(name, "k3keras")["model"]))
        mods = set()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                mods.add(node.module.split(".")[0])
        assert mods <= {"math", "os", "sys", "numpy"}, mods


@pytest.mark.parametrize("name,multi", [("sine", False), ("br_multi_io", True), ("cv_convlstm2d_enc_dec", False)])
def test_script_runs_from_the_command_line(name, multi, tmp_path):
    e = find(name, "k2h5")
    data = np.load(FIXTURES / e["data"], allow_pickle=False)
    out = tmp_path / "code"
    assert main.main(["export-code", str(FIXTURES / e["model"]), "--output", str(out), "--name", "net"]) == 0
    xk = sorted((k for k in data.files if k.startswith("x_")), key=lambda k: int(k[2:]))
    if len(xk) == 1:
        xin = tmp_path / "x.npy"
        np.save(xin, data["x_0"])
    else:
        xin = tmp_path / "x.npz"
        np.savez(xin, **{k: data[k] for k in xk})
    yout = tmp_path / ("y.npz" if multi else "y.npy")
    # run with a clean environment and from elsewhere: the script finds its weights next to itself
    r = subprocess.run([sys.executable, str(out / "net.py"), str(xin), str(yout)], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120, env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": ""})
    assert r.returncode == 0, r.stderr
    if multi:
        with np.load(yout) as y:
            ys = [y[f"output_{i}"] for i in range(len(y.files))]
    else:
        ys = [np.load(yout)]
    for i, yi in enumerate(ys):
        assert float(np.max(np.abs(yi - data[f"y_{i}"]))) <= TOL


def test_names_from_the_file_never_become_code(tmp_path):
    evil = 'x"""\nimport os\nopen("PWNED", "w")\n#'
    cfg = crafted.tiny_config()
    cfg["config"]["name"] = evil
    cfg["config"]["layers"][0]["config"]["name"] = "l\nopen('PWNED2', 'w')\n"
    w = crafted.tiny_weights()
    w = {"l\nopen('PWNED2', 'w')\n": w["lstm"], "dense": w["dense"]}
    p = crafted.tiny_h5(tmp_path / "evil.h5", config=cfg, weights=w)
    model = engine.load_model(p)
    py, _ = write_code(model, tmp_path / "out", "evil")
    src = open(py, encoding="utf-8").read()
    assert "\nopen(" not in src and "\nimport os\nopen" not in src
    x = np.random.RandomState(0).randn(2, 4, 2).astype("f4")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        y = import_script(py, "evil").predict(x)
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()
    np.testing.assert_allclose(y, model.predict(x), atol=1e-6)


def test_names_from_the_file_never_become_code_conv(tmp_path):
    """The same for the conv kinds: a ConvLSTM2D, TimeDistributed(Conv2D) and TimeDistributed(ZeroPadding2D), their
    names (the wrapped layers' too) crafted to close the comment or the string they land in."""
    names = [f'c{k}"""\nopen("PWNED{k}", "w")\n#\'\nopen(\'PWNED{k}\', \'w\')\n' for k in range(6)]
    rng = np.random.RandomState(1)

    def a(*shape):
        return (rng.randn(*shape) * 0.5).astype("f4")

    layers = [
        {"class_name": "ConvLSTM2D", "config": {"name": names[0], "filters": 2, "kernel_size": [3, 3], "padding": "same",
                                               "return_sequences": True, "batch_input_shape": [None, 3, 5, 5, 2]}},
        {"class_name": "TimeDistributed", "config": {"name": names[1], "layer": {
            "class_name": "Conv2D", "config": {"name": names[2], "filters": 1, "kernel_size": [1, 1]}}}},
        {"class_name": "TimeDistributed", "config": {"name": names[3], "layer": {
            "class_name": "ZeroPadding2D", "config": {"name": names[4], "padding": 1}}}},
        {"class_name": "Flatten", "config": {"name": names[5]}},
    ]
    cfg = {"class_name": "Sequential", "config": {"name": names[5], "layers": layers}}
    w = {names[0]: [("kernel:0", a(3, 3, 2, 8)), ("recurrent_kernel:0", a(3, 3, 2, 8)), ("bias:0", a(8))],
         names[1]: [("kernel:0", a(1, 1, 2, 1)), ("bias:0", a(1))]}
    model = engine.load_model(crafted.tiny_h5(tmp_path / "evil.h5", config=cfg, weights=w))
    kinds = [n.layer.class_name for n in model.graph.nodes]
    assert "ConvLSTM2D" in kinds and kinds.count("TimeDistributed") == 2, kinds
    py, _ = write_code(model, tmp_path / "out", "evil")
    src = open(py, encoding="utf-8").read()
    assert "\nopen(" not in src and "PWNED0" in src  # the names are there, only as strings and comments
    x = np.random.RandomState(0).randn(2, 3, 5, 5, 2).astype("f4")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        y = import_script(py, "evil_conv").predict(x)
    finally:
        os.chdir(cwd)
    assert not any(p.name.startswith("PWNED") for p in tmp_path.iterdir())
    np.testing.assert_allclose(y, model.predict(x), atol=1e-6)


def test_float_token_ids_are_cast(tmp_path):
    """An Embedding whose model input is float32 (as in real files: Keras casts the ids): the script casts too."""
    emb = {"class_name": "Embedding", "config": {"name": "emb", "input_dim": 6, "output_dim": crafted.FEATURES,
                                                "batch_input_shape": [None, 4], "dtype": "float32"}}
    cfg = crafted.tiny_config()
    del cfg["config"]["layers"][0]["config"]["batch_input_shape"]
    cfg = crafted.with_layer(cfg, 0, emb)
    w = {"emb": [("emb/embeddings:0", np.random.RandomState(2).randn(6, crafted.FEATURES).astype("f4"))],
         **crafted.tiny_weights()}
    model = engine.load_model(crafted.tiny_h5(tmp_path / "emb.h5", config=cfg, weights=w))
    x = np.array([[1, 2, 0, 5], [3, 3, 4, 0]], np.float32)
    py, _ = write_code(model, tmp_path / "out", "emb")
    np.testing.assert_allclose(import_script(py, "emb_float").predict(x), model.predict(x), atol=1e-6)


def test_unsupported_layer_is_refused_by_name(tmp_path, monkeypatch, capsys):
    from engine.layers.base import Layer

    class Odd(Layer):
        def __init__(self):
            self.name, self.class_name, self.config = "odd", "Cropping1D", {}

    model = engine.load_model(FIXTURES / find("sine", "k2h5")["model"])
    node = next(n for n in model.graph.nodes if n.layer.class_name == "Activation")
    monkeypatch.setattr(node, "layer", Odd())
    with pytest.raises(CodegenError, match=r"layer 'activation' \(Cropping1D\)"):
        generate(model)
    assert not (tmp_path / "out").exists()


def test_cli_errors_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_text("no model")
    assert main.main(["export-code", str(bad), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
