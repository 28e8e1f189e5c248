"""Workflows and profiles from recorded traces (ORION DAG_Profiler format)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from janus._janus import CostModel, Profile, ProfileError
from janus.workflow import Workflow

# The repository checkout holding this package (python/janus/traces.py), if any.
_REPO = Path(__file__).resolve().parents[2]

# Stage order of the workflows published with ORION (the files list stages in
# arbitrary order; the DAG is in the paper and the dataset's README).
ORION_ORDERS = {
    "ml_pipeline": ["PCA", "ParamTune", "CombineModels"],
    "chatbot": ["SplitChatBot", "TrainIntentClassifier"],
}


def orion_workflow(
    path: str | os.PathLike,
    deadline_ms: float,
    percentile: float = 0.95,
    stages: Sequence[str] | None = None,
    cost_model: CostModel | None = None,
) -> tuple[Workflow, Profile]:
    """A chain workflow and its profile from an ORION trace folder.

    Sizes are Lambda memory sizes with CPU in proportion (1 vCPU at 1769 MB);
    the cost model defaults to Lambda's memory-only GiB-seconds. Map stages
    are reported as one latency by the traces, so they are modelled as one
    stage (fanout 1).
    """
    profile, found, sizes = Profile.read_orion(os.fspath(path))
    name = os.path.basename(os.path.normpath(os.fspath(path)))
    order = list(stages) if stages is not None else ORION_ORDERS.get(name, found)
    missing = set(found) - set(order)
    unknown = set(order) - set(found)
    if missing or unknown:
        raise ProfileError(
            f"{path}: stage order {order} does not match the trace's stages {found}"
            + (f" (not in trace: {sorted(unknown)})" if unknown else "")
            + (f" (not in order: {sorted(missing)})" if missing else "")
        )
    wf = Workflow(name, deadline_ms, percentile, cost_model or CostModel.memory_only())
    for s in order:
        wf.add(s, sizes)
    wf.chain(*order)
    return wf, profile


def orion_dir(workflow: str | None = None) -> Path:
    """Where the ORION traces are read in place (never copied into the repository).

    ``$JANUS_ORION_DIR`` when set, else ``../shared/data/orion`` beside the
    repository checkout; ``workflow`` (e.g. "ml_pipeline") selects its
    sub-folder. ``FileNotFoundError`` naming the place tried when it is missing.
    """
    env = os.environ.get("JANUS_ORION_DIR")
    if env:
        base = Path(env)
    elif (_REPO / "Cargo.toml").is_file():
        base = _REPO.parent / "shared" / "data" / "orion"
    else:
        raise FileNotFoundError(
            "ORION traces: set JANUS_ORION_DIR to the folder holding ml_pipeline/ and chatbot/"
        )
    path = base / workflow if workflow else base
    if not path.is_dir():
        raise FileNotFoundError(
            f"ORION traces{f' for {workflow!r}' if workflow else ''} not found at {path}; "
            "set JANUS_ORION_DIR to the folder holding ml_pipeline/ and chatbot/"
        )
    return path
