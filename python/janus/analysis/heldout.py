"""Janus against static sizing on held-out requests, over several random
splits and deadlines: the evaluation behind docs/results.md.

One *trial* is (deadline factor, split seed): the profile is split at random
by request (``Profile.split``); on the fit part Janus synthesizes its hints
and the best static sizing is found with the same options (the same
confidence margin: both are asked to hold on requests they have not seen);
the held-out part is replayed under Janus, that static sizing, the static
sizing fitted without a margin (``confidence=0.5``, what a developer sizing
on their own profile would do) and the clairvoyant oracle. With a keyed
profile the replay is exact (every held-out request once, its own latency at
every stage and size); otherwise ``runs`` executions are drawn with rank
coupling and the result says so.

``oracle room`` is what the oracle saves over static; ``oracle share`` is
the part of that room Janus captured. Both are reported only where the
room is worth measuring (``min_room``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from janus._janus import Profile, best_static, synthesize, wilson_interval
from janus.analysis.result import slo_verdict
from janus.analysis.simulate import replay
from janus.workflow import Workflow


def without_keys(profile: Profile) -> Profile:
    """The same samples (and request features) without their request keys:
    what a profile measured stage by stage, not request by request, holds.
    For judging plans from unkeyed profiles on keyed held-out requests."""
    out = Profile(profile.feature_names)
    for f in profile.functions:
        for s in profile.sizes(f):
            out.add(f, s, profile.latencies(f, s), features=profile.features(f, s))
    return out


def room_and_share(static: float, janus: float, oracle: float) -> tuple[float, float]:
    """The oracle's room, ``(static - oracle) / static``, and the part of it
    Janus captured, ``(static - janus) / (static - oracle)`` (NaN without
    room): the one definition every report uses."""
    room = (static - oracle) / static
    share = (static - janus) / (static - oracle) if static > oracle else float("nan")
    return room, share


def split_verdict(attainment: float, runs: int, target: float) -> str:
    """The SLO verdict of one held-out split (``slo_verdict`` against the
    95 % Wilson interval of ``attainment`` over its ``runs`` executions)."""
    return slo_verdict(attainment, wilson_interval(round(attainment * runs), runs)[1], target)


def trial(
    workflow: Workflow,
    profile: Profile,
    deadline_ms: float,
    seed: int,
    *,
    split: float = 0.5,
    runs: int = 20_000,
    unkeyed: bool = False,
    **synthesis: Any,
) -> dict[str, Any]:
    """One random split at one deadline; see the module doc. With
    ``unkeyed``, Janus and static are fitted on the fit half without its
    request keys (``without_keys``: as if measured stage by stage) and judged
    on the keyed held-out half as before."""
    wf = workflow.with_deadline(deadline_ms)
    fit, held = profile.split(split, seed)
    fitted = without_keys(fit) if unkeyed else fit
    hints = synthesize(wf, fitted, **synthesis)
    static_opts = {
        k: synthesis[k] for k in ("buckets", "smoothing", "confidence") if k in synthesis
    }
    static = best_static(wf, fitted, **static_opts)
    plain = best_static(wf, fitted, **{**static_opts, "confidence": 0.5})
    res = replay(
        wf,
        fit,
        held,
        [
            ("janus", "janus", hints),
            ("static", "static", static["sizes"]),
            ("plain_static", "static", plain["sizes"]),
            ("oracle", "oracle", None),
        ],
        runs=runs,
        seed=seed,
    )
    s = res.summary()
    cost = {p: float(s.loc[p, "cost"]) for p in s.index}
    att = {p: float(s.loc[p, "attainment"]) for p in s.index}
    room, share = room_and_share(cost["static"], cost["janus"], cost["oracle"])
    n = int(s.loc["janus", "runs"])

    return {
        "deadline_ms": deadline_ms,
        "seed": seed,
        "runs": n,
        "coupling": res.coupling,
        "target": wf.percentile,
        **{f"{p}_attainment": att[p] for p in ("janus", "static", "plain_static", "oracle")},
        **{f"{p}_cost": cost[p] for p in ("janus", "static", "plain_static", "oracle")},
        **{
            f"{p}_slo": split_verdict(att[p], n, wf.percentile)
            for p in ("janus", "static", "plain_static")
        },
        "cost_vs_static": cost["janus"] / cost["static"],
        "room": room,
        "share": share,
        "chosen": (hints.plan or {}).get("chosen", ""),
    }


def held_out(
    workflow: Workflow,
    profile: Profile,
    reference_ms: float,
    factors: Sequence[float],
    seeds: Iterable[int],
    *,
    progress: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> Any:
    """Every (factor, seed) trial as a DataFrame, one row per trial."""
    import pandas as pd

    rows = []
    for f in factors:
        for seed in seeds:
            row = trial(workflow, profile, f * reference_ms, seed, **kwargs)
            rows.append({"factor": f, **row})
            if progress is not None:
                progress(f"{workflow.name} x{f:g} seed {seed}")
    return pd.DataFrame(rows)


def members_held_out(
    make: Callable[[int], Any],
    seeds: Iterable[int],
    factors: Sequence[float],
    splits: Iterable[int],
    *,
    min_room: float = 0.10,
    progress: Callable[[str], None] | None = None,
    **synthesis: Any,
) -> Any:
    """Members of a workload family (``make(seed)``, e.g.
    ``janus.examples.workloads.random_cold_workload``) held out at every
    deadline factor over the same ``splits``, pooled per factor: one row
    per (member, factor), with the member's seed and description first."""
    import pandas as pd

    rows = []
    splits = list(splits)
    for seed in seeds:
        wl = make(seed)
        if progress is not None:
            progress(f"member {seed}: {wl.description}")
        trials = held_out(wl.workflow, wl.profile, wl.reference_ms, factors, splits, **synthesis)
        p = pooled(trials, min_room)
        p.insert(0, "member", seed)
        p.insert(1, "description", wl.description)
        rows.append(p)
    return pd.concat(rows, ignore_index=True)


def pooled(trials: Any, min_room: float = 0.10) -> Any:
    """One row per deadline factor, over the splits: each policy's mean and
    worst attainment and how many splits MISSED the SLO (the target outside
    the split's 95 % Wilson interval: a split can also fall short by chance,
    "within error"); Janus's cost against static (mean and worst split); the
    oracle's room and Janus's share of it where the room is at least
    ``min_room``. The splits share requests, so their attainments are not
    pooled into one interval."""
    import pandas as pd

    out = []
    for f, g in trials.groupby("factor", sort=True):
        row: dict[str, Any] = {
            "factor": f,
            "splits": len(g),
            "runs": int(g["runs"].iloc[0]),
            "target": float(g["target"].iloc[0]),
        }
        for p in ("janus", "static", "plain_static"):
            row[f"{p}_attainment"] = float(g[f"{p}_attainment"].mean())
            row[f"{p}_worst"] = float(g[f"{p}_attainment"].min())
            row[f"{p}_missed"] = int((g[f"{p}_slo"] == "MISSED").sum())
        ratio = g["cost_vs_static"].to_numpy()
        row["cost_vs_static"] = float(np.mean(ratio))
        row["worst_cost_vs_static"] = float(np.max(ratio))
        row["room"] = float(g["room"].mean())
        enough = row["room"] >= min_room
        row["share"] = float(g["share"].mean()) if enough else float("nan")
        row["worst_share"] = float(g["share"].min()) if enough else float("nan")
        row["chosen"] = ", ".join(sorted(set(g["chosen"])))
        out.append(row)
    return pd.DataFrame(out)
