"""Workflows and profiles from recorded traces (ORION DAG_Profiler format)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from janus._janus import CostModel, Profile, ProfileError
from janus.workflow import Workflow

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
