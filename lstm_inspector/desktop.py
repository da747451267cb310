"""The freedesktop menu entry: ``lstm-inspector --install-desktop-entry`` copies the bundled entry and icon into the
user's data folder (``$XDG_DATA_HOME``, default ``~/.local/share``), with ``Exec`` pointing at this install."""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from .paths import icon_path, resource


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _exec_line() -> str:
    exe = shutil.which("lstm-inspector")
    cmd = [exe] if exe else [sys.executable, "-m", "lstm_inspector"]
    return " ".join(shlex.quote(c) for c in cmd) + " %f"


def desktop_entry_text() -> str:
    lines = Path(resource("lstm-inspector.desktop")).read_text(encoding="utf-8").splitlines()
    return "\n".join(f"Exec={_exec_line()}" if ln.startswith("Exec=") else ln for ln in lines) + "\n"


def _write(path: Path, data: bytes) -> None:
    """Into a temporary file beside it, then renamed: an interrupted write leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def install_desktop_entry() -> list[Path]:
    home = _data_home()
    entry = home / "applications" / "lstm-inspector.desktop"
    icon = home / "icons" / "hicolor" / "256x256" / "apps" / "lstm-inspector.png"
    _write(entry, desktop_entry_text().encode("utf-8"))
    _write(icon, Path(icon_path()).read_bytes())
    return [entry, icon]
