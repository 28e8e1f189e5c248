"""Profiles: building from samples, CSV and ORION files, and bad input."""

import numpy as np
import pytest

import janus
from janus import ProfileError, Size


def test_from_samples_accepts_both_shapes_and_numpy():
    p = janus.Profile.from_samples(
        {("f", Size(500, 256)): np.array([1.0, 2.0]), "g": {Size(1000, 256): [3.0]}}
    )
    assert sorted(p.functions) == ["f", "g"]
    assert p.latencies("f", Size(500, 256)).tolist() == [1.0, 2.0]
    assert p.sizes("g") == [Size(1000, 256)]
    assert len(p) == 2
    # A tuple of two numbers is two latencies, not a (latencies, features) pair.
    two = janus.Profile.from_samples({("f", Size(500, 256)): (1.0, 2.0)})
    assert two.latencies("f", Size(500, 256)).tolist() == [1.0, 2.0]
    pair = janus.Profile.from_samples({("f", Size(500, 256)): ([1.0, 2.0], [3.0, 4.0])})
    assert pair.features("f", Size(500, 256)).tolist() == [[3.0], [4.0]]


@pytest.mark.parametrize(
    "bad, match",
    [
        ([], "no samples"),
        ([1.0, -2.0], "#1"),
        ([float("nan")], r"in \[0, 1e12\] ms"),
        ([1.0, 1.0000001e12], r"#1 .* is 1000000100000.0: latencies must be in \[0, 1e12\] ms"),
        ([float("inf")], "is inf"),
    ],
)
def test_bad_samples(bad, match):
    with pytest.raises(ProfileError, match=match):
        janus.Profile.from_samples({("f", Size(500, 256)): bad})


def test_the_longest_latency_and_the_highest_prices_give_finite_costs():
    """Latencies up to 1e12 ms and prices up to 1e12 are taken, at the largest
    sizes and fan-outs; beyond, they are refused where they come in (a profile,
    a CSV, an observation, a cost model). A latency of 1e308 ms once made
    synthesis predict an infinite cost and fail its own checks."""
    small, huge = Size(10, 1), Size(2**32 - 1, 2**32 - 1)
    wf = janus.Workflow("max", 1e12, 0.99, cost_model=janus.CostModel(1e12, 1e12))
    wf.add("a", [small, huge], fanout=4096)
    wf.add("b", [small, huge], fanout=4096)
    wf.add("c", [small, huge])
    wf.chain("a", ["b", "c"])
    xs = np.linspace(0, 1e12, 30)
    prof = janus.Profile.from_samples({(f, s): xs for f in "abc" for s in (small, huge)})
    h = janus.synthesize(wf, prof)
    assert np.isfinite(h.plan["expected_cost"]) and h.plan["expected_cost"] > 1e30
    assert np.isfinite(janus.best_static(wf, prof)["expected_cost"])
    with pytest.raises(janus.AdapterError, match=r"in \[0, 1e12\] ms, got 2000000000000"):
        janus.Adapter(h).observe("a", small, 2e12)
    with pytest.raises(janus.WorkflowError, match=r"prices must be in \[0, 1e12\]"):
        janus.CostModel(1.1e12, 1.0)


def refused_csv(path, text: str, match: str) -> None:
    """A CSV profile holding `text` is refused with an error matching `match`."""
    path.write_text(text)
    with pytest.raises(ProfileError, match=match):
        janus.Profile.from_csv(path)


def test_csv_round_trip_and_errors(tmp_path):
    good = tmp_path / "p.csv"
    good.write_text(
        "function,cpu_millis,memory_mib,latency_ms,key,feature.kb\n"
        "f,500,256,10,r1,1.5\nf,500,256,12,r2,2.5\n"
    )
    p = janus.Profile.from_csv(good)
    assert p.latencies("f", Size(500, 256)).tolist() == [10.0, 12.0]
    assert p.features("f", Size(500, 256)).tolist() == [[1.5], [2.5]]
    assert p.keys("f", Size(500, 256)) == ["r1", "r2"]
    assert p.feature_names == ["kb"] and p.is_keyed
    header = "function,cpu_millis,memory_mib,latency_ms\n"
    refused_csv(tmp_path / "bad.csv", header + "f,500,256,10\nf,500,256,-3\n", r"bad.csv:3")
    refused_csv(tmp_path / "m.csv", "function,latency_ms\nf,1\n", "missing column 'cpu_millis'")
    with pytest.raises(ProfileError, match="nope.csv"):
        janus.Profile.from_csv(tmp_path / "nope.csv")


def test_json_save_load_and_split(tmp_path):
    p = janus.Profile.from_samples({("f", Size(500, 256)): [1.0, 2.0, 3.0, 4.0]})
    p.save(tmp_path / "p.json")
    q = janus.Profile.load(tmp_path / "p.json")
    assert q.digest == p.digest
    a, b = q.split(0.5, seed=1)
    la, lb = a.latencies("f", Size(500, 256)), b.latencies("f", Size(500, 256))
    assert sorted([*la, *lb]) == [1.0, 2.0, 3.0, 4.0] and len(la) == 2
    assert q.split(0.5, seed=1)[0].latencies("f", Size(500, 256)).tolist() == la.tolist()
    with pytest.raises(ProfileError, match="too few"):
        janus.Profile.from_samples({("f", Size(500, 256)): [1.0]}).split(0.5)


def test_keyed_samples_split_by_request_and_features_must_agree():
    s, b = Size(500, 256), Size(1000, 256)
    p = janus.Profile(["kb"])
    keys = [f"r{i}" for i in range(10)]
    p.add("f", s, np.arange(10.0), keys=keys, features=np.arange(10.0))
    p.add("f", b, np.arange(10.0) / 2, keys=keys, features=[[float(i)] for i in range(10)])
    fit, held = p.split(0.5, seed=3)
    for part in (fit, held):
        # A request's samples stay together: the same keys at both sizes.
        assert part.keys("f", s) == part.keys("f", b)
    assert set(fit.keys("f", s)).isdisjoint(held.keys("f", s))
    bad = janus.Profile(["kb"])
    bad.add("f", s, [1.0], keys=["r0"], features=[1.0])
    bad.add("f", b, [1.0], keys=["r0"], features=[2.0])
    wf = janus.Workflow("k", deadline_ms=100, features=["kb"])
    wf.add("f", [s, b])
    with pytest.raises(ProfileError, match="'r0' has features"):
        janus.replay(wf, bad, bad, {"m": "maxsize"})
    with pytest.raises(ProfileError, match="2 values"):
        p.add("f", s, [1.0], keys=["x"], features=[[1.0, 2.0]])


def test_feature_names_and_sizes_are_held_to_the_workflow_rules(tmp_path):
    """A profile took names and sizes a workflow refuses: duplicate or empty
    feature names (also from a CSV header) and CPU below the kernel's 10m."""
    for names, why in ((["x", "x"], "named twice"), ([""], "empty")):
        with pytest.raises(ProfileError, match=why):
            janus.Profile(names)
        with pytest.raises(ProfileError, match=why):
            janus.Profile.from_samples({("f", Size(500, 256)): [1.0]}, features=names)
    header = "function,cpu_millis,memory_mib,latency_ms"
    dup = header + ",feature.x,feature.x\nf,500,256,1.0,1,2\n"
    refused_csv(tmp_path / "dup.csv", dup, r'dup.csv:1: header: .*"x".*named twice')
    # A column Janus would not read is refused, not dropped: `kb` meant as a feature.
    refused_csv(
        tmp_path / "kb.csv",
        header + ",kb\nf,500,256,1.0,3\n",
        r'unknown column "kb".*feature\.<name>',
    )
    tiny = header + "\nf,1,256,1.0\n"
    refused_csv(tmp_path / "tiny.csv", tiny, "'f' at size .*cpu_millis must be at least 10")
    text = janus.Profile.from_samples({("f", Size(500, 256)): [1.0]}).to_json()
    with pytest.raises(ProfileError, match=r"samples\[0\].*cpu_millis must be at least 10"):
        janus.Profile.from_json(text.replace('"cpu_millis":500', '"cpu_millis":0'))
    with pytest.raises(ProfileError, match=r"\$.features.*named twice"):
        janus.Profile.from_json(text.replace('"features":[]', '"features":["x","x"]'))


def test_scaling_a_function_the_profile_lacks_is_an_error():
    p = janus.Profile.from_samples({("f", Size(500, 256)): [1.0, 2.0]})
    assert p.scaled({"f": 2.0}).latencies("f", Size(500, 256)).tolist() == [2.0, 4.0]
    with pytest.raises(ProfileError, match="no samples of function 'typo'.*functions: f"):
        p.scaled({"typo": 2.0})


def test_a_profile_merged_into_itself_doubles_its_samples():
    p = janus.Profile.from_samples({("f", Size(500, 256)): [1.0, 2.0]})
    p.merge(p)  # read before written: no "Already mutably borrowed"
    assert sorted(p.latencies("f", Size(500, 256)).tolist()) == [1.0, 1.0, 2.0, 2.0]


def test_a_partly_keyed_profile_is_used_unkeyed_and_synthesis_says_so():
    """Samples added without keys drop their entry's keys (what they were
    measured on is unknown); the profile then cannot be walked request by
    request, and the hints' warnings say so instead of silently skipping
    cross-fitting."""
    rng = np.random.default_rng(0)
    wf = janus.Workflow("k", deadline_ms=400)
    wf.add("f", [Size(500, 256), Size(1000, 256)])
    keys = [f"r{i}" for i in range(100)]
    p = janus.Profile()
    p.add("f", Size(500, 256), 200 + 20 * rng.standard_normal(100), keys=keys)
    p.add("f", Size(1000, 256), 100 + 10 * rng.standard_normal(100), keys=keys)
    assert p.is_keyed
    assert not any("request keys" in w for w in janus.synthesize(wf, p).warnings)
    p.add("f", Size(1000, 256), [100.0])  # no key
    assert p.keys("f", Size(1000, 256)) is None and not p.is_keyed
    warned = [w for w in janus.synthesize(wf, p).warnings if "request keys" in w]
    assert warned and "only 1 of the workflow's 2" in warned[0], janus.synthesize(wf, p).warnings
    # The replay says the same of why it couples sizes instead of replaying requests.
    notes = janus.replay(wf, p, p, {"m": "maxsize"}).notes
    assert any("only 1 of the workflow's 2" in n for n in notes), notes


def test_missing_entry_is_named(two_stage):
    _, prof = two_stage
    wf2 = janus.Workflow("two", deadline_ms=1000)
    wf2.add("a", [Size(500, 512), Size(3000, 512)])
    with pytest.raises(ProfileError, match=r"'b' is not a stage|'a' at size 3000m/512Mi"):
        prof.check_covers(wf2.native)
    wf2.add("b", [Size(500, 512)])
    with pytest.raises(ProfileError, match=r"'a' at size 3000m/512Mi"):
        prof.check_covers(wf2)


def test_orion_traces_load(orion):
    wf, prof = janus.orion_workflow(orion / "ml_pipeline", deadline_ms=200_000)
    assert wf.stages == ["PCA", "ParamTune", "CombineModels"]
    assert len(wf.native.options("PCA")) == 4
    lat = prof.latencies("PCA", wf.native.options("PCA")[0])
    assert len(lat) >= 290 and (lat > 0).all()
    prof.check_covers(wf.native)


def test_orion_bad_folder_is_reported(tmp_path):
    (tmp_path / "rsc_1000_1000.txt").write_text("E2E:30 A:10 B:20\nE2E:30 A:x B:1\n")
    with pytest.raises(ProfileError, match=r"rsc_1000_1000.txt:2"):
        janus.orion_workflow(tmp_path, deadline_ms=100)
    with pytest.raises(ProfileError, match="No such file"):
        janus.orion_workflow(tmp_path / "does_not_exist", deadline_ms=100)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProfileError, match="empty: no rsc_"):
        janus.orion_workflow(tmp_path / "empty", deadline_ms=100)


@pytest.mark.parametrize(
    "text", ["", "\n\n", "E2E:30\nE2E:40\n"], ids=["empty", "blank", "E2E only"]
)
def test_an_orion_trace_without_stage_latencies_is_refused(tmp_path, text):
    """Issue 9, item 11: an empty trace, or one with only end-to-end lines,
    was accepted and made an empty workflow."""
    trace = tmp_path / "rsc_1000_1000.txt"
    trace.write_text(text)
    with pytest.raises(ProfileError, match=f"^{trace}: no executions with stage latencies"):
        janus.orion_workflow(tmp_path, deadline_ms=100)
