"""Unkeyed profiles: plans held against runs whose stages are slow together
(src/synth/lockstep.rs), checked by replaying the hints on such runs built
here, independently, as a keyed profile."""

import numpy as np
import pytest
from unkeyed_support import missed as count_missed
from unkeyed_support import with_and_without

import janus
from janus.analysis import without_keys
from janus.examples.workloads import random_cold_workload

N = 4000  # runs in lockstep (the synthesizer builds 1000: fewer draws of our own)


def in_lockstep(wf, prof, rho: float, seed: int = 0) -> janus.Profile:
    """N runs keyed by run, each taking at every size of a stage its
    quantile there (nearest rank, as the synthesizer does): with ``rho=1``
    run j is at (j + 0.5) / N everywhere; else the quantiles at each stage
    are the ranks of normal scores of correlation ``rho`` between stages
    (drawn here with numpy: not the synthesizer's draws)."""
    rng = np.random.default_rng(seed)
    keys = [f"u{j}" for j in range(N)]
    z = rng.standard_normal(N)
    out = janus.Profile()
    for f in wf.stages:
        if rho >= 1:
            u = (np.arange(N) + 0.5) / N
        else:
            score = np.sqrt(rho) * z + np.sqrt(1 - rho) * rng.standard_normal(N)
            u = (np.argsort(np.argsort(score)) + 0.5) / N
        for s in prof.sizes(f):
            v = np.sort(prof.latencies(f, s))
            out.add(f, s, v[np.minimum((u * len(v)).astype(int), len(v) - 1)], keys=keys)
    return out


def lost_in_lockstep(wf, prof, hints, **opts) -> tuple[float, float, float]:
    """(static's modelled miss, the larger share, in full and in half
    lockstep, of runs Janus misses and static keeps, Janus's planning target)."""
    static = janus.best_static(wf, prof, confidence=0.9, **opts)
    lost = 0.0
    for rho in (1.0, 0.5):
        runs = in_lockstep(wf, prof, rho)
        res = janus.replay(wf, runs, runs, {"janus": hints, "static": static["sizes"]}, seed=0)
        df = res.to_pandas()
        met = {
            p: df[df["policy"] == p].sort_values("run")["met"].to_numpy()
            for p in ("janus", "static")
        }
        lost = max(lost, float(np.mean(~met["janus"] & met["static"])))
    return static["miss_probability"], lost, hints.plan["miss_target"]


def cold_unkeyed(member: int):
    """A member of the third family (a hidden cache miss slows most of a
    run's stages), its fit half without request keys."""
    wl = random_cold_workload(member)
    fit, _ = wl.profile.split(0.5, 1)
    return wl, without_keys(fit)


@pytest.mark.slow  # about 15 s: 40 cases, each synthesized and replayed twice
def test_an_unkeyed_plan_loses_no_more_runs_in_lockstep_than_static_leaves_room_for():
    """Static's modelled miss plus the runs in lockstep (full or half) Janus
    loses that static keeps stays within the planning target (or static's own
    miss where static cannot meet it), up to the draw of the half-lockstep
    runs (drawn here afresh, 4000 of them) and a grid step's rounding (the
    synthesizer rounds latencies up to its 400 buckets, the replay does not).
    One input class, so that the runs built here are the synthesizer's (up to
    that draw). Not a check that cannot fail: plans taken as independent
    (lockstep=False) break it in some of these cases, and late-binding plans
    ship in some. Without cross-fitting, which holds most of these plans to
    static (it checks them on samples they were not fitted on, a separate
    guard with its own tests in test_crossfit.py), so that enough plans
    ship for the check's own bound to be tested."""
    one = {"max_classes": 1}
    alone = {"crossfit": False, **one}
    shipped, broken = 0, 0
    for member in range(10, 20):
        wl, bare = cold_unkeyed(member)
        for factor in (1.1, 1.25, 1.5, 2.0):
            wf = wl.workflow.with_deadline(factor * wl.reference_ms)
            hints = janus.synthesize(wf, bare, confidence=0.9, **alone)
            assert "lockstep=true" in hints.provenance["synthesis"]
            static_miss, lost, target = lost_in_lockstep(wf, bare, hints, **one)
            bound = max(target, static_miss) + 0.01
            assert static_miss + lost <= bound, (member, factor, static_miss, lost, target)
            shipped += hints.plan["chosen"] != "static"
            free = janus.synthesize(wf, bare, confidence=0.9, lockstep=False, **alone)
            static_miss, lost, target = lost_in_lockstep(wf, bare, free, **one)
            broken += static_miss + lost > bound
    assert shipped >= 10 and broken >= 2, (shipped, broken)


@pytest.mark.slow  # about 20 s: 40 cases, each synthesized twice
def test_on_stages_slow_together_unkeyed_plans_miss_no_more_than_static_held_out():
    """The third family (a hidden cache miss slows most of a run's stages)
    fitted without request keys and judged on the keyed held-out half of
    the same split: planned as independent (lockstep=False), Janus MISSED
    the SLO in several cases where static met it; held against runs in
    lockstep (the default) it misses no more than static, and still costs
    less. Not a check that cannot fail: the first half of it fails on the
    plans made as independent. Both without cross-fitting, which on its own
    keeps these plans from missing too (with it, MISSED on / off / static:
    0 / 0 / 1, measured): this is the lockstep check's own effect."""
    summaries = with_and_without(range(10, 20), 1, "lockstep", crossfit=False)
    missed = count_missed(summaries)
    ratio = {
        p: [s.loc[p, "cost"] / s.loc["static", "cost"] for s in summaries] for p in ("on", "off")
    }
    assert missed["off"] >= missed["static"] + 4, missed
    assert missed["on"] <= missed["static"], missed
    assert np.mean(ratio["off"]) < np.mean(ratio["on"]) < 0.95, ratio


def test_keyed_profiles_are_walked_as_measured_not_in_lockstep():
    wl, bare = cold_unkeyed(10)
    wf = wl.workflow.with_deadline(1.25 * wl.reference_ms)
    keyed = in_lockstep(wf, bare, 1.0)
    s = janus.synthesize(wf, keyed, confidence=0.9).provenance["synthesis"]
    assert "lockstep_runs" not in s and f"keyed_requests={N}" in s
    s = janus.synthesize(wf, bare, confidence=0.9).provenance["synthesis"]
    assert "lockstep_runs=1000 " in s
    off = janus.synthesize(wf, bare, confidence=0.9, lockstep=False)
    assert "lockstep=false" in off.provenance["synthesis"]
    assert not any("lockstep=True" in w for w in off.warnings)
    on = janus.synthesize(wf, bare, confidence=0.9)
    assert any("lockstep=True" in w for w in on.warnings)
