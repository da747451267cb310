"""Bundled data (the demo model and data, the icon, the desktop entry).

Installed as the package ``lstm_inspector.resources`` (see ``[tool.setuptools.package-dir]`` in pyproject.toml), so
that the files travel inside the wheel and are found through ``importlib.resources`` from any directory.
"""
