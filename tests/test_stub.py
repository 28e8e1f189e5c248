"""The dicts the binding returns have exactly the keys the stub's TypedDicts
declare (stubtest checks signatures, not the keys of returned dicts)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import janus
from janus import _janus

STUB = Path(janus.__file__).with_name("_janus.pyi")


def typed_dicts() -> dict[str, set[str]]:
    """TypedDict name -> its keys, from both the class and the functional syntax."""
    out: dict[str, set[str]] = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(b, ast.Name) and b.id == "TypedDict" for b in node.bases
        ):
            out[node.name] = {
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            }
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "TypedDict"
        ):
            fields = node.value.args[1]
            assert isinstance(fields, ast.Dict)
            out[node.targets[0].id] = {k.value for k in fields.keys}
    return out


@pytest.fixture(scope="module")
def samples() -> dict[str, dict]:
    """One real result per TypedDict of the stub."""
    from test_synthesis import featured_workflow

    wf, prof = featured_workflow()
    hints = janus.synthesize(wf, prof, buckets=100)
    assert hints.classes is not None, hints.plan
    act = _janus.Actuator.dry_run(pool="stubcheck")
    act.create("w")
    usage = act.usage("w")
    act.remove_all()
    replayed = _janus.simulate(wf.native, prof, runs=50, buckets=50, max_classes=1)
    return {
        "_ProfileRow": prof.summary()[0],
        "_HintSummary": hints.summary[0],
        "_Plan": hints.plan,
        "_Candidate": hints.plan["candidates"][0],
        "_ClassInfo": hints.classes["classes"][0],
        "_Provenance": hints.provenance,
        "_Classes": hints.classes,
        "_StaticPlan": janus.best_static(wf, prof),
        "_Decisions": janus.Adapter(hints).decide_many("work", np.array([0.0, 500.0])),
        "_Usage": usage,
        "_ReplayOutcome": replayed,
        "_PolicySummary": replayed["summary"][0],
        "_RunColumns": replayed["columns"],
        "_SimulateDefaults": _janus.SIMULATE_DEFAULTS,
    }


def test_every_typed_dict_is_checked(samples):
    assert set(typed_dicts()) == set(samples)


@pytest.mark.parametrize("name", sorted(typed_dicts()))
def test_runtime_dict_has_the_stub_keys(name, samples):
    assert set(samples[name]) == typed_dicts()[name]
