"""`make bench`: every benchmark, each figure beside a baseline from the same run."""

from __future__ import annotations

import platform
import sys

from bench import (
    alerts_bench,
    delivery_bench,
    kube_bench,
    slack_bench,
    status_bench,
    store_bench,
    sync_bench,
    template_bench,
    tui_bench,
)

SUITES = {
    "store": store_bench.run,
    "tui": tui_bench.run,
    "sync": sync_bench.run,
    "kube": kube_bench.run,
    "templates": template_bench.run,
    "status": status_bench.run,
    "alerts": alerts_bench.run,
    "delivery": delivery_bench.run,
    "slack": slack_bench.run,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SUITES)
    print(f"warroom benchmarks on {platform.node()} ({platform.python_version()})")
    print("Machines are noisy: compare ratios, not absolute times.")
    figures = []
    for name in chosen:
        figures += SUITES[name]()
    missed = [f.name for f in figures if f.met is False]
    print(
        f"\n{len(figures)} figures, {len(missed)} goals missed" + (f": {missed}" if missed else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
