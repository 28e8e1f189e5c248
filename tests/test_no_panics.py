"""Whatever a user hands over, Janus answers with a typed error naming what is
wrong and where, never a Rust panic (pyo3's PanicException derives from
BaseException, so ``except Exception`` would not even see it) and never
another exception (issue 9).

Fuzzers with fixed seeds (tests/fuzz_support.py says which mutations):
- hint files: mutated hint sets (with input classes, and with a per-run
  mixture) are loaded from a file; a failure must be a ``HintError`` naming
  the file. What loads must then work for every reader: the adapter
  (``decide``, ``decide_many``), the rules and fallbacks of every table,
  ``janus hints``' text, a replay, and save -> load;
- workflow and profile files: a mutated workflow (JSON), a mutated profile
  (a file), or both, go through loading, ``synthesize``, ``best_static`` and
  the adapter's decisions; a profile's failure must name its file;
- the ``Workflow`` builder with hostile names, SLOs, options and fanouts.
"""

from __future__ import annotations

import json
import random
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from fuzz_support import Mutator, clean_failure, single_edits, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import janus
from janus import Size, _janus
from janus.hints_text import describe, table_keys
from janus.workflow_file import load_workflow_file

REPO = Path(__file__).resolve().parents[1]
SEED = 20240909
HINT_CASES = 2000
PAIR_CASES = 2000
BUILDER_CASES = 1500
SMALL, BIG = Size(250, 128), Size(4000, 8192)
NAMES = ["parse", "transform", "store", "kb", "a", "b"]  # planted to break cross references


def demo_pair() -> tuple[janus.Workflow, janus.Profile]:
    """The demo workflow (3 stages, a fan-out, a request feature) and its
    keyed profile (40 requests, every stage at every size)."""
    wf = load_workflow_file(REPO / "examples" / "demo_workflow.py").workflow
    return wf, janus.Profile.load(str(REPO / "docs" / "demo-profile.json"))


def two_stage_pair() -> tuple[janus.Workflow, janus.Profile]:
    wf = janus.Workflow("two", deadline_ms=1000, percentile=0.9)
    wf.add("a", [SMALL, BIG])
    wf.add("b", [SMALL, BIG])
    wf.chain("a", "b")
    rng = np.random.default_rng(1)
    a = np.where(rng.random(200) < 0.5, 200.0, 600.0) + rng.uniform(0, 20, 200)
    prof = janus.Profile.from_samples(
        {
            ("a", SMALL): a,
            ("a", BIG): a / 1.5,
            ("b", SMALL): 600.0 + rng.uniform(0, 20, 200),
            ("b", BIG): 300.0 + rng.uniform(0, 10, 200),
        }
    )
    return wf, prof


def hint_bases() -> list[tuple[str, dict, janus.NativeWorkflow, janus.Profile]]:
    """Valid hint sets to mutate: with input classes (the demo), and with a
    per-run mixture (alternative rules and primary predictions)."""
    out = []
    wf, prof = demo_pair()
    h = janus.synthesize(wf, prof)
    assert h.classes is not None, "the demo base has input classes"
    out.append(("classes", json.loads(h.to_json()), wf.native, prof))
    wf, prof = two_stage_pair()
    h = janus.synthesize(wf, prof, mix=True, buckets=100)
    assert h.summary[0]["mix"] is not None, "the two-stage base is a mixture"
    out.append(("mixed", json.loads(h.to_json()), wf.native, prof))
    return out


def use_hints(h: janus.HintSet, path: str, wf: janus.NativeWorkflow, prof, case: str) -> None:
    """Everything a reader does with a hint set that loaded: it must work, or
    refuse a bad argument with a JanusError."""
    w = h.workflow
    a = janus.Adapter(h)
    nf = len(w.features)
    feats = [None, [1000.0] * nf, [1e12] * nf, [-1.0] * nf, [0.0] * (nf + 1)]
    for f in [*w.stages, "no-such-stage"]:
        for elapsed in (0.0, w.deadline_ms / 2, 1e12, -5.0):
            for x in feats[:3]:
                clean_failure(
                    partial(a.decide, f, elapsed, features=x), janus.AdapterError, None, case
                )
        clean_failure(
            partial(a.decide, f, 1.0, features=feats[4], run_key="r1"),
            janus.AdapterError,
            None,
            case,
        )
        el = np.array([0.0, w.deadline_ms / 3, w.deadline_ms, 1e9])
        fm = np.full((4, nf), 2000.0) if nf else None
        clean_failure(partial(a.decide_many, f, el, features=fm), janus.AdapterError, None, case)
        if f in w.stages:
            for t in table_keys(h):
                h.rules(f, t)
                h.rules(f, t, alternative=True)
            h.fallback(f)
    if nf:
        h.class_of([1000.0] * nf)
    describe(h, path)  # janus hints
    copy = Path(path).with_suffix(".again.json")
    h.save(str(copy))
    assert janus.HintSet.load(str(copy)) == h, f"{case}: save -> load changed the hint set"
    clean_failure(
        lambda: janus._janus.replay(wf, prof, prof, [("j", "janus", h)], runs=20),
        janus.JanusError,
        None,
        case,
    )


def restamp(text: str) -> str | None:
    """The file with its ``provenance.workflow_digest`` made to match its
    (mutated) workflow, as someone editing a hint file by hand would do: then
    the edit reaches the checks behind the digest. None if there is no
    readable workflow to stamp."""
    try:
        doc = json.loads(text)
        wf = janus.NativeWorkflow.from_json(json.dumps(doc["workflow"]))
        doc["provenance"]["workflow_digest"] = wf.digest
        return json.dumps(doc)
    except (ValueError, KeyError, TypeError, RecursionError, janus.JanusError):
        return None


def check_hint_file(path: str, text: str, base: tuple, case: str) -> bool:
    """Load ``text`` from ``path``: a HintError naming the file, or a hint set
    every reader can use. True if it loaded."""
    _, _, wf, prof = base
    write(path, text)
    h = clean_failure(partial(janus.HintSet.load, path), janus.HintError, path, case)
    if h is None:
        return False
    clean_failure(partial(use_hints, h, path, wf, prof, case), (), None, case)
    return True


def test_every_field_of_a_hint_file_deleted_or_replaced(tmp_path):
    """Each node of both base files on its own: deleted, null, -1, "" and []
    (a workflow edit with its digest restamped, so it meets the checks behind it)."""
    path = str(tmp_path / "h.json")
    cases = loaded = 0
    for base in hint_bases():
        for doc, what in single_edits(base[1]):
            text = json.dumps(doc)
            if what.split(" at ")[1].startswith("workflow"):
                text = restamp(text) or text
            loaded += check_hint_file(path, text, base, f"{base[0]}: {what}")
            cases += 1
    assert cases > 2000 and cases // 50 < loaded < cases, (cases, loaded)


def test_mutated_hint_files_load_and_work_or_fail_with_a_hint_error_naming_the_file(tmp_path):
    """Random combinations of one to three mutations, some at the text level."""
    bases = hint_bases()
    m, pick = Mutator(SEED, NAMES), random.Random(SEED + 5)
    path = str(tmp_path / "h.json")
    loaded = 0
    for i in range(HINT_CASES):
        base = bases[i % len(bases)]
        text, what = m.case(base[1])
        if pick.random() < 0.3 and (stamped := restamp(text)) is not None:
            text, what = stamped, what + "; digest restamped"
        loaded += check_hint_file(path, text, base, f"hint case {i} ({base[0]}: {what})")
    # The mutations reach past the parser: many files load and are used.
    assert HINT_CASES // 20 < loaded < HINT_CASES, loaded


def load_workflow_json(text: str, case: str) -> janus.NativeWorkflow | None:
    # from_json takes a str: one with an invalid byte arrives as U+FFFD
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean_failure(
        partial(janus.NativeWorkflow.from_json, text), janus.WorkflowError, "workflow JSON", case
    )


def check_pair(wtext: str, ptext: str, path: str, case: str) -> bool:
    """A workflow (JSON text) and a profile (a file at ``path``) through
    loading, synthesis, the best static plan and the adapter: a typed error
    (a profile's naming its file) or answers. True if hints were synthesized."""
    wf = load_workflow_json(wtext, case)
    write(path, ptext)
    prof = clean_failure(partial(janus.Profile.load, path), janus.ProfileError, path, case)
    if wf is None or prof is None:
        return False
    h = clean_failure(partial(janus.synthesize, wf, prof, buckets=60), janus.JanusError, None, case)
    clean_failure(partial(janus.best_static, wf, prof), janus.JanusError, None, case)
    if h is None:
        return False
    a = janus.Adapter(h)
    x = [1000.0] * len(wf.features) or None
    for f in wf.stages:
        for elapsed in (0.0, wf.deadline_ms / 2, 1e12):
            clean_failure(partial(a.decide, f, elapsed, features=x), janus.AdapterError, None, case)
    return True


def pair_bases() -> list[tuple[dict, dict]]:
    """The demo and the two-stage workflow and profile, as JSON documents."""
    pairs = [demo_pair(), two_stage_pair()]
    return [(json.loads(w.native.to_json()), json.loads(p.to_json())) for w, p in pairs]


def test_every_field_of_a_workflow_deleted_or_replaced(tmp_path):
    """Each node of both workflows on its own (deleted, null, -1, "", []),
    synthesized with its unchanged profile."""
    path = str(tmp_path / "p.json")
    cases = synthesized = 0
    for wbase, pbase in pair_bases():
        ptext = json.dumps(pbase)
        for doc, what in single_edits(wbase):
            synthesized += check_pair(json.dumps(doc), ptext, path, f"workflow {what}")
            cases += 1
    assert cases > 400 and 0 < synthesized < cases, (cases, synthesized)


def test_mutated_workflow_and_profile_files_synthesize_or_fail_cleanly(tmp_path):
    """Random mutations of the workflow, the profile or both."""
    bases = pair_bases()
    mw, mp, pick = Mutator(SEED + 1, NAMES), Mutator(SEED + 2, NAMES), random.Random(SEED + 3)
    path = str(tmp_path / "p.json")
    synthesized = 0
    for i in range(PAIR_CASES):
        wbase, pbase = bases[i % len(bases)]
        which = pick.choice(["workflow", "profile", "profile", "both"])
        wtext, wwhat = mw.case(wbase) if which != "profile" else (json.dumps(wbase), "")
        ptext, pwhat = mp.case(pbase) if which != "workflow" else (json.dumps(pbase), "")
        case = f"pair case {i} (workflow: {wwhat or 'as is'}; profile: {pwhat or 'as is'})"
        synthesized += check_pair(wtext, ptext, path, case)
    assert PAIR_CASES // 20 < synthesized < PAIR_CASES, synthesized


HOSTILE_NAMES = ["", "..", "a/b", "../x", "a\x00b", "x" * 10_000, " ", "é", 3, None]
HOSTILE_NUMBERS = [0, -1, 0.0, -0.0, 1e-300, 1e300, float("nan"), float("inf"), 2**64, "5", None]
HOSTILE_OPTIONS = [
    [("a", "b")],
    [(0, 128)],
    [(9, 128)],
    [(250, 0)],
    [(250.5, 128)],
    [(2**32, 128)],
    [(-250, 128)],
    [],
    None,
    "250m",
    [SMALL, SMALL],
    [(250, 128, 1)],
    [{"cpu_millis": 250}],
]


def test_hostile_values_through_the_workflow_builder():
    rng = random.Random(SEED + 4)
    built = 0
    for i in range(BUILDER_CASES):
        good = {"name": "w", "deadline": 500.0, "pct": 0.9, "opts": [SMALL, BIG], "fanout": 2}
        bad = rng.sample(list(good), rng.choice([1, 1, 2]))
        v = dict(good)
        for k in bad:
            v[k] = rng.choice(
                {
                    "name": HOSTILE_NAMES,
                    "deadline": HOSTILE_NUMBERS,
                    "pct": HOSTILE_NUMBERS + [1.0, 1.5],
                    "opts": HOSTILE_OPTIONS,
                    "fanout": HOSTILE_NUMBERS + [2**31, 2**32 - 1, 1.5, True],
                }[k]
            )
        case = f"builder case {i}: {', '.join(f'{k}={str(v[k])[:20]!r}' for k in bad)}"

        def build(v=v):
            wf = janus.Workflow(v["name"], deadline_ms=v["deadline"], percentile=v["pct"])
            wf.add("s1", [SMALL])
            wf.add("s2", v["opts"], fanout=v["fanout"])
            wf.chain("s1", "s2")
            return wf.native

        if clean_failure(build, janus.WorkflowError, None, case) is not None:
            built += 1
    assert 0 < built < BUILDER_CASES


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
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
    case = f"samples {xa} / {xb}, deadline {deadline}, p{pct}, {buckets} buckets"
    h = clean_failure(
        lambda: janus.synthesize(wf, prof, buckets=buckets, max_rules=2),
        janus.JanusError,
        None,
        case,
    )
    if h is None:
        return
    out = janus.Adapter(h).decide_many("b", np.linspace(0, deadline * 2, 7))
    assert set(out["cpu_millis"]) <= {SMALL.cpu_millis, BIG.cpu_millis}


def test_the_checker_catches_a_panic_and_a_stray_exception():
    """clean_failure itself can fail: a PanicException-like BaseException, a
    ValueError, or a JanusError that does not name the file are reported."""

    class PanicException(BaseException):  # the name pyo3 gives its panic type
        pass

    def panic():
        raise PanicException("called `Option::unwrap()` on a `None` value")

    with pytest.raises(AssertionError, match="a Rust panic reached Python"):
        clean_failure(panic, janus.JanusError, None, "case")
    with pytest.raises(AssertionError, match="ValueError"):
        clean_failure(lambda: int("x"), janus.JanusError, None, "case")
    with pytest.raises(AssertionError, match="does not name /some/file"):
        clean_failure(lambda: janus.HintSet.load("/nope"), janus.HintError, "/some/file", "c")
    assert clean_failure(lambda: janus.HintSet.load("/nope"), janus.HintError, "/nope", "c") is None


@pytest.mark.parametrize(
    "bad, says",
    [
        (-1, r"at least \d+, got -1"),
        (-(2**200), r"at least \d+"),
        (2**64, r"at most (2\*\*64 - 1|4294967295), got 18446744073709551616"),
        (1.5, "an integer, got 1.5"),
        (True, "an integer, got True"),
    ],
)
def test_integer_arguments_out_of_range_are_typed_errors_naming_them(two_stage, bad, says):
    """A negative seed, count or setting (or one past its Rust type) used to
    be pyo3's bare OverflowError ("can't convert negative int to unsigned")
    with no word on which argument; now the area's JanusError names it."""
    wf, prof = two_stage
    hints = janus.synthesize(wf, prof)
    adapter = janus.Adapter(hints)
    dry = _janus.Actuator.dry_run("test-int-args")
    calls = [
        (lambda: prof.split(0.5, bad), janus.ProfileError, "Profile.split: seed"),
        (lambda: janus.wilson_interval(bad, 10), janus.ProfileError, "wilson_interval: hits"),
        (lambda: janus.wilson_interval(1, bad), janus.ProfileError, "wilson_interval: n"),
        (lambda: janus.simulate(wf, prof, runs=bad), janus.ReplayError, "simulate: runs"),
        (lambda: janus.simulate(wf, prof, seed=bad), janus.ReplayError, "simulate: seed"),
        (lambda: adapter.drift(prof, min_samples=bad), janus.AdapterError, "min_samples"),
        (lambda: adapter.drift_by_function(prof, bad), janus.AdapterError, "min_samples"),
        (
            lambda: _janus.serve([], "/nonexistent", compact_at=bad),
            janus.ServeError,
            "serve: compact_at",
        ),
        (lambda: dry.apply("w", bad, 256), janus.ActuationError, "Actuator.apply: cpu_millis"),
    ]
    for call, error, names in calls:
        with pytest.raises(error, match=f"{names} must be {says}"):
            call()
    # In range, the same calls work (numpy's integers are integers).
    assert prof.split(0.5, np.uint8(3))[0].split(0.5)[0].summary()
    assert janus.wilson_interval(np.int64(9), 10)[1] <= 1.0
