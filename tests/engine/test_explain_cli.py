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
