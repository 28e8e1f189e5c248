"""What the platform glue (``janus.openwhisk``, ``janus.knative``) shares.

A workflow's deadline spans all its steps, and the steps run in different
processes (often machines): every step must know when the run started (wall
clock, epoch milliseconds) and its run key, and the request's features are
computed once, at the first step, and carried along. ``RunContext`` is that
carried state. ``decide`` and ``observe`` are the glue's only calls into an
adapter, the in-process ``janus.Adapter`` or ``janus.AdapterClient`` alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from janus._janus import JanusError, NativeWorkflow, Size, WorkflowError
from janus.workflow import Workflow, native_of

FeatureValues = dict[str, float] | list[float]


class GlueError(JanusError):
    """The run context carried between steps is missing or malformed."""


def now_ms() -> float:
    return time.time() * 1000.0


# A run that started over a day ago is no serverless run (and `janus serve`
# refuses such an elapsed time): its start is a wrong clock or unit.
MAX_RUN_MS = 86_400_000.0


@dataclass(frozen=True)
class RunContext:
    """What every step of one workflow run needs to know."""

    start_ms: float
    run_key: str
    features: FeatureValues | None = None

    def elapsed_ms(self, at_ms: float | None = None) -> float:
        """Time since the run started; never negative (clocks of two machines may disagree)."""
        return max(0.0, (now_ms() if at_ms is None else at_ms) - self.start_ms)

    def to_dict(self) -> dict[str, Any]:
        return {"start_ms": self.start_ms, "run_key": self.run_key, "features": self.features}

    @staticmethod
    def from_dict(d: Any, where: str, start_name: str = "start_ms") -> RunContext:
        """Parse a carried context; ``where`` names its origin in errors and
        ``start_name`` its start as the caller sent it (a header, say)."""
        if not isinstance(d, Mapping):
            raise GlueError(f"{where}: the run context must be an object, got {type(d).__name__}")
        start, key = d.get("start_ms"), d.get("run_key")
        if (
            isinstance(start, bool)
            or not isinstance(start, (int, float))
            or not math.isfinite(start)
        ):
            raise GlueError(f"{where}: {start_name} must be a finite number, got {start!r}")
        if now_ms() - start > MAX_RUN_MS:
            raise GlueError(
                f"{where}: {start_name} must be the run's start in epoch milliseconds (within "
                f"the last day), got {start!r}"
            )
        if not isinstance(key, str) or not key:
            raise GlueError(f"{where}: run_key must be a non-empty string, got {key!r}")
        return RunContext(float(start), key, _features(d.get("features"), where))


def _features(f: Any, where: str) -> FeatureValues | None:
    if f is None:
        return None
    try:
        if isinstance(f, Mapping):
            out: FeatureValues = {str(k): float(v) for k, v in f.items()}
            vals = list(out.values())
        elif isinstance(f, Sequence) and not isinstance(f, (str, bytes)):
            out = [float(v) for v in f]
            vals = out
        else:
            raise TypeError(type(f).__name__)
    except (TypeError, ValueError) as e:
        raise GlueError(
            f"{where}: features must be {{name: number}} or [numbers], got {f!r} ({e})"
        ) from None
    if not all(math.isfinite(v) for v in vals):
        raise GlueError(f"{where}: features must be finite numbers, got {f!r}")
    return out


def request_features(
    workflow: Workflow, payload: Any, extract: Callable[[Any], Any] | None = None
) -> FeatureValues | None:
    """The request's features, computed once from the workflow's input:
    ``extract(payload)`` if given, else the workflow's request features
    (``Workflow.feature``), by name."""
    if extract is not None:
        return _features(extract(payload), "features")
    values = workflow.request_features(payload)
    return None if values is None else dict(zip(workflow.features, values))


def chain_of(workflow: Workflow | NativeWorkflow) -> list[str]:
    """The stages in run order, for glue that runs one step at a time; a
    workflow with parallel stages is refused (each would need its own size
    decision at the same time, which a step-by-step conductor cannot run)."""
    blocks = native_of(workflow).blocks
    wide = [b for b in blocks if len(b) > 1]
    if wide:
        raise WorkflowError(
            f"workflow '{native_of(workflow).name}': stages {wide[0]} run in parallel; "
            "step-by-step glue needs a chain (fan-out within one stage is fine)"
        )
    return [b[0] for b in blocks]


def decide(adapter: Any, function: str, ctx: RunContext, free: Size | None = None) -> Any:
    """THE glue's call into an adapter (in-process or a client of ``janus
    serve``, the same call): the size for ``function`` now."""
    return adapter.decide(
        function, ctx.elapsed_ms(), features=ctx.features, free=free, run_key=ctx.run_key
    )


def observe(adapter: Any, function: str, size: Size, latency_ms: float, ctx: RunContext) -> None:
    """THE glue's report of one step's latency to an adapter."""
    adapter.observe(function, size, latency_ms, features=ctx.features)
