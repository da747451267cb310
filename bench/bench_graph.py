"""Building the layer graph from a config listed in reverse order (every layer before the one feeding it):
the builder must stay linear in the number of layers.

    python bench/bench_graph.py            # 1,000 … 40,000 layers, forward and reverse order
"""
from __future__ import annotations

import sys

from _util import ROOT, timed  # noqa: F401  (puts the checkout on sys.path)

sys.path.insert(0, str(ROOT))
from engine.graph import build_graph  # noqa: E402
from tests.engine.crafted import chain_config  # noqa: E402


def main() -> None:
    print(f"{'layers':>8} {'forward':>10} {'reverse':>10}  (best of 3, seconds)")
    for n in (1_000, 4_000, 10_000, 40_000):
        row = []
        for rev in (False, True):
            cfg = chain_config(n, reverse=rev)
            best, _ = timed(lambda: build_graph(cfg, {}, "2.21.0"), reps=3)
            row.append(best)
        print(f"{n:>8} {row[0]:>10.3f} {row[1]:>10.3f}")


if __name__ == "__main__":
    main()
