"""Workflow definition: the decorator API, DAG shapes and every bad input."""

import json

import numpy as np
import pytest

import janus
from janus import Size, WorkflowError


def test_decorator_chain_and_fanout():
    wf = janus.Workflow("pipeline", deadline_ms=20_000, percentile=0.95)

    @wf.function(options=janus.sizes(cpu_millis=[250, 500, 1000, 2000], memory_mib=1024))
    def preprocess(x):
        return x

    @wf.function(options=janus.sizes([1000, 2000], [1024, 2048]), fanout=4)
    def train(x):
        return x

    wf.chain(preprocess, train)
    assert wf.stages == ["preprocess", "train"]
    assert wf.blocks == [["preprocess"], ["train"]]
    assert wf.native.fanout("train") == 4
    assert len(wf.native.options("train")) == 4
    assert wf.functions["train"] is train
    assert preprocess(3) == 3  # the decorator returns the function itself


def test_parallel_block_is_one_level():
    wf = janus.Workflow("dag", deadline_ms=1000)
    for n in "abcd":
        wf.add(n, [Size(500, 256)])
    wf.chain("a", ["b", "c"], "d")
    assert wf.blocks == [["a"], ["b", "c"], ["d"]]
    assert wf.native.approximation is None


def test_non_series_parallel_dag_says_what_is_approximated():
    wf = janus.Workflow("odd", deadline_ms=1000)
    for n in "abcde":
        wf.add(n, [Size(500, 256)])
    wf.chain("a", "b", "c", "e")
    wf.edge("a", "d").edge("d", "e")
    assert "barrier" in wf.native.approximation


def test_cycle_is_rejected_where_it_is_made_and_state_is_kept():
    wf = janus.Workflow("cyc", deadline_ms=1000)
    for n in "abc":
        wf.add(n, [Size(500, 256)])
    wf.chain("a", "b", "c")
    with pytest.raises(WorkflowError, match="cycle"):
        wf.edge("c", "a")
    assert wf.blocks == [["a"], ["b"], ["c"]]  # the bad edge was not kept


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda wf: wf.add("f", []), "no size options"),
        (lambda wf: wf.add("f", [Size(500, 256), Size(500, 256)]), "twice"),
        (lambda wf: wf.add("f", [Size(0, 256)]), "cpu_millis"),
        (lambda wf: wf.add("../x", [Size(500, 256)]), "invalid: it contains '..'"),
        (lambda wf: wf.add(".", [Size(500, 256)]), "invalid: '.' names the current folder"),
        (
            lambda wf: [wf.add(n, [Size(500, 256)]) for n in "ab"] and wf.chain("a", "b", "a"),
            "cycle through (a -> b -> a|b -> a -> b)",
        ),
        (lambda wf: wf.add("f", [Size(500, 256)], fanout=0), "fanout"),
        (lambda wf: wf.add("f", ["big"]), "not a janus.Size"),
        (lambda wf: wf.add("f", [Size(500, 256)], fanout=5000), "fanout 5000"),
        (lambda wf: wf.add("f", [("a", "b")]), "must be an integer"),
        (lambda wf: wf.add("f", [(5, 256)]), "at least 10"),
        (lambda wf: (wf.add("f", [Size(10, 1)]), wf.edge("f", "nope")), "unknown stage"),
        (lambda wf: (wf.add("f", [Size(10, 1)]), wf.add("f", [Size(10, 1)])), "defined twice"),
        (lambda wf: wf.feature("a/b", len), "feature name"),
        (lambda wf: (wf.feature("kb", len), wf.feature("kb", len)), "declared twice"),
        (lambda wf: wf.feature("kb", 3), "needs a callable"),
        (lambda wf: wf.function([Size(500, 256)], feature=len), "belong to the request"),
    ],
)
def test_bad_workflows(build, match):
    wf = janus.Workflow("bad", deadline_ms=1000)
    with pytest.raises(WorkflowError, match=match):
        build(wf)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: janus.Workflow(3, deadline_ms=100), "workflow name must be a string, got 3"),
        (lambda: janus.Workflow("w", deadline_ms=None), "deadline_ms must be a number, got None"),
        (lambda: janus.Workflow("w", deadline_ms="5"), "deadline_ms must be a number, got '5'"),
        (lambda: janus.Workflow("w", 100, percentile=True), "percentile must be a number"),
        (lambda: janus.Workflow("w", 100, cost_model=1.0), "cost_model must be a janus.CostModel"),
        (
            lambda: janus.Workflow("w", 100).add(None, [Size(500, 256)]),
            "stage name must be a string",
        ),
        (lambda: janus.Workflow("w", 100).add("f", None), "options of 'f' must be a list"),
        (lambda: janus.Workflow("w", 100).add("f", "500m"), "options of 'f' must be a list"),
        (
            lambda: janus.Workflow("w", 100).add("f", [Size(500, 256)], fanout=2**64),
            "fanout of 'f' must be at most 4294967295",
        ),
        (lambda: janus.Workflow("w", 100).add("f", [Size(500, 256)], fanout=1.5), "an integer"),
        (lambda: janus.Workflow("w", 100).add("f", [Size(500, 256)], fanout=True), "an integer"),
        (lambda: janus.Workflow("w", 100).feature(7), "feature name must be a string"),
        (lambda: Size(-1, 256), "cpu_millis must be at least 10, got -1"),
        (lambda: Size(500, -1), "memory_mib must be at least 1, got -1"),
        (
            lambda: Size(2**64, 256),
            "cpu_millis must be at most 4294967295, got 18446744073709551616",
        ),
    ],
)
def test_arguments_of_the_wrong_type_are_workflow_errors(build, match):
    """Not pyo3's TypeError or OverflowError (found by tests/test_no_panics.py's
    builder fuzzer): the same typed error as a value out of range."""
    with pytest.raises(WorkflowError, match=match):
        build()


@pytest.mark.parametrize("fanout", [4097, 2**31, 2**32 - 1])
def test_fanouts_beyond_what_the_model_computes_are_refused_everywhere(fanout):
    """Issue 9, item 16: fan-outs of 2^31 and more gave wrong answers and
    made simulate run for hours; the bound (4096) holds for code and JSON."""
    with pytest.raises(WorkflowError, match=f"fanout {fanout}; it must be in 1..=4096"):
        janus.Workflow("w", 100).add("f", [Size(500, 256)], fanout=fanout)
    wf = janus.Workflow("w", 100)
    wf.add("f", [Size(500, 256)], fanout=4096)
    doc = json.loads(wf.native.to_json())
    doc["stages"][0]["fanout"] = fanout
    with pytest.raises(WorkflowError, match="fanout"):
        janus.NativeWorkflow.from_json(json.dumps(doc))


def test_numpy_integers_are_integers():
    wf = janus.Workflow("np", deadline_ms=np.float64(100.0))
    wf.add("f", [(np.int64(500), np.uint32(256))], fanout=np.int32(2))
    assert wf.native.options("f") == [Size(500, 256)] and wf.native.fanout("f") == 2


@pytest.mark.parametrize(
    "deadline, pct", [(0, 0.9), (-5, 0.9), (float("nan"), 0.9), (100, 1.0), (100, 0.0)]
)
def test_bad_slo(deadline, pct):
    with pytest.raises(WorkflowError):
        janus.Workflow("bad", deadline_ms=deadline, percentile=pct)


@pytest.mark.parametrize("name", ["", "../x", "a/b", "x\0y", "n" * 10_000])
def test_bad_workflow_names(name):
    with pytest.raises(WorkflowError, match="workflow name"):
        janus.Workflow(name, deadline_ms=100)


def test_an_empty_workflow_is_a_clear_error():
    wf = janus.Workflow("empty", deadline_ms=100)
    with pytest.raises(WorkflowError, match="no stages"):
        _ = wf.native
    with pytest.raises(WorkflowError, match="no stages"):
        _ = wf.blocks
    with pytest.raises(WorkflowError, match="no stages"):
        janus.synthesize(wf, janus.Profile())


def test_request_features_are_computed_from_the_request():
    wf = janus.Workflow("feat", deadline_ms=100, features={"kb": lambda r: len(r) / 1024})
    wf.feature("items", lambda r: r.count(b","))
    wf.add("f", [Size(500, 256)])
    assert wf.features == ["kb", "items"] and wf.native.features == ["kb", "items"]
    assert wf.request_features(b"a,b," + b"x" * 1020) == [1.0, 2.0]
    with pytest.raises(WorkflowError, match="'kb' failed: TypeError"):
        wf.request_features(None)
    names_only = janus.Workflow("trace", deadline_ms=100, features=["kb"])
    assert (
        names_only.request_features(b"x") is None
    )  # no function: the value must come from elsewhere


def test_a_failed_chain_leaves_the_workflow_as_it_was():
    wf = janus.Workflow("chain", deadline_ms=100)
    for n in "abc":
        wf.add(n, [Size(500, 256)])
    wf.chain("a", "b")
    with pytest.raises(WorkflowError, match="cycle"):
        wf.chain("b", "c", "a", "b")
    assert wf.native.edges == [("a", "b")]
    wf.chain("b", "c")
    assert wf.blocks == [["a"], ["b"], ["c"]]


def test_errors_share_one_hierarchy():
    for cls in (
        janus.WorkflowError,
        janus.ProfileError,
        janus.SynthesisError,
        janus.HintError,
        janus.AdapterError,
        janus.ActuationError,
        janus.ReplayError,
    ):
        assert issubclass(cls, janus.JanusError)


def test_size_and_cost_model():
    s = Size(1500, 2048)
    assert (s.cpu_millis, s.memory_mib, s.cores, s.gib) == (1500, 2048, 1.5, 2.0)
    assert s == Size(1500, 2048) and hash(s) == hash(Size(1500, 2048))
    assert Size(500, 512).fits_in(s) and not Size(2000, 512).fits_in(s)
    cm = janus.CostModel(cpu_price=2.0, mem_price=0.5)
    assert cm.cost(s, 2000) == pytest.approx(2 * (2.0 * 1.5 + 0.5 * 2.0))
    assert janus.CostModel.memory_only().rate(s) == pytest.approx(2.0)
    for bad in [(-1, 5), (0, 512), (9, 512), (500, 0), ("a", 5)]:
        with pytest.raises(WorkflowError):
            Size(*bad)
    with pytest.raises(WorkflowError, match="prices"):
        janus.CostModel(cpu_price=float("nan"))
    import pickle

    assert pickle.loads(pickle.dumps(s)) == s


def test_stages_can_be_added_before_edges_but_huge_blocks_cannot_be_synthesized():
    opts = janus.sizes([250, 500, 1000, 2000], 1024)
    wf = janus.Workflow("wide", deadline_ms=10_000)
    names = [f"s{i}" for i in range(8)]
    for n in names:
        wf.add(n, opts)  # all in one parallel level until the edges come
    prof = janus.Profile.from_samples({(n, o): [100.0, 120.0] for n in names for o in opts})
    with pytest.raises(WorkflowError, match="joint size options"):
        janus.synthesize(wf, prof)
    with pytest.raises(WorkflowError, match="joint size options"):
        janus.simulate(wf, prof, runs=10)
    wf.chain(*names)
    assert len(wf.blocks) == 8
    assert janus.synthesize(wf, prof, buckets=50).feasible
