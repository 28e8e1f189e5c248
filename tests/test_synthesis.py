"""Synthesis through the Python API, checked by an independent Monte Carlo
replay in numpy (not by the synthesizer's own numbers)."""

import json
import re

import numpy as np
import pytest
from conftest import BIG, SMALL
from hypothesis import given, settings
from hypothesis import strategies as st

import janus
from janus import Size


def monte_carlo(wf, prof, choose, n=20_000, seed=0, feature_of=None):
    """Replay a chain: each stage's latency is drawn from the samples at the
    chosen size. `choose(stage, elapsed, feature)` -> array of sizes (one per run)."""
    rng = np.random.default_rng(seed)
    elapsed = np.zeros(n)
    cost = np.zeros(n)
    cm = wf.cost_model
    feats = feature_of(rng, n) if feature_of else None
    for stage in wf.stages:
        chosen = choose(stage, elapsed, feats)
        lat = np.empty(n)
        for size in set(chosen):
            idx = np.array([c == size for c in chosen])
            samples = prof.latencies(stage, size)
            fs = prof.features(stage, size)
            if feats is not None and fs is not None:
                # draw from runs of the same input class (feature within 10 %)
                for i in np.flatnonzero(idx):
                    near = samples[np.abs(fs - feats[i]) <= 0.1 * abs(feats[i]) + 1e-9]
                    lat[i] = rng.choice(near if len(near) else samples)
            else:
                lat[idx] = rng.choice(samples, size=idx.sum())
            cost[idx] += cm.rate(size) * lat[idx] / 1000.0
        elapsed = elapsed + lat
    return elapsed, cost


def janus_chooser(hints, features=False, keyed=False):
    a = janus.Adapter(hints)

    def choose(stage, elapsed, feats):
        keys = np.arange(len(elapsed), dtype=np.uint64) if keyed else None
        out = a.decide_many(stage, elapsed, features=feats if features else None, run_keys=keys)
        return [Size(int(c), int(m)) for c, m in zip(out["cpu_millis"], out["memory_mib"])]

    return choose


def static_chooser(sizes):
    return lambda stage, elapsed, feats: [sizes[stage]] * len(elapsed)


def test_stage_two_size_depends_on_stage_one(two_stage):
    wf, prof = two_stage
    hints = janus.synthesize(wf, prof)
    a = janus.Adapter(hints)
    after_fast = a.decide("b", elapsed_ms=220)  # 780 ms left: SMALL (~620 ms) fits
    after_slow = a.decide("b", elapsed_ms=620)  # 380 ms left: only BIG (~305 ms) fits
    assert after_fast.size == SMALL
    assert after_slow.size == BIG
    assert not after_slow.late


def test_policy_meets_percentile_and_beats_static(two_stage):
    wf, prof = two_stage
    hints = janus.synthesize(wf, prof)
    static = janus.best_static(wf, prof)
    assert static["feasible"]
    e2e, cost = monte_carlo(wf, prof, janus_chooser(hints))
    s_e2e, s_cost = monte_carlo(wf, prof, static_chooser(static["sizes"]))
    assert (e2e <= wf.deadline_ms).mean() >= wf.percentile - 0.01
    assert (s_e2e <= wf.deadline_ms).mean() >= wf.percentile - 0.01
    assert cost.mean() <= s_cost.mean() * 1.02
    # here late binding must actually save: half the runs can use SMALL for b
    assert cost.mean() < s_cost.mean() * 0.95


@pytest.mark.slow  # 2 x 40 000 Monte Carlo runs
def test_per_run_mixture_spends_the_miss_allowance_for_less(two_stage):
    """The primary rules over-achieve (they never miss here); with run keys a
    share of runs follows cheaper rules, so that the target is met exactly."""
    wf, prof = two_stage
    assert janus.synthesize(wf, prof).summary[0]["mix"] is None  # off by default
    # confidence 0.5: spend the allowance of the profile itself, as the Monte Carlo draws from it
    hints = janus.synthesize(wf, prof, mix=True, confidence=0.5)
    [s] = hints.summary
    assert s["mix"] is not None and 0 < s["mix"] < 1
    assert s["primary_miss_probability"] < s["miss_probability"] <= 1 - wf.percentile + 1e-9
    assert s["expected_cost"] < s["primary_cost"]
    assert hints.rules("b", alternative=True)
    e_keyed, c_keyed = monte_carlo(wf, prof, janus_chooser(hints, keyed=True), n=40_000)
    e_plain, c_plain = monte_carlo(wf, prof, janus_chooser(hints), n=40_000)
    # 0.006 is about three standard deviations of the Monte Carlo estimate
    assert (e_keyed <= wf.deadline_ms).mean() >= wf.percentile - 0.006
    assert (e_plain <= wf.deadline_ms).mean() >= wf.percentile
    assert c_keyed.mean() < c_plain.mean()
    assert c_keyed.mean() == pytest.approx(s["expected_cost"], rel=0.02)
    assert c_plain.mean() == pytest.approx(s["primary_cost"], rel=0.02)
    # a run key always gets the same answer (one policy for the whole run)
    a = janus.Adapter(hints)
    for k in range(50):
        assert a.decide("b", 620, run_key=k).size == a.decide("b", 620, run_key=k).size


def test_mixture_forms_where_the_two_policies_differ_only_near_a_tie():
    """Regression: the policy just below the target used to be condensed with
    smoothing, which folded away exactly the short runs where it differs from
    the chosen one, so no mixture formed and the plan over-achieved (here
    0.0075 missed against an allowance of 0.01). Noise-only stages, p99."""
    from janus.examples.workloads import StageModel, build

    rng = np.random.default_rng(7)
    stages = [
        StageModel("a", 78.0, 90.0, 0.0, cap=2.0, alpha=0.63, request_noise=0.21),
        StageModel("b", 42.0, 94.0, 0.0, cap=1.0, alpha=0.72, request_noise=0.10),
    ]
    feature = np.exp(rng.normal(0, 0.5, 400))
    wl = build("mixcase", stages, [250, 500, 750, 1000], feature, "x", rng, percentile=0.99)
    wf = wl.workflow.with_deadline(1.2 * wl.reference_ms)
    kw = {"confidence": 0.5, "max_classes": 1}
    plain = janus.synthesize(wf, wl.profile, **kw)
    mixed = janus.synthesize(wf, wl.profile, mix=True, **kw)
    assert plain.plan["miss_probability"] < 0.009  # over-achieves: room for a mixture
    [s] = mixed.summary
    assert s["mix"] is not None and 0 < s["mix"] < 1
    assert s["miss_probability"] == pytest.approx(0.01, abs=1e-6)
    assert s["expected_cost"] < 0.95 * plain.plan["expected_cost"]


def test_janus_and_static_are_held_to_one_target():
    """Regression: where the static plan could not afford the margin for
    sampling error but Janus could, Janus planned with the margin and
    `best_static` without it, so the baseline was held to a looser target
    and could cost less than Janus. Both now follow one rule: the margin
    applies when static can afford it (and, on a profile thin for the
    percentile, to late-binding plans, which are then measured against
    static held to the percentile: see the next test)."""
    from janus.examples.workloads import StageModel, build

    rng = np.random.default_rng(21)
    stages = [
        StageModel("a", 22.0, 170.0, 0.0, cap=1.0, alpha=0.86, request_noise=0.26),
        StageModel("b", 41.0, 79.0, 0.3, cap=1.0, alpha=0.62, request_noise=0.28),
    ]
    feature = np.exp(rng.normal(0, 0.55, 500))
    wl = build(
        "onetarget", stages, [500, 1000, 1500, 2000, 3000], feature, "x", rng, percentile=0.99
    )
    targets = set()
    for f in [1.02, 1.05, 1.1, 1.2]:
        wf = wl.workflow.with_deadline(f * wl.reference_ms)
        plan = janus.synthesize(wf, wl.profile).plan
        static = janus.best_static(wf, wl.profile)
        [cand] = [c for c in plan["candidates"] if c["name"] == "static"]
        assert cand["expected_cost"] == pytest.approx(static["expected_cost"], rel=1e-9)
        assert cand["miss_probability"] == pytest.approx(static["miss_probability"], abs=1e-9)
        if static["feasible"]:
            assert static["miss_probability"] <= plan["miss_target"] + 1e-9
            assert plan["expected_cost"] <= static["expected_cost"] * (1 + 1e-9)
        targets.add(round(plan["miss_target"], 6))
    assert len(targets) == 2  # with the margin at some deadlines, without it at others


def test_on_a_thin_profile_late_binding_plans_keep_the_margin_static_cannot_afford():
    """Regression (cold-start family without cold starts, member 7, p99,
    200 requests fitted, 1.1x): no static plan met the percentile with the
    90 % margin, so Janus and static were both planned to the percentile
    itself; a 2-class plan spent its two allowed misses on the profile's
    noise and shipped at 0.71 of static's cost, then attained 0.975 on the
    held-out half (MISSED; static 0.99). On a profile thin for the
    percentile the late-binding plans are still held to the margin: none
    meets it for less than static, static is shipped, and the SLO holds.
    Where the profile holds the tail (the pipeline, p95 on 200 requests) the
    same deadline pressure leaves Janus and static at the percentile and
    late binding still pays."""
    from janus.analysis import trial
    from janus.examples import workloads

    wl = workloads.random_cold_workload(7, cold_starts=False)
    deadline = 1.1 * wl.reference_ms
    fit, _ = wl.profile.split(0.5, 1)
    hints = janus.synthesize(wl.workflow.with_deadline(deadline), fit)
    assert len(fit.keys("s0", wl.workflow.stage("s0").options[0])) < janus.samples_needed(0.99)
    [warn] = [w for w in hints.warnings if w.startswith("no static plan meets")]
    assert "late-binding plans are still held to the margin" in warn
    held = float(re.search(r"late-binding plans held to (\S+):", hints.provenance["synthesis"])[1])
    assert 0 < held < hints.plan["miss_target"]
    for c in hints.plan["candidates"]:
        if c["name"] != "static" and c["feasible"]:
            assert c["miss_probability"] <= held + 1e-9, c
    assert hints.plan["chosen"] == "static"
    r = trial(wl.workflow, wl.profile, deadline, 1)
    assert r["janus_slo"] != "MISSED" and r["janus_attainment"] >= r["static_attainment"]

    pipe = workloads.pipeline(400, seed=1)
    fit, _ = pipe.profile.split(0.5, 2)
    hints = janus.synthesize(pipe.workflow.with_deadline(1.25 * pipe.reference_ms), fit)
    assert any("Janus and static are planned" in w for w in hints.warnings)
    assert "late-binding plans held to" not in hints.provenance["synthesis"]
    assert hints.plan["chosen"] != "static"


def test_percentile_mode_is_feasible_too(two_stage):
    wf, prof = two_stage
    hints = janus.synthesize(wf, prof, mode="percentile")
    e2e, _ = monte_carlo(wf, prof, janus_chooser(hints))
    assert (e2e <= wf.deadline_ms).mean() >= wf.percentile - 0.01


def featured_workflow(n=600, seed=3):
    """Every stage takes time in proportion to the request's size (70 % small
    requests, 30 % ten times larger), and both speed up 2x for 4x the CPU, so
    SMALL is their cheaper size. Each request is measured at every stage and
    size (a keyed profile) with its feature `mib`.

    Without the feature, `parse` must run at BIG for every request (at SMALL
    the large 30 % miss the deadline). With it, small requests run at SMALL
    and only large ones pay for BIG."""
    wf = janus.Workflow("feat", deadline_ms=2000, percentile=0.9, features={"mib": lambda r: r})
    wf.add("parse", [SMALL, BIG])
    wf.add("work", [SMALL, BIG])
    wf.chain("parse", "work")
    rng = np.random.default_rng(seed)
    mib = np.where(rng.random(n) < 0.7, 1.0, 10.0)
    keys = [f"r{i}" for i in range(n)]
    prof = janus.Profile(["mib"])
    parse = mib * 80 + rng.uniform(0, 20, n)
    work = mib * 50 + rng.uniform(0, 30, n)
    for stage, base in (("parse", parse), ("work", work)):
        prof.add(stage, SMALL, base * 2, keys=keys, features=mib)
        prof.add(stage, BIG, base, keys=keys, features=mib)
    return wf, prof


def test_feature_conditioned_hints_use_less_at_same_attainment_on_held_out_requests():
    wf, prof = featured_workflow()
    fit, held = prof.split(0.5, seed=1)
    with_f = janus.synthesize(wf, fit)
    assert with_f.classes is not None and with_f.classes["features"] == ["mib"]
    [boundary] = [n["threshold"] for n in with_f.classes["nodes"] if "threshold" in n]
    assert 1.0 < boundary < 10.0
    no_f = janus.synthesize(wf, fit, max_classes=1)
    assert no_f.classes is None
    res = janus.replay(wf, fit, held, {"with": with_f, "without": no_f})
    assert "keyed" in res.notes[0]
    s = res.summary()
    for policy in ("with", "without"):
        assert s.loc[policy, "slo"] in ("met", "within error"), s
    assert s.loc["with", "cost"] < s.loc["without", "cost"] * 0.97, s


def test_infeasible_deadline_still_returns_best_effort_hints(two_stage):
    wf, prof = two_stage
    tight = wf.with_deadline(300)
    hints = janus.synthesize(tight, prof)
    assert not hints.feasible
    assert any("deadline" in w.lower() or "infeasible" in w.lower() for w in hints.warnings)
    d = janus.Adapter(hints).decide("a", elapsed_ms=0)
    assert d.size == BIG  # the fastest option: do what can be done
    late = janus.Adapter(hints).decide("b", elapsed_ms=5000)
    assert late.late and late.size == hints.fallback("b")


def test_max_rules_caps_rules_and_tolerance_ranks(two_stage):
    wf, prof = two_stage
    capped = janus.synthesize(wf, prof, max_rules=1)
    for f in wf.stages:
        assert len(capped.rules(f)) <= 1
    # Tolerance 0 ranks one size per rule; a wide tolerance also lists the
    # other size wherever it meets the risk bound too (with time to spare,
    # after the cheaper first choice), and never changes that first choice.
    single = janus.synthesize(wf, prof, tolerance=0.0)
    assert all(len(sizes) == 1 for f in wf.stages for _, sizes in single.rules(f))
    ranked = janus.synthesize(wf, prof, tolerance=10.0)
    for f in wf.stages:
        rules = ranked.rules(f)
        assert [BIG] in [sizes for _, sizes in rules], rules  # little time left: only the fast size
        assert rules[-1][1] == [SMALL, BIG], rules  # time to spare: both, cheaper first
    one, many = janus.Adapter(single), janus.Adapter(ranked)
    for f in wf.stages:
        for e in np.linspace(0, wf.deadline_ms, 41):
            assert many.decide(f, e).size == one.decide(f, e).size, (f, e)


@pytest.mark.parametrize(
    "kw, err, match",
    [
        ({"mode": "magic"}, janus.SynthesisError, "mode"),
        ({"buckets": 0}, janus.SynthesisError, "buckets"),
        ({"tolerance": -1.0}, janus.SynthesisError, "tolerance"),
        ({"max_rules": 0}, janus.SynthesisError, "max_rules"),
        ({"late": "never"}, janus.SynthesisError, "late"),
        ({"confidence": 1.5}, janus.SynthesisError, "confidence"),
        ({"bukets": 10}, janus.SynthesisError, "unknown synthesis option 'bukets'"),
        ({"buckets": "many"}, janus.SynthesisError, "buckets"),
    ],
)
def test_bad_options(two_stage, kw, err, match):
    wf, prof = two_stage
    with pytest.raises(err, match=match):
        janus.synthesize(wf, prof, **kw)


def test_missing_profile_entry(two_stage):
    wf, prof = two_stage
    wf.add("c", [Size(750, 512)])
    wf.edge("b", "c")
    with pytest.raises(janus.ProfileError, match="'c'"):
        janus.synthesize(wf, prof)


def test_hint_set_is_small_and_has_provenance(two_stage, tmp_path):
    wf, prof = two_stage
    hints = janus.synthesize(wf, prof)
    assert hints.size_bytes < 8192
    assert hints.provenance["profile_digest"] == prof.digest
    hints.save(tmp_path / "h.json")
    assert janus.HintSet.load(tmp_path / "h.json") == hints
    assert json.loads(hints.to_json())["schema_version"] == hints.schema_version


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.floats(50, 400), min_size=5, max_size=30),
    st.floats(1.5, 4.0),
    st.floats(0.8, 0.99),
    st.floats(0.0, 1.0),
)
def test_random_chains_round_trip_and_decide_everywhere(base, speedup, pct, slack):
    wf = janus.Workflow("h", deadline_ms=1.0, percentile=pct)
    wf.add("x", [SMALL, BIG])
    wf.add("y", [SMALL, BIG])
    wf.chain("x", "y")
    b = np.array(base)
    prof = janus.Profile.from_samples(
        {
            ("x", SMALL): b * speedup,
            ("x", BIG): b,
            ("y", SMALL): b[::-1] * speedup,
            ("y", BIG): b[::-1],
        }
    )
    deadline = 2 * b.max() * (1 + slack * speedup)
    hints = janus.synthesize(wf.with_deadline(deadline), prof, buckets=100, confidence=0.5)
    assert janus.HintSet.from_json(hints.to_json()) == hints
    a = janus.Adapter(hints)
    for e in np.linspace(0, deadline * 1.5, 13):
        for f in ("x", "y"):
            assert a.decide(f, float(e)).size in (SMALL, BIG)
    if hints.feasible:
        e2e, _ = monte_carlo(wf.with_deadline(deadline), prof, janus_chooser(hints), n=3000)
        # histograms round latencies up, so attainment on the samples is at
        # least the planned one; 0.03 covers Monte Carlo noise at n=3000
        assert (e2e <= deadline).mean() >= pct - 0.03


@pytest.mark.parametrize("low, high", [(0.7, 0.1 * 7), (1.0e308, 1.7e308)])
def test_classes_split_between_any_two_feature_values(low, high):
    """A split's threshold was the midpoint of the two values it parts: between
    neighbouring doubles it rounded to the lower one, near f64::MAX it
    overflowed, and either way one class held no samples ("no samples in
    input class 0"). The class of each value is the one its samples fell in."""
    assert low < high
    rng = np.random.default_rng(0)
    n = 300
    slow = rng.random(n) < 0.5
    x = np.where(slow, high, low)
    wf = janus.Workflow("t", deadline_ms=500, features=["x"])
    for s in ("a", "b"):
        wf.add(s, [Size(c, 512) for c in (500, 1000, 2000)])
    wf.chain("a", "b")
    p = janus.Profile(["x"])
    keys = [f"r{i}" for i in range(n)]
    for s in ("a", "b"):
        for c in (500, 1000, 2000):
            lat = (20 + 150 * np.where(slow, 2, 1) / (c / 1000)) * np.exp(rng.normal(0, 0.1, n))
            p.add(s, (c, 512), lat, keys=keys, features=x[:, None])
    h = janus.synthesize(wf, p)
    assert h.classes is not None and h.classes["count"] == 2
    assert h.class_of([low]) != h.class_of([high])


def test_the_profile_decides_how_many_input_classes_to_try():
    """Without max_classes, one class per 4 x samples_needed(p) keyed requests,
    from 8 to 16 (classes need requests to carry their tails); a given
    max_classes is taken as it is."""
    rng = np.random.default_rng(0)

    def synth(n: int, **opts) -> str:
        x = np.exp(rng.normal(0, 0.8, n))
        wf = janus.Workflow("c", deadline_ms=400, features=["x"], percentile=0.9)
        wf.add("f", [Size(500, 256), Size(1000, 256)])
        p = janus.Profile(["x"])
        keys = [f"r{i}" for i in range(n)]
        for c in (500, 1000):
            lat = 100 * x / (c / 1000) * np.exp(rng.normal(0, 0.1, n))
            p.add("f", (c, 256), lat, keys=keys, features=x)
        return janus.synthesize(wf, p, **opts).provenance["synthesis"]

    per_class = 4 * janus.samples_needed(0.9)
    assert per_class == 144
    assert "max_classes=auto(8) " in synth(400)
    assert "max_classes=auto(10) " in synth(10 * per_class)
    assert "max_classes=auto(16) " in synth(20 * per_class)
    assert "max_classes=3 " in synth(20 * per_class, max_classes=3)


def test_an_unkeyed_chain_is_planned_as_independent_and_the_hints_say_so(two_stage):
    """Without whole requests the stages' joint latencies are unknown: the
    hints say the plan takes them as independent (on workload families with
    slowness shared across stages, such plans missed the SLO far more often:
    docs/results.md, 'Unkeyed profiles'); the same samples keyed do not."""
    wf, prof = two_stage
    says = "stages are planned as independent"
    assert any(says in w for w in janus.synthesize(wf, prof).warnings)
    keyed = janus.Profile()
    for f in ("a", "b"):
        for s in (janus.Size(500, 512), janus.Size(2000, 512)):
            lat = prof.latencies(f, s)
            keyed.add(f, s, lat, keys=[f"r{i}" for i in range(len(lat))])
    assert not any(says in w for w in janus.synthesize(wf, keyed).warnings)
