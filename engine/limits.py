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
    max_config_depth: int = 64        # nesting of the config's JSON (real Keras configs stay under 20)
    max_input_ratio: int = 1000       # a compressed .npz member may expand at most this many times

    def with_max_bytes(self, n: int) -> "Limits":
        return replace(self, max_bytes=int(n))

    def with_max_memory(self, n: int) -> "Limits":
        """``--max-memory``: one figure for everything a file or an input may make the engine hold, the weights,
        one decoded input and the layer outputs of a replay (each budget at least ``n``)."""
        n = int(n)
        return replace(self, max_bytes=n, max_input_bytes=n, max_activation_bytes=n)


def parse_size(text: str) -> int:
    """``12G``, ``512M``, ``1.5GB``, ``800000000``: a byte count (K, M, G, T in powers of 1024)."""
    s = str(text).strip().upper().removesuffix("B").removesuffix("I")
    mult = 1
    for suffix, m in (("K", 1024), ("M", 1024**2), ("G", GiB), ("T", 1024**4)):
        if s.endswith(suffix):
            s, mult = s[:-1], m
            break
    try:
        value = float(s)
    except ValueError:
        raise ValueError(f"{text!r} is not a size (say 12G, 512M or a number of bytes)") from None
    if not value > 0 or value * mult > 1 << 50:
        raise ValueError(f"{text!r} is not a size between 1 byte and 1 PB")
    return int(value * mult)


DEFAULT = Limits()
