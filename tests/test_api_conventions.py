"""The property-vs-method rule of the Python API (docs/design.md, "The Python
API: properties and methods"): what an object is or holds is a property; a
method takes arguments, analyses, converts or acts.

Every public method that can be called without arguments is listed here with
the reason it is a method. A new one fails this test until it is classified:
either it belongs here, or it should have been a property.
"""

from __future__ import annotations

import inspect
import types

import pytest

import janus
import janus.analysis
import janus.client
import janus.online
import janus.runtime
from janus import _janus

ANALYSES = "analyses the data into a new table or object"
CONVERTS = "converts to another representation"
ACTS = "acts: changes state or the world, or waits"
REMOTE = "asks the service (a round trip)"

NO_ARGUMENT_METHODS = {
    "Actuator.remove_all": ACTS,
    "Adapter.observed_profile": ANALYSES,
    "AdapterClient.close": ACTS,
    "AdapterClient.health": REMOTE,
    "AdapterClient.observed_profile": ANALYSES,
    "HintSet.to_json": CONVERTS,
    "Invocation.to_dict": CONVERTS,
    "NativeWorkflow.to_json": CONVERTS,
    "Profile.summary": ANALYSES,
    "Profile.to_json": CONVERTS,
    "ProfileReport.summary": ANALYSES,
    "ProfileReport.to_rows": CONVERTS,
    "Resynthesizer.check": ACTS,
    "Resynthesizer.drift": ANALYSES,
    "Resynthesizer.drifted": ANALYSES,
    "Resynthesizer.wait": ACTS,
    "RunReport.to_dict": CONVERTS,
    "Runner.close": ACTS,
    "SimulationResult.plot": CONVERTS,
    "SimulationResult.summary": ANALYSES,
    "SimulationResult.table": CONVERTS,
    "SimulationResult.to_pandas": CONVERTS,
    "WorkerPool.close": ACTS,
    "Workflow.chain": ACTS,
    "Workflow.to_json": CONVERTS,
    "WorkflowBuilder.build": CONVERTS,
}

# What the rule makes a property, spelled out where the API once had a method.
MUST_BE_PROPERTIES = [
    "HintSet.summary",
    "Profile.functions",
    "Profile.digest",
    "NativeWorkflow.digest",
    "HintSet.size_bytes",
    "Workflow.stages",
    "Workflow.functions",
    "WorkerPool.functions",
    "RunReport.sizes",
    "Adapter.hints",
    "Adapter.observed",
    "AdapterClient.hints",
    "AdapterClient.observed",
]


def public_classes() -> dict[str, type]:
    out = {}
    for mod in (janus, janus.runtime, janus.analysis, janus.online, janus.client, _janus):
        for name in getattr(mod, "__all__", None) or dir(mod):
            obj = getattr(mod, name, None)
            if (
                inspect.isclass(obj)
                and not name.startswith("_")
                and (obj.__module__ or "").startswith("janus")
                and not issubclass(obj, (BaseException, Warning))
            ):
                out[obj.__qualname__] = obj
    return out


def is_property(cls: type, name: str) -> bool:
    attr = inspect.getattr_static(cls, name)
    return isinstance(attr, (property, types.GetSetDescriptorType))


def no_argument_methods(cls: type) -> list[str]:
    out = []
    for name in dir(cls):
        if name.startswith("_") or is_property(cls, name):
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, (staticmethod, classmethod)) or not callable(attr):
            continue  # constructors (load, from_json, ...) and plain attributes
        params = list(inspect.signature(getattr(cls, name)).parameters.values())[1:]
        required = [
            p
            for p in params
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if not required:
            out.append(f"{cls.__qualname__}.{name}")
    return out


def test_every_method_without_arguments_is_classified():
    found = {m for cls in public_classes().values() for m in no_argument_methods(cls)}
    unclassified = sorted(found - set(NO_ARGUMENT_METHODS))
    assert unclassified == [], (
        f"{unclassified}: a method without arguments; if it names what the object is or "
        f"holds, make it a property, else add it to NO_ARGUMENT_METHODS with its reason"
    )
    assert sorted(set(NO_ARGUMENT_METHODS) - found) == [], "listed but gone: update the list"


@pytest.mark.parametrize("qualname", MUST_BE_PROPERTIES)
def test_what_an_object_is_or_holds_is_a_property(qualname):
    cls_name, attr = qualname.split(".")
    assert is_property(public_classes()[cls_name], attr), f"{qualname} must be a property"
