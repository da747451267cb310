"""engine.explain.readout_output: which model output the Dense reading a layer's h is (through activation layers)."""
from __future__ import annotations

import engine
from engine.explain import readout_dense, readout_output
from tests.fixture_index import FIXTURES, find


def _readout(name, layer, fmt="k3keras"):
    m = engine.load_model(str(FIXTURES / find(name, fmt)["model"]))
    node = next(n for n in m.graph.nodes if n.qualname == layer)
    dense = readout_dense(m.graph, node)
    return dense.layer.name, readout_output(m.graph, dense)


def test_through_a_softmax_layer():
    assert _readout("wild_act_softmax", "simple_rnn") == ("dense_7", 0)


def test_first_head_of_two():
    assert _readout("br_multi_io", "gru") == ("out1", 0)
