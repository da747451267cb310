"""The Explain panel's y explains the output and dimension chosen in the window's output chooser (the session's),
not always the readout's first unit; checked against Keras' own outputs."""
from __future__ import annotations

import numpy as np
import pytest

from tests.gui.helpers import fixture_paths, open_at



def _node_id(window, name):
    return next(n.id for n in window.session.model.graph.nodes if n.qualname == name)


def test_y_follows_the_chosen_dimension_and_matches_keras(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("wild_act_softmax"), steps=10 ** 6)  # to the end
    s = window.session
    s.set_node(_node_id(window, "simple_rnn"))
    s.to_end()
    logits = []
    for dim in range(3):
        s.set_output(0, dim)
        panel.show_value(gate="y")
        ex = panel.explanation
        assert ex is not None and ex.gate == "y" and ex.unit == dim
        assert ex.bias + float(np.sum(ex.h_terms)) == pytest.approx(ex.pre, abs=1e-6)
        logits.append(ex.value)
    # the Softmax after the Dense makes Keras' output: the three explained logits give Keras' probabilities
    z = np.exp(np.array(logits) - max(logits))
    keras = np.asarray(s.data.keras_outputs[0])[s.sample]
    np.testing.assert_allclose(z / z.sum(), keras, atol=1e-5)


def test_y_of_another_output_says_which_output_the_dense_is(window, qtbot):
    panel = open_at(window, qtbot, *fixture_paths("br_multi_io"), steps=0)
    s = window.session
    s.set_node(_node_id(window, "gru"))
    s.to_end()
    s.set_output(0, 1)
    panel.show_value(gate="y")
    ex = panel.explanation
    assert ex is not None and ex.unit == 1
    keras = float(np.asarray(s.data.keras_outputs[0])[s.sample, 1])
    assert ex.value == pytest.approx(keras, abs=1e-5)
    s.set_output(1, 0)  # out2 is not read from gru's h by one Dense
    assert panel.explanation is None
    assert "is output 0" in panel.title.text()
