"""engine/ works with PySide6, pyqtgraph, TensorFlow and Keras all unavailable (and never imports them)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCKER = textwrap.dedent(
    """
    import sys, importlib.abc
    BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "tensorflow", "keras", "tf_keras", "onnx",
               "onnxruntime")
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked in this test")
            return None
    sys.meta_path.insert(0, Block())
    """
)


def test_engine_runs_without_qt_or_tensorflow(tmp_path):
    code = BLOCKER + textwrap.dedent(
        f"""
        import numpy as np
        sys.path.insert(0, {str(ROOT)!r})
        sys.path.insert(0, {str(ROOT / "tests" / "engine")!r})
        import engine, engine.describe, engine.inputs
        import crafted
        m = engine.load_model(crafted.tiny_h5({str(tmp_path / "m.h5")!r}))
        tr = m.trace(np.ones((2, 4, 2), "f4"))
        assert tr.outputs[0].shape == (2, 1)
        import pkgutil, importlib
        for mod in pkgutil.walk_packages(engine.__path__, "engine."):
            importlib.import_module(mod.name)
        bad = [n for n in sys.modules if n.split(".")[0] in BLOCKED]
        assert not bad, bad
        print("OK")
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "OK"


def test_no_qt_or_tensorflow_import_in_engine_source():
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text()
        for banned in ("PySide6", "pyqtgraph", "import tensorflow", "import keras", "tf_keras", "import pickle",
                       "allow_pickle=True", "import marshal", "eval(", "exec(", "importlib.import_module"):
            assert banned not in text, f"{path.relative_to(ROOT)} mentions {banned}"
