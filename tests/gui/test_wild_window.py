"""Real users' kinds of files in the window (issue 11, part A): a diverged model, a model saved before it was built,
Keras 3 Sequential models with masks, activation layers and tf.keras 2.15 .keras archives step as they replay."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.fixture_index import FIXTURES
from tests.gui.helpers import TOL, fixture_paths


def test_diverged_model_opens_marks_nan_gates_and_matches_keras(window):
    model, data = fixture_paths("wild_nan_lstm_gate", "k3keras")
    window.load_now(model, data)
    s = window.session
    assert s.problem is None and s.stepper is not None
    # the panel names the layer and the gate
    header = window.model_panel.header.text()
    assert "Non-finite weights" in header and "lstm_a (W_f)" in header
    tree = window.model_panel.tree
    rows = {tree.topLevelItem(i).text(0): tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())}
    assert "NaN/inf" in rows["lstm_a"] and "NaN/inf" not in rows["lstm_b"]
    # the weights view marks exactly the NaN cell of W_f (row 1, unit 2)
    window.weights.select("W", "f")
    m = window.weights.model
    bad = [(r, c) for r in range(m.rowCount()) for c in range(m.columnCount()) if m.is_nonfinite(r, c)]
    assert bad == [(1, 2)]
    assert m.data(m.index(1, 2), Qt.DisplayRole) == "NaN"
    assert m.data(m.index(0, 2), Qt.DisplayRole) != "NaN"
    # NaN where Keras has NaN counts as equal: the badge says the replay matches
    assert s.keras_difference() == 0.0 or s.keras_difference() <= TOL
    assert "✓" in window.badge.text()
    ref = np.load(data)["y_0"]
    np.testing.assert_array_equal(np.isnan(s.predictions[0]), np.isnan(ref))


def test_unbuilt_model_shows_architecture_without_weights(window):
    window.load_now(str(FIXTURES / "k3keras" / "wild_unbuilt.keras"))
    s = window.session
    assert s.stepper is None and "no weights" in s.problem
    header = window.model_panel.header.text()
    assert "No weights in the file" in header and "saved before it was built" in header
    tree = window.model_panel.tree
    classes = [tree.topLevelItem(i).text(1) for i in range(tree.topLevelItemCount())]
    assert classes[1:] == ["LSTM  (no weights)", "GRU  (no weights)", "Dense  (no weights)"]
    tree.topLevelItem(1).setSelected(True)
    assert "units: 4" in window.model_panel.details.text()


@pytest.mark.parametrize("name,fmt", [("wild_seq_mask_lstm_post", "k3keras"), ("wild_seq_embed_gru_pre", "k3h5"),
                                      ("wild_seq_mask_bidi", "k3keras"), ("wild_act_prelu", "k3keras"),
                                      ("wild_act_leaky_elu", "k2keras"), ("wild_seq_mask_gru_pre_win", "k2keras")])
def test_wild_fixtures_step_in_the_window(window, name, fmt):
    model, data = fixture_paths(name, fmt)
    window.load_now(model, data)
    s = window.session
    assert s.problem is None and s.stepper is not None
    assert s.keras_difference() <= TOL
    s.to_end()
    # stepping the window's sample to the end gives Keras' output for that sample
    ref = np.load(data)["y_0"]
    np.testing.assert_allclose(s.stepper.outputs()[0][0], ref[s.sample], atol=TOL)


def test_exact_reference_menu_runs_float64_and_badge_shows_both_figures(window, qtbot):
    model, data = fixture_paths("br_gru_after", "k3keras")
    window.load_now(model, data)
    s = window.session
    assert not s.exact and "float32 vs exact" not in window.badge.text()
    f32 = [p.copy() for p in s.predictions]
    action = window.findChild(type(window.exact_action), "exactAction")
    assert action is window.exact_action and action.isCheckable()
    action.trigger()  # the model again, in float64, in the background
    qtbot.waitUntil(lambda: not window.loading and not window.predicting and s.predictions32 is not None, timeout=20000)
    assert s.exact and s.model.dtype == np.float64 and s.predictions[0].dtype == np.float64
    np.testing.assert_array_equal(s.predictions32[0], f32[0])  # the float32 replay is what is compared with Keras
    ref = np.load(data)["y_0"]
    mine, keras = s.exact_differences()
    assert mine == pytest.approx(float(np.max(np.abs(f32[0] - s.predictions[0]))))
    assert keras == pytest.approx(float(np.max(np.abs(ref.astype(np.float64) - s.predictions[0]))))
    text = window.badge.text()
    assert text.startswith("✓") and "replay vs Keras" in text and f"float32 vs exact: {mine:.2e}" in text
    # stepping runs in float64 too
    s.to_end()
    rec = s.records()
    assert rec[s.layer.state_record_names[0]].dtype == np.float64
    action.trigger()  # back to float32
    qtbot.waitUntil(lambda: not window.loading and not s.exact, timeout=20000)
    assert s.model.dtype == np.float32 and "float32 vs exact" not in window.badge.text()


def test_exact_reference_judges_an_ill_conditioned_model_as_keras_would(window):
    path = FIXTURES / "k3keras" / "wild_illcond_gru.keras"
    data = FIXTURES / "k3keras" / "wild_illcond_gru.npz"
    window.load_now(str(path), str(data))
    assert window.badge.text().startswith("✗")  # 1e-5 is out of float32's reach on this model
    window.exact_action.setChecked(True)  # before opening: the next open is in float64
    window.load_now(str(path), str(data))
    s = window.session
    assert s.exact and s.as_close_to_exact_as_keras()
    mine, keras = s.exact_differences()
    assert keras > 1e-5 and mine > 1e-5
    text = window.badge.text()
    assert text.startswith("✓") and "float32 vs exact" in text and f"(Keras: {keras:.2e})" in text
