"""How much a file or an input may make the engine allocate or do: one place for every budget.

A hostile or broken file controls sizes (datasets, shapes in its config, decoded inputs); every such size is checked
against these limits before anything is allocated. People who really do open a 10 GB model raise ``max_bytes``
(``--max-memory`` on the command line, a setting in the window).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

GiB = 1024**3


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 8 * GiB          # weights read from a model file, counted with their real item size
    max_input_bytes: int = 4 * GiB    # one decoded input array
    max_config_bytes: int = 64 * 1024**2
    max_layers: int = 100_000
    max_activation_bytes: int = 4 * GiB  # any layer output implied by the config and the input's shape
    read_seconds: float = 120.0       # wall-clock and CPU time the reader process may take over one model file

    def with_max_bytes(self, n: int) -> "Limits":
        return replace(self, max_bytes=int(n))


DEFAULT = Limits()
