"""The third family fitted without request keys, judged held out, in tests
of the checks on unkeyed plans (tests/test_lockstep.py, tests/test_beyond.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import janus
from janus.analysis import without_keys
from janus.examples.workloads import random_cold_workload

FACTORS = (1.1, 1.25, 1.5, 2.0)


def cold_unkeyed_held_out(
    members: Iterable[int],
    split: int,
    policies: Callable[[Any, janus.Profile], dict],
    workload: Callable[[int], Any] = random_cold_workload,
) -> list[Any]:
    """Per member of the third family (a hidden cache miss slows most of a
    run's stages; or of ``workload``'s family) and deadline (1.1-2x its
    reference): the summary of the policies ``policies(workflow, profile)``
    make from the fit half of ``split`` without its request keys, replayed
    on the keyed held-out half."""
    out = []
    for member in members:
        wl = workload(member)
        fit, held = wl.profile.split(0.5, split)
        bare = without_keys(fit)
        for factor in FACTORS:
            wf = wl.workflow.with_deadline(factor * wl.reference_ms)
            out.append(janus.replay(wf, fit, held, policies(wf, bare), seed=split).summary())
    return out


def with_and_without(
    members: Iterable[int],
    split: int,
    switch: str,
    workload: Callable[[int], Any] = random_cold_workload,
    **base: Any,
) -> list[Any]:
    """``cold_unkeyed_held_out`` of three policies: Janus with its defaults
    and ``base`` ("on"), the same with the check ``switch`` off ("off"), and
    static ("static")."""
    return cold_unkeyed_held_out(
        members,
        split,
        lambda wf, bare: {
            "on": janus.synthesize(wf, bare, confidence=0.9, **base),
            "off": janus.synthesize(wf, bare, confidence=0.9, **{**base, switch: False}),
            "static": janus.best_static(wf, bare, confidence=0.9)["sizes"],
        },
        workload,
    )


def missed(summaries: list[Any]) -> dict[str, int]:
    """Per policy of ``with_and_without``: the cases whose SLO verdict is MISSED."""
    return {p: sum(s.loc[p, "slo"] == "MISSED" for s in summaries) for p in ("on", "off", "static")}
