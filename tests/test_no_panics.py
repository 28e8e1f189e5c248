"""Whatever a user hands over, Janus answers with a JanusError, never a Rust
panic (pyo3's PanicException derives from BaseException, not Exception)."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import janus
from janus import Size

SMALL, BIG = Size(250, 128), Size(4000, 8192)


def refused_cleanly(e: janus.JanusError) -> None:
    """A JanusError is the expected answer to bad input, unless it is Janus
    failing its own checks ("internal error, please report"): that is a bug."""
    assert "internal error" not in str(e), f"{type(e).__name__}: {e}"


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)


def good_hints_json() -> dict:
    wf = janus.Workflow("p", deadline_ms=500, percentile=0.9)
    wf.add("a", [SMALL, BIG])
    wf.add("b", [SMALL, BIG])
    wf.chain("a", "b")
    prof = janus.Profile.from_samples(
        {("a", SMALL): [100, 300], ("a", BIG): [50, 60], ("b", SMALL): [200], ("b", BIG): [40]}
    )
    return json.loads(janus.synthesize(wf, prof, buckets=50).to_json())


BASE = good_hints_json()


def paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, (*prefix, i))


ALL_PATHS = [p for p in paths(BASE) if p]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_PATHS), json_values)
def test_any_edit_of_a_hint_file_is_accepted_or_a_hint_error(path, value):
    doc = json.loads(json.dumps(BASE))
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    try:
        h = janus.HintSet.from_json(json.dumps(doc))
    except janus.HintError as e:
        refused_cleanly(e)
        return
    # accepted: it must then be usable without surprises
    a = janus.Adapter(h)
    for f in ("a", "b"):
        for e in (0.0, 250.0, 1e9):
            try:
                a.decide(f, e)
            except janus.AdapterError as err:
                refused_cleanly(err)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1e7), min_size=1, max_size=12),
    st.lists(st.floats(0, 1e7), min_size=1, max_size=12),
    st.floats(1e-3, 1e8),
    st.floats(0.01, 0.999),
    st.integers(10, 300),
)
def test_synthesis_on_extreme_samples_never_panics(xa, xb, deadline, pct, buckets):
    wf = janus.Workflow("x", deadline_ms=deadline, percentile=pct)
    wf.add("a", [SMALL, BIG], fanout=3)
    wf.add("b", [SMALL, BIG])
    wf.add("c", [SMALL])
    wf.chain("a", ["b", "c"])
    prof = janus.Profile.from_samples(
        {
            ("a", SMALL): xa,
            ("a", BIG): np.array(xa) / 2,
            ("b", SMALL): xb,
            ("b", BIG): xb[::-1],
            ("c", SMALL): xa + xb,
        }
    )
    try:
        h = janus.synthesize(wf, prof, buckets=buckets, max_rules=2)
    except janus.JanusError as e:
        refused_cleanly(e)
        return
    a = janus.Adapter(h)
    out = a.decide_many("b", np.linspace(0, deadline * 2, 7))
    assert set(out["cpu_millis"]) <= {SMALL.cpu_millis, BIG.cpu_millis}
