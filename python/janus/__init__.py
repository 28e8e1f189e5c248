"""Janus: late-binding resource sizing for serverless workflows.

Offline, the developer profiles functions and synthesizes hints; online, the
provider's adapter turns the remaining deadline into a size in microseconds.

    import janus
    wf = janus.Workflow("pipeline", deadline_ms=20_000, percentile=0.95)
    ...
    hints = janus.synthesize(wf, profile)
    adapter = janus.Adapter(hints)
    adapter.decide("train", elapsed_ms=7_300)
"""

from __future__ import annotations

import importlib
from typing import Any

from janus._janus import (
    ActuationError,
    Adapter,
    AdapterError,
    CostModel,
    Decision,
    HintError,
    HintSet,
    JanusError,
    NativeWorkflow,
    Profile,
    ProfileError,
    ReplayError,
    ServeError,
    Size,
    SynthesisError,
    WorkflowError,
    run_key_of,
)
from janus._janus import __version__ as __version__
from janus.synthesis import best_static, synthesize
from janus.traces import orion_workflow
from janus.workflow import Workflow, sizes

# Heavier parts load on first use, so `import janus` stays quick for the
# provider's hot path and works without the optional analysis extras.
_LAZY = {
    "simulate": "janus.analysis",
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
    "CostModel",
    "Decision",
    "HintError",
    "HintSet",
    "JanusError",
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
    "WorkflowError",
    "best_static",
    "orion_workflow",
    "profile_workflow",
    "run_key_of",
    "simulate",
    "sizes",
    "sweep",
    "synthesize",
]
