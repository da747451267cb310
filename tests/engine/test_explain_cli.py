"""``main.py explain``: the equation with numbers in text, every term in JSON (bias + Σ terms == pre), one-line
errors with exit code 2."""
from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine.explain import explain_value
from tests.engine.helpers import run_cli
from tests.fixture_index import FIXTURES, find


def _paths(name, fmt="k2h5"):
    e = find(name, fmt)
    return str(FIXTURES / e["model"]), str(FIXTURES / e["data"])


@pytest.mark.parametrize("name,layer,gate", [("sine", "lstm", "f"), ("br_gru_after", "gru_1", "hh"),
                                             ("br_gru_before", "gru_a", "hh"), ("br_simplernn", "rnn", "h"),
                                             ("br_bidi_concat", "bi_lstm/backward", "o"), ("sine", "lstm", "C"),
                                             ("sine", "lstm", "y")])
def test_json_lists_every_term(name, layer, gate, capsys):
    model, data = _paths(name)
    if name == "br_simplernn":
        layer = next(n.qualname for n in engine.load_model(model).graph.nodes if n.layer.class_name == "SimpleRNN")
    rc, out, err = run_cli(["explain", model, "--input", data, "--sample", "1", "--layer", layer, "--step", "2",
                        "--unit", "0", "--gate", gate, "--json"], capsys)
    assert rc == 0, err
    d = json.loads(out)
    assert {"layer", "step", "unit", "gate", "value", "pre", "activation", "terms", "bias"} <= set(d)
    assert d["layer"] == layer and d["step"] == 2 and d["unit"] == 0 and d["gate"] == gate and d["sample"] == 1
    total = d["bias"] + sum(t["value"] for t in d["terms"])
    assert total == pytest.approx(d["pre"], rel=1e-12, abs=1e-15)
    # the value the replay of sample 1 computes (alone: a batch's products may round differently, by ~1e-9)
    m = engine.load_model(model)
    xs = [np.load(data)[f"x_{i}"][1:2] for i in range(len(m.graph.inputs))]
    st = m.stepper(xs, record=True, readout=False)
    st.run()
    ex = explain_value(st, layer, 0, 2, 0, gate)
    assert d["value"] == ex.value
    assert len(d["terms"]) == len(ex.x_terms) + len(ex.h_terms) + len(ex.other)
    if gate not in ("C", "h", "y"):  # a gate lists every input feature and every recurrent unit
        assert len(d["terms"]) >= xs[0].shape[-1] + m.layer(layer.split("/")[0]).units // (2 if "/" in layer else 1)


def test_text_shows_equation_and_top_terms(capsys):
    model, data = _paths("sine")
    rc, out, err = run_cli(["explain", model, "--input", data, "--layer", "lstm", "--step", "3", "--unit", "2",
                        "--gate", "i", "--top", "4"], capsys)
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("i (input gate, LSTM)") and "step 3" in lines[0] and "unit 2" in lines[0]
    assert lines[1].strip().startswith("i_t[2] = sigmoid(")
    assert sum(1 for line in lines if "× h_(t-1)[" in line or "× x_t[" in line) == 4
    assert "rest (" in lines[-1]


def test_without_gate_every_gate_and_state(capsys):
    model, data = _paths("sine")
    rc, out, _ = run_cli(["explain", model, "--input", data, "--layer", "lstm", "--step", "0", "--unit", "0",
                      "--json"], capsys)
    assert rc == 0
    assert [d["gate"] for d in json.loads(out)] == ["i", "f", "c", "o", "C", "h"]


@pytest.mark.parametrize("extra,needle", [
    (["--layer", "nope"], "no recurrent layer 'nope'"),
    (["--layer", "lstm", "--gate", "z"], "has no gate 'z'"),
    (["--layer", "lstm", "--unit", "500"], "unit 500"),
    (["--layer", "lstm", "--step", "99"], "step 99"),
    (["--layer", "lstm", "--sample", "99"], "sample 99"),
])
def test_errors_one_line_exit_2(extra, needle, capsys):
    model, data = _paths("sine")
    argv = ["explain", model, "--input", data, "--step", "0", "--unit", "0"]
    # later options win in argparse: the case's own values replace the defaults above
    rc, out, err = run_cli(argv + extra, capsys)
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1


@pytest.mark.parametrize("name,layer,at,gate", [("cv_convlstm2d", "clstm_1", "0,5", "f"),
                                                ("cv_convlstm2d", "clstm_2", "2,1", "c"),
                                                ("cv_convlstm2d_cf", "clstm_cf", "5,0", "i"),
                                                ("cv_convlstm1d", "clstm1_a", "8", "o"),
                                                ("cv_convlstm3d", "clstm3", "0,4,3", "C"),
                                                ("cv_convlstm3d", "clstm3", "3,0,0", "h")])
def test_convlstm_json_at_a_position(name, layer, at, gate, capsys):
    """--at P names the position on the ConvLSTM's output grid; the JSON gains "at" and lists a term per input
    channel and per channel of h (bias + Σ terms == pre), and its value is the replay's at (P, channel)."""
    model, data = _paths(name, "k3keras")
    rc, out, err = run_cli(["explain", model, "--input", data, "--sample", "1", "--layer", layer, "--step", "1",
                            "--unit", "1", "--at", at, "--gate", gate, "--json"], capsys)
    assert rc == 0, err
    d = json.loads(out)
    pos = [int(v) for v in at.split(",")]
    assert d["at"] == pos and d["unit"] == 1 and d["gate"] == gate and d["kind"] == "ConvLSTM"
    assert d["bias"] + sum(t["value"] for t in d["terms"]) == pytest.approx(d["pre"], rel=1e-12, abs=1e-15)
    m = engine.load_model(model)
    L = m.layer(layer)
    if gate in ("C", "h"):
        assert [t["name"] for t in d["terms"]] == ["kept f⊙C_(t-1)", "written i⊙c̃"]
    else:
        assert [t["name"] for t in d["terms"]] == ([f"x[{k}]" for k in range(L.input_features)]
                                                   + [f"h[{k}]" for k in range(L.filters)])
    st = m.stepper([np.load(data)[f"x_{i}"][1:2] for i in range(len(m.graph.inputs))], record=True, readout=False)
    st.run()
    rec = st.runs[next(n.id for n in m.graph.nodes if n.qualname == layer)].records
    step_map = rec["c~" if gate == "c" else gate][0, 1]
    assert d["value"] == float(step_map[(1, *pos)] if L.channels_first else step_map[(*pos, 1)])


def test_convlstm_text_names_the_window(capsys):
    model, data = _paths("cv_convlstm2d", "k3keras")
    rc, out, err = run_cli(["explain", model, "--input", data, "--layer", "clstm_1", "--step", "2", "--unit", "1",
                            "--at", "0,5", "--gate", "i", "--top", "3"], capsys)
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("i (input gate, ConvLSTM)") and "at 0,5  channel 1" in lines[0]
    assert lines[1].strip().startswith("i_t[(0,5), 1] = sigmoid(")
    assert "x_t[-1..1, 4..6] (5 of 9 taps in the padding)" in lines[2]
    assert sum(1 for line in lines if "Σ 9 taps" in line) == 3 and "rest (" in lines[-1]
    rc, out, _ = run_cli(["explain", model, "--input", data, "--layer", "clstm_1", "--step", "0", "--unit", "0",
                          "--at", "1,1", "--json"], capsys)
    assert rc == 0 and [d["gate"] for d in json.loads(out)] == ["i", "f", "c", "o", "C", "h"]


@pytest.mark.parametrize("name,fmt,extra,needle", [
    ("cv_convlstm2d", "k3keras", ["--layer", "clstm_1"], "needs a position (y,x) on its 6×6 grid"),
    ("cv_convlstm3d", "k3keras", ["--layer", "clstm3"], "needs a position (z,y,x)"),
    ("cv_convlstm1d", "k3keras", ["--layer", "clstm1_a"], "needs a position (x)"),
    ("cv_convlstm2d", "k3keras", ["--layer", "clstm_1", "--at", "6,0"], "position 6,0 is outside the 6×6 grid"),
    ("cv_convlstm2d", "k3keras", ["--layer", "clstm_1", "--at=-1,0"], "outside the 6×6 grid"),
    ("cv_convlstm2d", "k3keras", ["--layer", "clstm_1", "--at", "2"], "has 1 coordinate"),
    ("cv_convlstm2d", "k3keras", ["--layer", "clstm_1", "--at", "a,b"], "is not a position"),
    ("cv_convlstm2d", "k3keras", ["--layer", "clstm_1", "--at", "1,1", "--unit", "3"], "channel 3 is outside"),
    ("cv_convlstm2d", "k3keras", ["--layer", "clstm_1", "--at", "1,1", "--gate", "y"], "has no gate 'y'"),
    ("sine", "k2h5", ["--layer", "lstm", "--at", "1,1"], "has no spatial positions"),
    ("sine", "k2h5", ["--layer", "lstm", "--at", "1,1", "--gate", "y"], "has no spatial positions"),
])
def test_convlstm_position_errors_one_line(name, fmt, extra, needle, capsys):
    model, data = _paths(name, fmt)
    rc, out, err = run_cli(["explain", model, "--input", data, "--step", "0", "--unit", "0", "--gate", "i"] + extra,
                           capsys)
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1
