"""Thin profiles: plans held on runs one stage past the profile
(src/synth/beyond.rs), checked by replaying the hints on such runs built
here, independently, and on held-out requests."""

import numpy as np
import pytest
from unkeyed_support import missed as count_missed
from unkeyed_support import with_and_without

import janus
from janus.examples.workloads import random_cold_workload

# How far past the slowest sample, in units of the tail's scale: the
# quartiles' midpoints of an exponential excess.
EXCESS = -np.log(1 - (np.arange(4) + 0.5) / 4)


def past_profile(wf, prof) -> janus.Profile:
    """Every keyed request of ``prof`` once per stage and excess, with that
    stage at every size at its slowest sample plus the excess times the
    tail's scale (the top ten samples' mean excess over the eleventh)."""
    out = janus.Profile(prof.feature_names)
    for past in wf.stages:
        for j, e in enumerate(EXCESS):
            for f in wf.stages:
                for s in prof.sizes(f):
                    lat = np.asarray(prof.latencies(f, s), dtype=float)
                    if f == past:
                        v = np.sort(lat)
                        lat = np.full_like(lat, v[-1] + e * np.mean(v[-10:] - v[-11]))
                    keys = [f"{k}|{past}|{j}" for k in prof.keys(f, s)]
                    out.add(f, s, lat, keys=keys, features=prof.features(f, s))
    return out


def lost_past_the_profile(wf, prof, hints) -> float:
    """The chance of a new run past the profile at some stage that the hints
    lose and static keeps: each past run stands for 1 / (n + 1) (a new run
    is past the slowest of n exchangeable samples that often) spread over
    the n requests and the 4 excesses."""
    static = janus.best_static(wf, prof, confidence=0.9, max_classes=1)["sizes"]
    runs = past_profile(wf, prof)
    df = janus.replay(wf, prof, runs, {"janus": hints, "static": static}, seed=0).to_pandas()
    met = {
        p: df[df["policy"] == p].sort_values("run")["met"].to_numpy() for p in ("janus", "static")
    }
    n = len(prof.keys(wf.stages[0], prof.sizes(wf.stages[0])[0]))
    return float(np.sum(~met["janus"] & met["static"])) / ((n + 1) * n * len(EXCESS))


@pytest.mark.slow  # about 10 s: 12 cases, each synthesized and replayed
def test_a_thin_plan_loses_no_more_new_runs_past_the_profile_than_the_percentile_allows():
    """Keyed p99 profiles of 100-200 requests (too thin for p99), one input
    class so that the runs built here are the synthesizer's: the shipped
    plan's predicted miss plus the runs past the profile it loses and static
    keeps stays within the percentile, and late-binding plans do ship."""
    shipped = 0
    for member in (1, 4, 19):
        wl = random_cold_workload(member)
        fit, _ = wl.profile.split(0.5, 1)
        for factor in (1.1, 1.25, 1.5, 2.0):
            wf = wl.workflow.with_deadline(factor * wl.reference_ms)
            assert wf.percentile == 0.99
            hints = janus.synthesize(wf, fit, confidence=0.9, max_classes=1)
            assert "past the profile:" in hints.provenance["synthesis"]
            lost = lost_past_the_profile(wf, fit, hints)
            predicted = hints.plan["miss_probability"]
            assert predicted + lost <= 0.01 + 1e-3, (member, factor, predicted, lost)
            shipped += hints.plan["chosen"] != "static"
    assert shipped >= 3, shipped


@pytest.mark.slow  # about 10 s: 12 cases, each synthesized twice
def test_thin_unkeyed_plans_miss_less_held_out_when_held_past_the_profile():
    """Members of the third family whose p99 profiles (100-200 requests)
    are thin, fitted without request keys and judged on the keyed held-out
    half: without the check (beyond=False) plans of many input classes
    fitted to zero misses MISSED the SLO where static met it (6 of 12 cases
    against static's 1); held on runs past the profile, 2 (member 4 at 2x
    still ships 4 classes and misses: the check takes back most such
    misses, not all), for less than static. Not a check that cannot fail:
    its first half fails on the plans without it. Both without
    cross-fitting, which on its own keeps these plans from missing too (with
    it, MISSED on / off / static: 1 / 1 / 1, measured): this is the check's
    own effect."""
    summaries = with_and_without((1, 4, 19), 2, "beyond", crossfit=False)
    missed = count_missed(summaries)
    cost = {p: sum(s.loc[p, "cost"] for s in summaries) for p in ("on", "static")}
    assert missed["off"] >= missed["on"] + 3, missed
    assert missed["on"] <= missed["static"] + 1, missed
    assert cost["on"] < cost["static"], cost


def test_the_check_is_in_the_provenance_and_can_be_turned_off():
    wl = random_cold_workload(1)
    fit, _ = wl.profile.split(0.5, 1)
    wf = wl.workflow.with_deadline(1.5 * wl.reference_ms)
    on = janus.synthesize(wf, fit, confidence=0.9)
    s = on.provenance["synthesis"]
    assert "beyond=true" in s and "past the profile:" in s
    off = janus.synthesize(wf, fit, confidence=0.9, beyond=False)
    s = off.provenance["synthesis"]
    assert "beyond=false" in s and "past the profile" not in s
    # A profile thick enough for its percentile is not checked.
    thick = wl.workflow.with_deadline(1.5 * wl.reference_ms, 0.9)
    assert (
        "past the profile:"
        not in janus.synthesize(thick, fit, confidence=0.9).provenance["synthesis"]
    )
