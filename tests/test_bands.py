"""Budget bands (src/synth/bands.rs): where a run slow so far is slow ahead,
the plan made on each block's latencies per budget band is kept when it is
cheaper at the target; elsewhere the hints are what they were."""

from __future__ import annotations

import re

import pytest
from crossfit_support import charges, static_cost

import janus
from janus.analysis import trial
from janus.examples import workloads


def band_notes(hints: janus.HintSet) -> list[tuple[str, float, float, str]]:
    """(level, rules cost, rules miss, kept or not) of each budget-band note."""
    pat = r"\[([^:\]]+): budget bands \(4 per block\): lambda=\S+ rules_cost=(\S+) rules_miss=(\S+) [^\]]*?(kept|not kept)\]"
    found = re.findall(pat, hints.provenance["synthesis"])
    return [(n, float(c), float(m), k) for n, c, m, k in found]


def test_stages_that_share_a_hidden_driver_get_banded_plans_that_save_on_new_requests():
    # `noisy`: one undeclared trait of the request drives every stage's work,
    # so a slow first stage means slow later stages. Held-out requests judge.
    wl = workloads.noisy(1000)
    for seed in (1, 2):
        banded = trial(wl.workflow, wl.profile, 1.1 * wl.reference_ms, seed, confidence=0.9)
        plain = trial(
            wl.workflow, wl.profile, 1.1 * wl.reference_ms, seed, confidence=0.9, bands=False
        )
        assert banded["janus_slo"] != "MISSED", banded
        assert banded["janus_cost"] < 0.98 * plain["janus_cost"], (banded, plain)
        assert banded["janus_cost"] < banded["static_cost"]
    fit, _ = wl.profile.split(0.5, 1)
    hints = janus.synthesize(wl.workflow.with_deadline(1.1 * wl.reference_ms), fit)
    notes = band_notes(hints)
    assert ("unconditioned", notes[0][1], notes[0][2], "kept") == notes[0]
    # The kept plan is the candidate reported: at its own cost on the profile
    # plus the saving cross-fitting found flattered (its own: banded plans made
    # on the parts and walked on their unseen requests, as a share of static's
    # cost), and its own miss.
    cands = {c["name"]: c for c in hints.plan["candidates"]}
    charge, static = charges(hints, banded=True)["unconditioned"], static_cost(hints)
    cand = cands["unconditioned"]
    assert cand["expected_cost"] == pytest.approx(notes[0][1] + charge, abs=3e-4 * static)
    assert cand["miss_probability"] <= hints.plan["miss_target"] + 1e-9


def test_where_bands_do_not_pay_the_hints_are_the_unbanded_ones():
    # `pipeline`: the declared input drives the stages and the rest of each
    # stage's noise is its own: classes already hold what bands would learn.
    wl = workloads.pipeline(1000)
    fit, _ = wl.profile.split(0.5, 1)
    wf = wl.workflow.with_deadline(1.25 * wl.reference_ms)
    on, off = janus.synthesize(wf, fit), janus.synthesize(wf, fit, bands=False)
    notes = {n: kept for n, _, _, kept in band_notes(on)}
    assert notes, "a keyed profile of 500 requests is planned on bands too"
    # Bands help the unconditioned level (a big input is slow at every
    # stage), but the plan chosen conditions on the input, on classes too
    # small to band or whose bands were not kept: the hints are the unbanded ones.
    assert notes["unconditioned"] == "kept"
    assert notes.get(on.plan["chosen"], "not banded") != "kept"
    assert on.plan["chosen"] == off.plan["chosen"]
    assert (on.plan["expected_cost"], on.plan["miss_probability"]) == (
        off.plan["expected_cost"],
        off.plan["miss_probability"],
    )
    assert on.summary[:-1] == off.summary[:-1]
    for f in wf.stages:
        for k in range(len(on.summary) - 1):
            assert on.rules(f, k) == off.rules(f, k)
    # Runs without features get the unconditioned plan, banded where that paid.
    assert on.summary[-1]["expected_cost"] <= off.summary[-1]["expected_cost"]
    # Never dearer on the profile than without bands.
    assert on.plan["expected_cost"] <= off.plan["expected_cost"] + 1e-9


def test_bands_need_a_profile_that_can_carry_them():
    # A thin keyed profile (too few requests per class for 4 bands) is not banded.
    wl = workloads.random_dag_workload(8)
    fit, _ = wl.profile.split(0.5, 1)
    hints = janus.synthesize(wl.workflow.with_deadline(1.25 * wl.reference_ms), fit)
    assert not band_notes(hints)
    assert "bands=true" in hints.provenance["synthesis"]
    # Off on request, and said so.
    wl = workloads.noisy(1000)
    hints = janus.synthesize(
        wl.workflow.with_deadline(1.1 * wl.reference_ms), wl.profile, bands=False
    )
    assert not band_notes(hints)
    assert "bands=false" in hints.provenance["synthesis"]


def test_a_bad_bands_option_is_named():
    wl = workloads.noisy(200)
    with pytest.raises(janus.SynthesisError, match="bands"):
        janus.synthesize(wl.workflow, wl.profile, bands="yes")
