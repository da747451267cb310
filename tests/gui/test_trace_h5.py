"""File ▸ Export ▸ Trace of the whole batch into .h5: written chunk by chunk by engine/streaming.py off the GUI
thread, with progress and Cancel in the status bar; .npz stays as it was."""
from __future__ import annotations

import h5py
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from tests.engine.helpers import TOL
from tests.gui.helpers import fixture_paths, menu_action


def test_whole_batch_into_h5_chunk_by_chunk_with_progress(window, qtbot, tmp_path, monkeypatch):
    model, data = fixture_paths("stack_seq")
    window.load_now(model, data)
    qtbot.waitUntil(lambda: not window.loading, timeout=20000)
    s = window.session
    keras = np.load(data)
    batch = keras["x_0"].shape[0]
    assert batch > 3
    s.set_input_value(2, 0, 3.0)  # an edit of sample 0 is part of the batch traced
    window.trace_chunk = 3  # several chunks
    seen = []
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    window._trace_signals.progress.connect(lambda done, total: seen.append((done, total)))
    out = tmp_path / "all.h5"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "all"), "HDF5, written chunk by chunk (*.h5)"))
    menu_action(window, "Trace of the whole batch (.npz, .h5)…").trigger()
    assert window.exporting and window.trace_progress.isVisible() and window.trace_cancel.isVisible()
    qtbot.waitUntil(lambda: not window.exporting, timeout=20000)
    assert not window.trace_progress.isVisible()
    assert seen == [(min(b, batch), batch) for b in range(3, batch + 3, 3)]  # one report per chunk
    xs = s.trace_inputs(whole_batch=True)
    expected = s.model.trace(xs).as_dict()
    with h5py.File(out, "r") as f:
        assert f["x_0"].shape[0] == batch and f["x_0"][0, 2, 0] == 3.0
        assert f["lstm_1/h"].chunks[0] == 3
        for a in range(0, batch, 3):  # each chunk is, bit for bit, the trace of its samples
            part = s.model.trace([x[a:a + 3] for x in xs]).as_dict()
            for name in ("lstm_1/h", "lstm_2/C", "lstm_3/h"):
                np.testing.assert_array_equal(f[name][a:a + 3], part[name], err_msg=f"{name}, samples {a}…")
        for name in ("lstm_1/h", "lstm_2/C", "lstm_3/h"):
            # the whole batch in one go: BLAS may sum in another order for another batch size (float32 rounding)
            np.testing.assert_allclose(f[name][()], expected[name], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(f["lstm_3/C"][1:], keras["cseq__lstm_3"][1:], rtol=0, atol=TOL)
    assert "written to" in window.statusBar().currentMessage()
    assert [p.name for p in tmp_path.iterdir()] == ["all.h5"]  # no temporary file left


def test_cancel_leaves_no_file(window, qtbot, tmp_path):
    model, data = fixture_paths("stack_seq")
    window.load_now(model, data)
    qtbot.waitUntil(lambda: not window.loading, timeout=20000)
    window.trace_chunk = 1
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    # Cancel as soon as the first chunk is written (the worker checks between chunks); a direct connection so
    # that the flag is set before the worker goes on (a queued click could come after the last chunk)
    window._trace_signals.progress.connect(lambda done, total: window.cancel_trace(), Qt.DirectConnection)
    window.export_trace(str(tmp_path / "t.h5"), whole_batch=True)
    qtbot.waitUntil(lambda: not window.exporting, timeout=20000)
    assert list(tmp_path.iterdir()) == []
    assert "cancelled" in window.statusBar().currentMessage()
    assert not window.trace_cancel.isVisible()
    window._trace_cancel = False
    window.trace_cancel.click()  # the status bar's button is what sets the flag
    assert window._trace_cancel
