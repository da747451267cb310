"""ConvLSTM and image models in the window: the Maps tab steps through every ConvLSTM family and reads back, per step
and per filter, the engine's own gate and state maps (and Keras' per-step h); kernels show per (tap, channel) in the
weights table; an image-sequence model (LRCN) opens, matches Keras, and a what-if edit changes one pixel."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.conv_maps import MAP_NAMES
from tests.gui.helpers import TOL, fixture_paths


def open_fixture(window, name, fmt="k3keras"):
    model, data = fixture_paths(name, fmt)
    window.load_now(model, data)
    return np.load(data)


def expected_map(layer, step_map, k, depth=0):
    """Channel k of one step's map, indexed here by hand from the layer's layout (not through the engine's helper)."""
    m = step_map[k] if layer.channels_first else step_map[..., k]
    return m[depth] if layer.rank == 3 else m


@pytest.mark.parametrize("name, layer_name", [("cv_convlstm2d", "clstm_1"), ("cv_convlstm2d_cf", "clstm_cf"),
                                              ("cv_convlstm3d", "clstm3"), ("cv_convlstm1d", "clstm1_a")])
def test_maps_step_through_convlstm(window, name, layer_name):
    data = open_fixture(window, name)
    s = window.session
    node = next(n for n in s.model.graph.nodes if n.qualname == layer_name)
    s.set_node(node.id)
    layer = s.layer
    maps = window.conv_maps
    assert window.tabs.isTabVisible(window.maps_tab) and window.tabs.currentWidget() is maps
    assert maps.channel_box.maximum() == layer.filters - 1
    assert "Maps tab" in window.plots.message.toPlainText()
    assert not window.plots.c_curves and not window.plots.gate_curves  # the unit plots stay empty, no error
    hseq = data[f"hseq__{layer_name}"][0]  # Keras' h after each step, sample 0
    T = hseq.shape[0]
    checked = 0
    for t in range(1, T + 1):
        s.step()
        assert s.layer_steps_done() == t
        rec = s.records()
        for k in range(layer.filters):
            maps.channel_box.setValue(k)
            for depth in range(maps.depth_box.maximum() + 1):
                maps.depth_box.setValue(depth)
                for m in MAP_NAMES:
                    shown = maps.images[m].image
                    if layer.rank == 1:  # step × position, the steps done so far
                        want = np.stack([expected_map(layer, rec[m][j], k) for j in range(t)])
                    else:
                        want = expected_map(layer, rec[m][t - 1], k, depth)
                    np.testing.assert_array_equal(shown, want, err_msg=f"{m} t={t} k={k}")
                    checked += 1
                keras_h = (np.stack([expected_map(layer, hseq[j], k) for j in range(t)]) if layer.rank == 1
                           else expected_map(layer, hseq[t - 1], k, depth))
                np.testing.assert_allclose(maps.images["h"].image, keras_h, atol=TOL, rtol=0)
    assert checked >= T * 6
    # stepping back shows the earlier step again
    s.back()
    want = expected_map(layer, s.records()["C"][T - 2], maps.channel, maps.depth)
    if layer.rank != 1:
        np.testing.assert_array_equal(maps.images["C"].image, want)


def test_maps_tab_only_for_convlstm(window):
    open_fixture(window, "cv_convlstm2d_options")
    assert window.tabs.isTabVisible(window.maps_tab)
    open_fixture(window, "cv_lrcn")
    assert not window.tabs.isTabVisible(window.maps_tab)
    assert window.plots.c_curves  # an LSTM again: its unit plots are back
    assert window.plots.message.toPlainText() == ""


def test_convlstm_kernel_table_by_tap_and_channel(window):
    open_fixture(window, "cv_convlstm2d")
    layer = window.session.layer
    view, m = window.weights, window.weights.model
    view.select("U", "o")
    U_o = layer.gate("U", "o")  # (3, 3, filters, filters)
    kh, kw, cin, F = U_o.shape
    assert (m.rowCount(), m.columnCount()) == (kh * kw * cin, F)
    for tap, c, col in (((0, 0), 0, 0), ((1, 2), 2, 1), ((2, 1), 1, 2)):
        r = (tap[0] * kw + tap[1]) * cin + c
        assert m.headerData(r, Qt.Vertical) == f"h{c} @{tap[0]},{tap[1]}"
        assert m.data(m.index(r, col), Qt.UserRole) == pytest.approx(float(U_o[tap][c, col]))
    np.testing.assert_array_equal(view.image.image, U_o.reshape(-1, F))


def test_lrcn_opens_matches_keras_and_edits_one_pixel(window):
    data = open_fixture(window, "cv_lrcn")
    s = window.session
    assert "✓" in window.badge.text()
    assert np.max(np.abs(s.predictions[0] - data["y_0"])) <= TOL
    before = s.sample_inputs[0].copy()  # (1, 5, 10, 10, 3)
    table = window.input_panel.model
    assert table.columnCount() == 10 * 10 * 3
    f = 4 * 30 + 7 * 3 + 2  # row 4, column 7, channel 2 of the frame
    table.setData(table.index(3, f), "2.5", Qt.EditRole)
    after = s.sample_inputs[0]
    changed = np.argwhere(after != before)
    assert changed.tolist() == [[0, 3, 4, 7, 2]] and after[0, 3, 4, 7, 2] == 2.5
    s.to_end()
    assert s.predictions[0][0] == pytest.approx(s.model.predict(after)[0], abs=1e-7)


@pytest.mark.parametrize("name, layer_name", [("cv_convlstm2d", "clstm_1"), ("cv_convlstm3d", "clstm3"),
                                              ("cv_convlstm1d", "clstm1_a")])
def test_kernels_into_the_chosen_filter(window, name, layer_name):
    """Below the maps: W_g (or U_g) into the chosen filter for each gate, a tile per channel, read back by hand."""
    open_fixture(window, name)
    s = window.session
    s.set_node(next(n.id for n in s.model.graph.nodes if n.qualname == layer_name))
    layer, maps = s.layer, window.conv_maps
    for matrix in ("W", "U"):
        maps.kernel_box.setCurrentText(matrix)
        for k in range(layer.filters):
            maps.channel_box.setValue(k)
            for g in ("i", "f", "c", "o"):
                shown = maps.kernel_images[g].image
                w = layer.gate(matrix, g)[..., k]  # (*taps, channels)
                for c in range(w.shape[-1]):
                    if layer.rank == 1:
                        np.testing.assert_array_equal(shown[c], w[:, c])
                    elif layer.rank == 2:
                        kh, kw = w.shape[:2]
                        np.testing.assert_array_equal(shown[:, c * (kw + 1):c * (kw + 1) + kw], w[..., c])
                    else:
                        kd, kh, kw = w.shape[:3]
                        for z in range(kd):
                            tile = shown[z * (kh + 1):z * (kh + 1) + kh, c * (kw + 1):c * (kw + 1) + kw]
                            np.testing.assert_array_equal(tile, w[z, ..., c])
                assert np.count_nonzero(np.isfinite(shown)) == w.size  # the rest is the gaps between tiles
                assert maps.kernel_plots[g].titleLabel.text.startswith(f"{matrix}_{g} → filter {k}")
