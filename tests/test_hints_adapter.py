"""Hint-set files and the adapter, on a hint set written by hand so the
expected decisions are obvious."""

import json
import threading

import numpy as np
import pytest

import janus
from janus import AdapterError, HintError, Size

S1, S2, S4 = Size(1000, 512), Size(2000, 512), Size(4000, 512)


def sz(s):
    return {"cpu_millis": s.cpu_millis, "memory_mib": s.memory_mib}


def hand_hints(features: bool = False) -> dict:
    """One function f (1000m, 2000m, 4000m): rules 100 -> 4000m, 300 -> [2000m,
    1000m], 600 -> 1000m; late runs get 2000m. With ``features``: a request
    feature ``kb`` and two classes split at 10 (small requests: 1000m always)."""
    wf = janus.Workflow(
        "w", deadline_ms=1000, percentile=0.9, features=["kb"] if features else None
    )
    wf.add("f", [S1, S2, S4])
    rules = [(100.0, [S4]), (300.0, [S2, S1]), (600.0, [S1])]
    table = {"rules": [{"min_remaining_ms": m, "sizes": [sz(s) for s in ss]} for m, ss in rules]}
    summary = {
        "class": None,
        "weight": 1.0,
        "expected_cost": 1.0,
        "miss_probability": 0.05,
        "feasible": True,
        "source": "dp",
    }
    h = {
        "schema_version": 2,
        "workflow": json.loads(wf.native.to_json()),
        "late": "static",
        "classes": None,
        "hints": [
            {
                "function": "f",
                "options": [sz(S1), sz(S2), sz(S4)],
                "fastest": sz(S4),
                "fallback": sz(S2),
                "tables": [table],
            }
        ],
        "summary": [summary],
        "plan": {
            "expected_cost": 1.0,
            "miss_probability": 0.05,
            "feasible": True,
            "chosen": "unconditioned",
            "candidates": [
                {
                    "name": "unconditioned",
                    "expected_cost": 1.0,
                    "miss_probability": 0.05,
                    "feasible": True,
                }
            ],
            "miss_target": 0.1,
            "reason": "written by hand",
        },
        "provenance": {
            "profile_digest": "0" * 64,
            "workflow_digest": wf.native.digest,
            "created_unix_s": 0,
            "janus_version": "test",
            "synthesis": "hand",
        },
    }
    if features:
        h["classes"] = {
            "features": ["kb"],
            "nodes": [
                {"split": {"feature": 0, "threshold": 10.0, "below": 1, "above": 2}},
                {"leaf": {"class": 0}},
                {"leaf": {"class": 1}},
            ],
        }
        small = {"rules": [{"min_remaining_ms": 0.0, "sizes": [sz(S1)]}]}
        h["hints"][0]["tables"] = [small, table, table]
        h["summary"] = [
            summary | {"class": 0, "weight": 0.5},
            summary | {"class": 1, "weight": 0.5},
            summary,
        ]
    return h


@pytest.fixture
def hints():
    return janus.HintSet.from_json(json.dumps(hand_hints()))


def test_decide_follows_the_remaining_budget(hints):
    a = janus.Adapter(hints)
    d = a.decide("f", elapsed_ms=200)
    assert (d.size, d.rule, d.late, d.remaining_ms) == (S1, 2, False, 800)
    assert a.decide("f", elapsed_ms=600).size == S2
    # Below every rule the run is late: the late fallback (here 2000m, static's), not the fastest.
    late = a.decide("f", elapsed_ms=950)
    assert (late.size, late.rule, late.late) == (S2, None, True)
    assert hints.fallback("f") == S2 and hints.late == "static"


def test_request_features_pick_the_class_at_every_call():
    h = janus.HintSet.from_json(json.dumps(hand_hints(features=True)))
    a = janus.Adapter(h)
    assert h.classes["count"] == 2 and h.class_of([3.0]) == 0
    assert h.classes["classes"][1]["description"] == "kb >= 10"
    small = a.decide("f", 900, features={"kb": 3.0})
    assert (small.size, small.input_class) == (S1, 0)
    assert a.decide("f", 900, features=[30.0]).size == S4
    assert a.decide("f", 900, features=30.0).input_class == 1
    assert a.decide("f", 900).input_class is None  # features unknown: the unconditioned table
    # A key the workflow lacks is named (a typo of 'kb'), before the missing 'kb'.
    with pytest.raises(AdapterError, match=r"'mb' is not a request feature of the workflow \(\["):
        a.decide("f", 0, features={"mb": 1.0})
    with pytest.raises(AdapterError, match="no value for request feature 'kb'"):
        a.decide("f", 0, features={})
    with pytest.raises(AdapterError, match="2 feature values"):
        a.decide("f", 0, features=[1.0, 2.0])
    out = a.decide_many("f", np.array([900.0, 900.0]), features=np.array([3.0, 30.0]))
    assert out["cpu_millis"].tolist() == [1000, 4000] and out["input_class"].tolist() == [0, 1]


def test_a_function_handle_and_run_keys_agree_with_decide(hints):
    a = janus.Adapter(hints)
    f = a.function("f")
    for e in (0.0, 450.0, 800.0, 2000.0):
        assert f.decide(e).size == a.decide("f", e).size
    assert f.function == "f"
    with pytest.raises(AdapterError, match="unknown function"):
        a.function("nope")
    assert janus.run_key("act-1") == janus.run_key("act-1") != janus.run_key("act-2")
    assert a.decide("f", 200, run_key="act-1").size == a.decide("f", 200, run_key=7).size
    with pytest.raises(AdapterError, match="run_key"):
        a.decide("f", 200, run_key=-1)


def test_decide_takes_the_first_ranked_size_that_fits(hints):
    a = janus.Adapter(hints)
    d = a.decide("f", elapsed_ms=600, free=Size(1500, 4096))
    assert (d.size, d.fits) == (S1, True)
    d = a.decide("f", elapsed_ms=600, free=(500, 4096))
    assert (d.size, d.fits) == (S2, False)


def test_decide_many_matches_decide(hints):
    a = janus.Adapter(hints)
    el = np.array([0.0, 200.0, 450.0, 600.0, 800.0, 950.0, 1200.0])
    out = a.decide_many("f", el)
    for i, e in enumerate(el):
        d = a.decide("f", float(e))
        assert out["cpu_millis"][i] == d.size.cpu_millis
        assert out["memory_mib"][i] == d.size.memory_mib
        assert out["rule"][i] == (-1 if d.rule is None else d.rule)
        assert out["late"][i] == d.late
    assert out["cpu_millis"].dtype == np.uint32
    with pytest.raises(AdapterError, match="elapsed_ms"):
        a.decide_many("f", np.array([1.0, -1.0]))
    with pytest.raises(AdapterError, match="feature rows"):
        a.decide_many("f", el, features=np.array([1.0]))
    with pytest.raises(AdapterError, match="unknown function"):
        a.decide_many("nope", np.array([], dtype=float))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda a: a.decide("nope", 0), "unknown function 'nope'"),
        (lambda a: a.decide("f", -1), "elapsed_ms"),
        (lambda a: a.decide("f", float("nan")), "elapsed_ms"),
        (lambda a: a.observe("f", Size(30, 30), 10.0), "not an option"),
        (lambda a: a.observe("f", S1, -10.0), "latency_ms"),
    ],
)
def test_bad_adapter_calls(hints, call, match):
    with pytest.raises(AdapterError, match=match):
        call(janus.Adapter(hints))


def test_observe_and_drift(hints):
    a = janus.Adapter(hints)
    for x in (100.0, 110.0, 120.0):
        a.observe("f", S1, x)
    assert a.observed == 3
    prof = janus.Profile.from_samples({("f", S1): [55.0]})
    [(fn, size, ratio)] = a.drift(prof, min_samples=3)
    assert (fn, size) == ("f", S1) and ratio == pytest.approx(2.0)
    assert a.observed_profile().latencies("f", S1).tolist() == [100.0, 110.0, 120.0]


def test_save_load_round_trip(hints, tmp_path):
    path = tmp_path / "w.hints.json"
    hints.save(path)
    assert janus.HintSet.load(path) == hints
    assert not list(tmp_path.glob("*.tmp*")), "atomic save leaves no temp file"
    assert hints.size_bytes == len(hints.to_json())
    assert hints.rules("f") == [(100.0, [S4]), (300.0, [S2, S1]), (600.0, [S1])]


def test_truncated_file(hints, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(hints.to_json()[:200])
    with pytest.raises(HintError, match="truncated"):
        janus.HintSet.load(path)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda h: h.update(schema_version=7), "schema_version 7 is not supported"),
        (lambda h: h.update(schema_version=1), "schema_version 1 is not supported"),
        (lambda h: h.pop("schema_version"), "schema_version"),
        (
            lambda h: h["hints"][0]["tables"][0]["rules"][1].update(min_remaining_ms=50),
            r"hints\[0\]\.tables\[0\]\.rules\[1\]",
        ),
        (lambda h: h["hints"][0]["tables"][0]["rules"][0].update(sizes=[]), r"rules\[0\]\.sizes"),
        (
            lambda h: h["hints"][0]["tables"][0]["rules"][0].update(
                sizes=[{"cpu_millis": 7, "memory_mib": 7}]
            ),
            "not one of the function's options",
        ),
        (lambda h: h["hints"][0].update(function="g"), r"hints\[0\]\.function"),
        (lambda h: h["hints"][0].update(fastest={"cpu_millis": "x"}), r"hints\[0\]\.fastest"),
        (
            lambda h: h["hints"][0].update(fallback={"cpu_millis": 9000, "memory_mib": 512}),
            r"hints\[0\]\.fallback",
        ),
        (lambda h: h["summary"][0].update({"class": 3}), r"summary\[0\]\.class"),
        (lambda h: h["plan"].update(chosen="magic"), r"plan\.chosen"),
        (lambda h: h["workflow"].update(name="renamed"), "workflow_digest"),
        (lambda h: h["hints"].clear(), "0 hints for 1 stages"),
        (lambda h: h["workflow"]["slo"].update(percentile=3), "percentile"),
        (
            lambda h: h["summary"][0].update(mix=0.5, primary=[1.0, 0.0]),
            r"hints\[0\]\.alt_tables\[0\]",
        ),
        (
            lambda h: (
                h["summary"][0].update(mix=1.5, primary=[1.0, 0.0]),
                h["hints"][0].update(alt_tables=h["hints"][0]["tables"]),
            ),
            r"summary\[0\]\.mix",
        ),
        (
            lambda h: (
                h["summary"][0].update(mix=0.5),
                h["hints"][0].update(alt_tables=h["hints"][0]["tables"]),
            ),
            "both `mix` and `primary`",
        ),
        (lambda h: h["hints"][0].update(alt_tables=[{"rules": []}] * 3), r"alt_tables: 3 tables"),
    ],
)
def test_hand_edited_nonsense_names_the_json_path(edit, match):
    h = hand_hints()
    edit(h)
    with pytest.raises(HintError, match=match):
        janus.HintSet.from_json(json.dumps(h), "edited.json")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda h: h["classes"].update(features=["mb"]), r"classes\.features: \[\"mb\"\] but"),
        (
            lambda h: h["classes"]["nodes"][0]["split"].update(feature=1),
            r"classes\.nodes\[0\]\.split\.feature: 1 but there are 1 features",
        ),
        (lambda h: h["classes"]["nodes"][2]["leaf"].update({"class": 5}), r"classes\.nodes\[2\]"),
        (lambda h: h["summary"][1].update({"class": 7}), r"summary\[1\]\.class"),
        (lambda h: h["summary"][2].update({"class": 0}), r"summary\[2\]\.class"),
        (lambda h: h["hints"][0]["tables"].pop(), r"hints\[0\]\.tables"),
    ],
)
def test_input_classes_must_match_the_workflow_and_the_tables(edit, match):
    """Issue 9, item 14: the classes read the workflow's request features, name
    only classes that have tables, and the summary has one entry per table."""
    h = hand_hints(features=True)
    janus.HintSet.from_json(json.dumps(h))  # valid before the edit
    edit(h)
    with pytest.raises(HintError, match=match):
        janus.HintSet.from_json(json.dumps(h), "edited.json")


def one_size_hints(size: Size) -> janus.HintSet:
    """The hand-written hint set with one rule: ``size`` whatever the budget."""
    h = hand_hints()
    h["hints"][0]["tables"][0]["rules"] = [{"min_remaining_ms": 0.0, "sizes": [sz(size)]}]
    return janus.HintSet.from_json(json.dumps(h))


@pytest.mark.parametrize("run", range(3))
def test_a_batch_spanning_swaps_answers_from_one_hint_set(run):
    """Issue 9, item 7: decide_many takes one snapshot of the hint set per
    batch. Another thread swaps between a hint set that always answers S1 and
    one that always answers S2 while batches run (without the GIL): every
    batch is all S1 or all S2, never a mix."""
    one, two = one_size_hints(S1), one_size_hints(S2)
    a = janus.Adapter(one)
    stop = threading.Event()
    swaps = [0]

    def swapper() -> None:
        while not stop.is_set():
            a.swap(two if swaps[0] % 2 == 0 else one)
            swaps[0] += 1

    t = threading.Thread(target=swapper, daemon=True)
    t.start()
    elapsed = np.linspace(0.0, 999.0, 200_000)  # never late: the rule decides
    spanned = 0
    try:
        for _ in range(30):
            before = swaps[0]
            cpu = a.decide_many("f", elapsed)["cpu_millis"]
            spanned += swaps[0] > before + 1  # a swap began and ended during the batch
            assert len(set(cpu.tolist())) == 1, f"a batch mixed two hint sets: {set(cpu.tolist())}"
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()
    assert spanned > 0, "no swap happened during a batch: the test proved nothing"


def test_swap_is_atomic_and_checks_workflow(hints):
    a = janus.Adapter(hints)
    h = hand_hints()
    h["hints"][0]["tables"][0]["rules"] = [{"min_remaining_ms": 0.0, "sizes": [sz(S2)]}]
    a.swap(janus.HintSet.from_json(json.dumps(h)))
    assert a.decide("f", 10).size == S2
    # Same name, another SLO: another workflow (the digest differs).
    other = hand_hints()
    other["workflow"]["slo"]["deadline_ms"] = 300.0
    wf = janus.NativeWorkflow.from_json(json.dumps(other["workflow"]))
    other["provenance"]["workflow_digest"] = wf.digest
    with pytest.raises(AdapterError, match="another workflow"):
        a.swap(janus.HintSet.from_json(json.dumps(other)))


def two_feature_hints() -> janus.HintSet:
    """Hints synthesized from a keyed profile whose latency depends on two
    request features, so that most rows of a batch land in distinct classes."""
    rng = np.random.default_rng(0)
    n = 300
    x = np.exp(rng.normal(0, 0.7, (n, 2)))
    wf = janus.Workflow("two", deadline_ms=500, features=["f0", "f1"])
    for s in ("a", "b"):
        wf.add(s, [Size(c, 512) for c in (500, 1000, 2000)])
    wf.chain("a", "b")
    p = janus.Profile(["f0", "f1"])
    keys = [f"r{i}" for i in range(n)]
    for s in ("a", "b"):
        for c in (500, 1000, 2000):
            lat = (20 + 60 * x[:, 0] * x[:, 1] ** 0.5 / (c / 1000)) * np.exp(rng.normal(0, 0.1, n))
            p.add(s, (c, 512), lat, keys=keys, features=x)
    h = janus.synthesize(wf, p)
    assert h.classes is not None and h.classes["count"] > 2, "the test needs several classes"
    return h


def test_decide_many_reads_any_memory_layout_as_rows():
    """A Fortran-ordered feature array (what pandas' to_numpy() gives) was read
    column by column: the batch decided other requests' classes and sizes."""
    a = janus.Adapter(two_feature_hints())
    rng = np.random.default_rng(1)
    rows = np.exp(rng.normal(0, 0.7, (200, 2)))
    elapsed = rng.uniform(0, 300, 200)
    want = [a.decide("a", float(e), features=list(r)) for e, r in zip(elapsed, rows)]
    layouts = {
        "C": rows,
        "Fortran": np.asfortranarray(rows),
        "strided": np.repeat(rows, 2, axis=0)[::2],
        "transposed": np.ascontiguousarray(rows.T).T,
    }
    for name, f in layouts.items():
        out = a.decide_many("a", elapsed, features=f)
        assert out["input_class"].tolist() == [d.input_class for d in want], name
        assert out["cpu_millis"].tolist() == [d.size.cpu_millis for d in want], name
    assert len({d.input_class for d in want}) > 2, "rows in one class would not tell layouts apart"
    # Integer and list inputs are numbers too; a wrong shape names its argument.
    ints = a.decide_many("a", [0, 100, 200], features=[[1, 2], [3, 1], [1, 1]])
    floats = a.decide_many(
        "a", np.array([0.0, 100.0, 200.0]), features=np.array([[1.0, 2.0], [3.0, 1.0], [1.0, 1.0]])
    )
    assert ints["cpu_millis"].tolist() == floats["cpu_millis"].tolist()
    with pytest.raises(AdapterError, match="elapsed_ms must be a 1-D array"):
        a.decide_many("a", np.zeros((2, 2)))
    with pytest.raises(AdapterError, match="features must be an"):
        a.decide_many("a", np.zeros(2), features=np.zeros((2, 2, 2)))
    with pytest.raises(AdapterError, match="run_keys must be"):
        a.decide_many("a", np.zeros(2), run_keys=["x", "y"])
