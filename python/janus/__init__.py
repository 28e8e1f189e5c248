"""Janus: late-binding resource sizing for serverless workflows.

Offline, the developer profiles functions and synthesizes hints; online, the
provider's adapter turns the remaining deadline into a size in microseconds.

    import janus
    wf = janus.Workflow("pipeline", deadline_ms=20_000, percentile=0.95)
    wf.feature("mib", lambda request: len(request) / 2**20)
    ...
    hints = janus.synthesize(wf, profile)
    adapter = janus.Adapter(hints)
    adapter.decide("train", elapsed_ms=7_300, features={"mib": 12.5})
"""

from __future__ import annotations

import importlib
from typing import Any

from janus._janus import (
    ActuationError,
    Adapter,
    AdapterError,
    CgroupBusyError,
    CgroupsUnavailableError,
    CostModel,
    Decision,
    FunctionAdapter,
    HintError,
    HintSet,
    JanusError,
    MemoryBelowUsageError,
    NativeWorkflow,
    Profile,
    ProfileError,
    ReplayError,
    ServeError,
    Size,
    SynthesisError,
    WorkflowBuilder,
    WorkflowError,
    best_static,
    quantile,
    run_key,
    samples_needed,
    synthesize,
    wilson_interval,
)
from janus._janus import __version__ as __version__
from janus.traces import orion_workflow
from janus.workflow import Workflow, sizes

# Heavier parts load on first use, so `import janus` stays quick for the
# provider's hot path and works without the optional analysis extras.
_LAZY = {
    "simulate": "janus.analysis",
    "replay": "janus.analysis",
    "sweep": "janus.analysis",
    "WorkerPool": "janus.runtime",
    "Runner": "janus.runtime",
    "profile_workflow": "janus.runtime",
    "Resynthesizer": "janus.online",
    "AdapterClient": "janus.client",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'janus' has no attribute '{name}'")
    return getattr(importlib.import_module(mod), name)


__all__ = [
    "ActuationError",
    "Adapter",
    "AdapterClient",
    "AdapterError",
    "CgroupBusyError",
    "CgroupsUnavailableError",
    "CostModel",
    "Decision",
    "FunctionAdapter",
    "HintError",
    "HintSet",
    "JanusError",
    "MemoryBelowUsageError",
    "NativeWorkflow",
    "Profile",
    "ProfileError",
    "ReplayError",
    "Resynthesizer",
    "Runner",
    "ServeError",
    "Size",
    "SynthesisError",
    "WorkerPool",
    "Workflow",
    "WorkflowBuilder",
    "WorkflowError",
    "best_static",
    "orion_workflow",
    "profile_workflow",
    "quantile",
    "replay",
    "run_key",
    "samples_needed",
    "simulate",
    "sizes",
    "sweep",
    "synthesize",
    "wilson_interval",
]
