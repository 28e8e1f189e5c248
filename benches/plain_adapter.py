"""The adapter's lookup in plain Python, for comparison only.

What ``janus.Adapter.decide`` does for a hint set without input classes or
mixtures, written the way one would in Python: a binary search (``bisect``)
over the function's rule edges, the ranked sizes of the rule that applies,
the first one that fits the node's free capacity, the late fallback below
every rule, and a small result object. ``benches/bench.py`` times it next to
the Rust adapter; ``tests/test_bench_reference.py`` checks that both decide
alike. Janus never imports it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import janus


@dataclass(frozen=True, slots=True)
class PlainDecision:
    size: tuple[int, int]
    rule: int | None
    remaining_ms: float
    late: bool
    fits: bool


class PlainAdapter:
    def __init__(self, hints: janus.HintSet) -> None:
        if hints.classes is not None:
            raise ValueError("the plain adapter reads hint sets without input classes")
        self.deadline_ms = hints.workflow.deadline_ms
        self._tables: dict[
            str, tuple[list[float], list[list[tuple[int, int]]], tuple[int, int]]
        ] = {}
        for f in hints.workflow.stages:
            rules = hints.rules(f)
            fb = hints.fallback(f)
            self._tables[f] = (
                [edge for edge, _ in rules],
                [[(s.cpu_millis, s.memory_mib) for s in sizes] for _, sizes in rules],
                (fb.cpu_millis, fb.memory_mib),
            )

    def decide(
        self, function: str, elapsed_ms: float, free: tuple[int, int] | None = None
    ) -> PlainDecision:
        if not (0.0 <= elapsed_ms < float("inf")):
            raise ValueError(f"elapsed_ms must be a finite number >= 0, got {elapsed_ms}")
        edges, ranked, fallback = self._tables[function]
        remaining = self.deadline_ms - elapsed_ms
        k = bisect.bisect_right(edges, remaining)
        if k == 0:
            fits = free is None or (fallback[0] <= free[0] and fallback[1] <= free[1])
            return PlainDecision(fallback, None, remaining, True, fits)
        sizes = ranked[k - 1]
        if free is None:
            return PlainDecision(sizes[0], k - 1, remaining, False, True)
        for s in sizes:
            if s[0] <= free[0] and s[1] <= free[1]:
                return PlainDecision(s, k - 1, remaining, False, True)
        return PlainDecision(sizes[0], k - 1, remaining, False, False)
