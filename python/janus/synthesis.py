"""Synthesis entry points that accept either workflow form."""

from __future__ import annotations

from collections.abc import Sequence

from janus import _janus
from janus._janus import HintSet, NativeWorkflow, Profile
from janus.workflow import Workflow, native_of


def synthesize(
    workflow: Workflow | NativeWorkflow,
    profile: Profile,
    *,
    mode: str = "stochastic",
    buckets: int = 400,
    tolerance: float = 0.05,
    max_rules: int | None = None,
    feature_classes: int = 2,
    boundaries: Sequence[float] | None = None,
    mix: bool = False,
) -> HintSet:
    """Profiles + workflow + SLO -> hint set (Rust, parallel, GIL released).

    ``mode``: "stochastic" (DP with a Lagrange multiplier, default) or
    "percentile" (per-stage quantiles, deterministic DP). ``buckets`` cuts the
    deadline into time buckets. ``tolerance`` keeps ranked alternatives within
    that relative expected cost. ``max_rules`` caps rules per function.
    ``feature_classes``/``boundaries`` split a featured stage's inputs.
    ``mix``: where the chosen policy over-achieves, also emit a cheaper one
    that a share of runs follows, so that runs with a run key meet the
    percentile exactly on the profile at less cost (runs without a key are
    unaffected). It leaves no margin for a profile that differs from
    production, hence off by default.
    """
    return _janus.synthesize(
        native_of(workflow),
        profile,
        mode=mode,
        buckets=buckets,
        tolerance=tolerance,
        max_rules=max_rules,
        feature_classes=feature_classes,
        boundaries=list(boundaries) if boundaries is not None else None,
        mix=mix,
    )


def best_static(
    workflow: Workflow | NativeWorkflow, profile: Profile, *, buckets: int = 400
) -> dict:
    """Cheapest one-size-per-function assignment meeting the SLO on the profile."""
    return _janus.best_static(native_of(workflow), profile, buckets=buckets)
