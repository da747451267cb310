"""The install carries what the app needs and nothing that pollutes site-packages (no top-level ``main`` or
``resources``): the package list in pyproject.toml, the files in a built wheel, bundled resources found from any
directory, the version, and the desktop entry."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_code_package_is_listed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("engine", "gui", "lstm_inspector")
             for p in (ROOT / top).rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert listed - found == {"lstm_inspector.resources"}


def test_bundled_files_exist():
    from lstm_inspector import paths

    for p in (paths.demo_model(), paths.demo_data(), paths.icon_path(), paths.resource("lstm-inspector.desktop")):
        assert os.path.isfile(p), p


def test_version_from_metadata(capsys):
    from lstm_inspector import __version__, cli

    assert __version__ == _pyproject()["project"]["version"]
    for call in (cli.main, cli.main_cli):
        with pytest.raises(SystemExit) as e:
            call(["--version"])
        assert e.value.code == 0
        assert capsys.readouterr().out.strip().endswith(" " + __version__)


def test_cli_script_without_a_command_is_a_usage_error(capsys):
    from lstm_inspector import cli

    with pytest.raises(SystemExit) as e:
        cli.main_cli([])
    assert e.value.code == 2
    assert "info,predict,trace" in capsys.readouterr().err


def test_desktop_entry_installs_into_xdg_data_home(tmp_path, monkeypatch):
    from lstm_inspector.desktop import install_desktop_entry

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    entry, icon = install_desktop_entry()
    text = entry.read_text()
    assert entry == tmp_path / "applications" / "lstm-inspector.desktop"
    assert "Name=LSTM Inspector" in text and "Icon=lstm-inspector" in text
    exec_line = next(ln for ln in text.splitlines() if ln.startswith("Exec="))
    assert exec_line.endswith(" %f") and ("lstm-inspector" in exec_line or "-m lstm_inspector" in exec_line)
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.rglob("*.tmp*"))


def test_wheel_contents(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = tmp_path.glob("lstm_inspector-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"engine", "gui", "lstm_inspector"}, tops
    for f in ("lstm_inspector/resources/demo/sine_lstm.keras", "lstm_inspector/resources/demo/sine_data.npz",
              "lstm_inspector/resources/icons/lstm-inspector.png", "lstm_inspector/resources/lstm-inspector.desktop",
              "engine/layers/lstm.py", "gui/main_window.py", "lstm_inspector/cli.py"):
        assert f in names, f
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    ep = zipfile.ZipFile(whl).read(entry_points).decode()
    assert "lstm-inspector = lstm_inspector.cli:main" in ep
    assert "lstm-inspector-cli = lstm_inspector.cli:main_cli" in ep
