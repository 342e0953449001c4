"""Printing figures with their same-run baseline, ratio and goal."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `fn` in seconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    goal: str = ""
    met: bool | None = None

    def line(self) -> str:
        text = f"  {self.name:<46} {self.value:>10.2f} {self.unit:<6}"
        if self.baseline is not None:
            ratio = self.value / self.baseline if self.baseline else float("inf")
            text += f"  vs {self.baseline_name} {self.baseline:.2f} {self.unit} (x{ratio:.2f})"
        if self.goal:
            verdict = {True: "met", False: "MISSED", None: ""}[self.met]
            text += f"  [goal {self.goal}: {verdict}]"
        return text


def section(title: str) -> None:
    print(f"\n{title}")
