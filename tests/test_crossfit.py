"""Cross-fitting (src/synth/crossfit.rs): plans from a keyed profile are
checked on requests they were not fitted on (from an unkeyed profile, on
runs drawn from samples they were not fitted on), held to the target less
the optimism that shows in their miss rate, and charged the optimism that
shows in their saving over static."""

from __future__ import annotations

import re

import pytest
from crossfit_support import Z90, banded_savings, charges, savings, static_cost
from unkeyed_support import missed, with_and_without

import janus
from janus.analysis import trial, without_keys
from janus.examples import workloads
from janus.examples.heavy_family import random_heavy_workload


def notes(hints: janus.HintSet) -> list[tuple[str, float, float, float]]:
    """(level, in-sample miss, out-of-fold miss, optimism) of each cross-fit note."""
    pat = r"\[([^:\]]+): cross-fit over 5 parts: in-sample miss=(\S+) out-of-fold miss=(\S+) optimism=(\S+)"
    found = re.findall(pat, hints.provenance["synthesis"])
    return [(n, float(a), float(b), float(o)) for n, a, b, o in found]


def test_a_thin_profile_is_cross_fitted_and_every_level_held_to_its_optimism():
    wl = workloads.random_dag_workload(8)  # 150 requests at p95: under 2 x 76
    fit, _ = wl.profile.split(0.5, 1)
    wf = wl.workflow.with_deadline(1.25 * wl.reference_ms)
    hints = janus.synthesize(wf, fit)
    checked = notes(hints)
    assert checked and checked[0][0] == "unconditioned"
    for _, in_sample, oof, optimism in checked:
        assert abs(optimism - max(0.0, oof - in_sample)) < 2e-6
    assert any(o > 0 for *_, o in checked), "this profile flatters some level"
    # A candidate's miss is reported with its optimism (what to expect on new
    # requests), and it is feasible only when that meets the target.
    optimism = {name: o for name, _, _, o in checked}
    target = hints.plan["miss_target"]
    for c in hints.plan["candidates"]:
        if c["name"] in optimism:
            assert c["miss_probability"] >= optimism[c["name"]] - 1e-9
            assert c["feasible"] == (c["miss_probability"] <= target + 1e-9)
    assert "crossfit=true" in hints.provenance["synthesis"]


def test_a_large_profile_is_cross_fitted_too_but_not_without_a_margin_or_when_off():
    big = workloads.random_dag_workload(8, 1000)  # 1000 requests: over 13 x 76
    wf = big.workflow.with_deadline(1.25 * big.reference_ms)
    assert next(n for n, *_ in notes(janus.synthesize(wf, big.profile))) == "unconditioned"
    thin = workloads.random_dag_workload(8)
    wf = thin.workflow.with_deadline(1.25 * thin.reference_ms)
    assert notes(janus.synthesize(wf, thin.profile, confidence=0.5)) == []
    off = janus.synthesize(wf, thin.profile, crossfit=False)
    assert notes(off) == [] and "crossfit=false" in off.provenance["synthesis"]


def test_a_saving_that_does_not_survive_unseen_requests_is_charged_to_its_plan():
    """Cold-start family, member 0, 2x deadline, fitted on 100 requests:
    the levels of classes save 3-4 % over static on the requests they were
    fitted on and lose to it on those they were not. Each candidate's
    expected cost is its cost on the profile plus static's cost times the
    saving it claims there over the unseen saving's 90 % lower bound (`z` = 1.28
    standard errors below it); no level keeps a saving then, and static
    is shipped."""
    wl = workloads.random_cold_workload(0)
    wf = wl.workflow.with_deadline(2.0 * wl.reference_ms)
    fit, _ = wl.profile.split(0.5, 2)
    hints = janus.synthesize(wf, fit, confidence=0.9)
    text = hints.provenance["synthesis"]
    seen, charge = savings(hints), charges(hints)
    on_profile = dict(re.findall(r"\[([^:\]]+): lambda=[^\]]* rules_cost=(\S+)", text))
    static = static_cost(hints)
    assert len(seen) >= 4 and set(seen) <= set(on_profile)
    cands = {c["name"]: c for c in hints.plan["candidates"]}
    flattered = 0
    for name, (claimed, oof, se, _lucky) in seen.items():
        # The savings in the note are rounded to 4 decimals.
        assert (
            abs(cands[name]["expected_cost"] - (float(on_profile[name]) + charge[name]))
            < 3e-4 * static
        )
        flattered += oof - Z90 * se < 0 < claimed
    assert flattered >= 2, "some level's saving does not survive unseen requests"
    assert hints.plan["chosen"] == "static"
    assert min(c["expected_cost"] for c in cands.values()) == cands["static"]["expected_cost"]


def test_a_plan_held_to_a_stricter_target_is_priced_on_parts_planned_as_strictly():
    """Fourth family, member 28, 1.1x deadline, split 2 (p90, 200 fitted
    requests): cross-fitting finds the unconditioned level optimistic, so it
    is planned to a stricter target than its parts were checked at. Its
    banded plan claims a saving over static on the profile; the parts'
    plans at the target had saved 10 % on unseen requests and vouched for
    it, and held out it cost 6.3 % more than static. Priced on parts planned
    to the same stricter target (and banded there too), its saving on unseen
    requests is a loss, the charge says so, and static ships."""
    wl = random_heavy_workload(28)
    deadline = 1.1 * wl.reference_ms
    fit, _ = wl.profile.split(0.5, 2)
    hints = janus.synthesize(wl.workflow.with_deadline(deadline), fit, confidence=0.9)
    claimed, oof, _se, _lucky = banded_savings(hints)["unconditioned"]
    assert claimed > 0 > oof
    optimism = {n: o for n, _, _, o in notes(hints)}
    assert optimism["unconditioned"] > 0
    # The banded plan (kept over its level's plain plan, which claims a loss)
    # is charged on its own claim by its own parts.
    cands = {c["name"]: c for c in hints.plan["candidates"]}
    text = hints.provenance["synthesis"]
    band_note = re.search(
        r"\[unconditioned: budget bands [^\]]*rules_cost=(\S+)[^\]]*?(not kept|kept)\]", text
    )
    assert band_note[2] == "kept"
    rules_cost = float(band_note[1])
    charge = charges(hints, banded=True)["unconditioned"]
    assert charge > 0
    assert abs(
        cands["unconditioned"]["expected_cost"] - (rules_cost + charge)
    ) < 3e-4 * static_cost(hints)
    assert hints.plan["chosen"] == "static"
    held = trial(wl.workflow, wl.profile, deadline, 2, confidence=0.9)
    assert held["janus_cost"] <= 1.005 * held["static_cost"]


def test_cross_fitting_keeps_the_slo_on_held_out_requests_where_the_raw_plan_missed_it():
    """Regression: fitted on 75 requests, the 4-class plan met the target on
    them and held-out requests missed it (0.893 at p95, MISSED). Checked on
    requests it did not see, the plan is held to a stricter target, keeps the
    SLO on the same held-out requests, and still costs less than static.
    The profile is thin for p95 (75 < 76 requests): held on runs past the
    profile (beyond, src/synth/beyond.rs), the plan without cross-fitting
    no longer misses either (0.947, within error), so the raw plan is
    made with neither."""
    wl = workloads.random_dag_workload(8)
    deadline = 1.25 * wl.reference_ms
    raw = trial(wl.workflow, wl.profile, deadline, 1, crossfit=False, beyond=False)
    assert raw["janus_slo"] == "MISSED"
    past = trial(wl.workflow, wl.profile, deadline, 1, crossfit=False)
    assert past["janus_slo"] != "MISSED"
    assert past["janus_attainment"] > raw["janus_attainment"]
    fixed = trial(wl.workflow, wl.profile, deadline, 1)
    assert fixed["janus_slo"] != "MISSED"
    assert fixed["janus_attainment"] > raw["janus_attainment"]
    assert fixed["cost_vs_static"] < 1.0


@pytest.mark.slow
def test_an_unkeyed_profile_is_cross_fitted_on_its_samples_and_keeps_the_cost_under_static():
    """Regression (fourth family fitted without its request keys, split 3):
    member 39's payload feature says nothing of its run time, and member 5's
    stages are driven by inputs the features see only in part; their plans
    of 2-8 classes, fitted to their own samples and never checked on others,
    claimed savings that held-out requests turned into losses (5 of 8 cases
    cost more than static by over 0.5 %, 3 MISSED the SLO where static met
    it, measured). Cross-fitted on samples they were not fitted on, none
    costs more than static by 0.5 % or misses more often than static. Not a
    check that cannot fail: its first half fails on the plans without it."""
    summaries = with_and_without((5, 39), 3, "crossfit", random_heavy_workload)

    def over(p: str) -> int:
        return sum(s.loc[p, "cost"] > 1.005 * s.loc["static", "cost"] for s in summaries)

    n = missed(summaries)
    assert over("off") >= 3 and n["off"] > n["static"], (over("off"), n)
    assert over("on") == 0, over("on")
    assert n["on"] <= n["static"], n


def test_an_unkeyed_profile_says_it_was_cross_fitted():
    wl = random_heavy_workload(39)
    fit, _ = wl.profile.split(0.5, 2)
    wf = wl.workflow.with_deadline(2.0 * wl.reference_ms)
    bare = without_keys(fit)
    on = janus.synthesize(wf, bare, confidence=0.9)
    assert notes(on) and notes(on)[0][0] == "unconditioned", on.provenance
    assert "[static: cross-fit optimism=" in on.provenance["synthesis"]
    off = janus.synthesize(wf, bare, confidence=0.9, crossfit=False)
    assert notes(off) == [] and "static: cross-fit" not in off.provenance["synthesis"]


def test_crossfit_option_is_checked():
    wl = workloads.random_dag_workload(8)
    wf = wl.workflow.with_deadline(wl.reference_ms)
    with pytest.raises(janus.SynthesisError, match="crossfit: expected a bool"):
        janus.synthesize(wf, wl.profile, crossfit="yes")
