"""Deadline sweeps: where late binding pays off and where it does not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from janus._janus import NativeWorkflow, Profile, ReplayError, quantile
from janus.analysis.simulate import replay, simulate
from janus.workflow import Workflow, native_of

DEFAULT_FACTORS = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0)


def reference_latency(
    workflow: Workflow | NativeWorkflow,
    profile: Profile,
    *,
    runs: int | None = None,
    seed: int | None = None,
) -> float:
    """End-to-end latency at the SLO percentile with every stage at its
    largest size (on the whole profile): the tightest deadline worth asking."""
    res = replay(
        workflow,
        profile,
        profile,
        [("maxsize", "maxsize", None)],
        runs=runs,
        seed=seed,
    )
    return quantile(list(res.to_pandas()["latency_ms"]), res.percentile)


def sweep(
    workflow: Workflow | NativeWorkflow,
    profile: Profile,
    deadlines_ms: Sequence[float] | None = None,
    *,
    factors: Sequence[float] | None = None,
    reference_ms: float | None = None,
    **simulate_kwargs: Any,
) -> Any:
    """Simulate at several deadlines, tight to loose.

    Either ``deadlines_ms``, or ``factors`` of ``reference_ms`` (default: the
    max-size percentile latency, see ``reference_latency``; factors default
    to DEFAULT_FACTORS). Other keywords go to ``simulate``. Returns a tidy
    DataFrame: one row per (deadline, policy) with the summary's columns plus
    ``deadline_ms`` and ``factor``.
    """
    import pandas as pd

    wf = native_of(workflow)
    if deadlines_ms is not None and factors is not None:
        raise ReplayError("sweep: give deadlines_ms or factors, not both")
    if deadlines_ms is None:
        ref = reference_ms if reference_ms is not None else reference_latency(wf, profile)
        fs = list(factors) if factors is not None else list(DEFAULT_FACTORS)
        pairs = [(f * ref, f) for f in fs]
    else:
        ref = reference_ms
        pairs = [(float(d), float(d) / ref if ref else float("nan")) for d in deadlines_ms]
    if not pairs:
        raise ReplayError("sweep: no deadlines given")
    if any(not (d > 0) for d, _ in pairs):
        raise ReplayError(f"sweep: deadlines must be positive, got {[d for d, _ in pairs]}")
    frames = []
    for d, f in sorted(pairs):
        res = simulate(wf.with_slo(d, None), profile, **simulate_kwargs)
        s = res.summary().reset_index()
        s["deadline_ms"] = d
        s["factor"] = f
        s["notes"] = "; ".join(res.notes)
        frames.append(s)
    out = pd.concat(frames, ignore_index=True)
    first = ["deadline_ms", "factor", "policy"]
    return out[first + [c for c in out.columns if c not in first]]
