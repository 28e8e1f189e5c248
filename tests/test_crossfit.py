"""Cross-fitting (src/synth/crossfit.rs): plans from a thin keyed profile are
checked on requests they were not fitted on, and held to the target less the
optimism that shows."""

from __future__ import annotations

import re

import pytest

import janus
from janus.analysis import trial
from janus.examples import workloads


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


def test_no_cross_fit_on_a_large_profile_without_a_margin_or_when_off():
    big = workloads.random_dag_workload(8, 1000)  # 1000 requests: over 2 x 76
    wf = big.workflow.with_deadline(1.25 * big.reference_ms)
    assert notes(janus.synthesize(wf, big.profile)) == []
    thin = workloads.random_dag_workload(8)
    wf = thin.workflow.with_deadline(1.25 * thin.reference_ms)
    assert notes(janus.synthesize(wf, thin.profile, confidence=0.5)) == []
    off = janus.synthesize(wf, thin.profile, crossfit=False)
    assert notes(off) == [] and "crossfit=false" in off.provenance["synthesis"]


def test_cross_fitting_keeps_the_slo_on_held_out_requests_where_the_raw_plan_missed_it():
    """Regression: fitted on 75 requests, the 4-class plan met the target on
    them and held-out requests missed it (0.893 at p95, MISSED). Checked on
    requests it did not see, the plan is held to a stricter target, keeps the
    SLO on the same held-out requests, and still costs less than static."""
    wl = workloads.random_dag_workload(8)
    deadline = 1.25 * wl.reference_ms
    raw = trial(wl.workflow, wl.profile, deadline, 1, crossfit=False)
    assert raw["janus_slo"] == "MISSED"
    fixed = trial(wl.workflow, wl.profile, deadline, 1)
    assert fixed["janus_slo"] != "MISSED"
    assert fixed["janus_attainment"] > raw["janus_attainment"]
    assert fixed["cost_vs_static"] < 1.0


def test_crossfit_option_is_checked():
    wl = workloads.random_dag_workload(8)
    wf = wl.workflow.with_deadline(wl.reference_ms)
    with pytest.raises(janus.SynthesisError, match="crossfit: expected a bool"):
        janus.synthesize(wf, wl.profile, crossfit="yes")
