"""Workflows as the developer writes them: decorated Python functions in a DAG.

The DAG and every check of it live in Rust (``janus.WorkflowBuilder``): each
``function``/``add``/``feature``/``edge`` call is validated there at once, so
a mistake (a cycle, an unknown name, a duplicate option) is raised at the
line that makes it. This object keeps only what needs Python: the
functions, and the request feature extractors.

Request features belong to the request, not to a stage: a feature is a
number computed from the request when a run starts (e.g. payload MiB); the
profiler records it on every stage's samples, synthesis conditions every
stage's latency on it, and the adapter takes it at every stage.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from janus._janus import CostModel, NativeWorkflow, Size, WorkflowBuilder, WorkflowError

StageRef = str | Callable[..., Any]
FeatureFn = Callable[[Any], float]


def sizes(cpu_millis: int | Iterable[int], memory_mib: int | Iterable[int]) -> list[Size]:
    """All combinations of the given CPU and memory values, as size options."""
    cpus = [cpu_millis] if isinstance(cpu_millis, int) else list(cpu_millis)
    mems = [memory_mib] if isinstance(memory_mib, int) else list(memory_mib)
    return [Size(c, m) for c, m in itertools.product(cpus, mems)]


@dataclass
class StageSpec:
    name: str
    options: list[Size]
    fanout: int = 1
    fn: Callable[..., Any] | None = None


class Workflow:
    """A DAG of functions with an end-to-end SLO and request features.

    >>> wf = Workflow("pipeline", deadline_ms=20_000, percentile=0.95)
    >>> wf.feature("mib", lambda request: len(request["payload"]) / 2**20)
    >>> @wf.function(options=sizes([500, 1000], 512))
    ... def step(x): return x
    """

    def __init__(
        self,
        name: str,
        deadline_ms: float,
        percentile: float = 0.95,
        cost_model: CostModel | None = None,
        features: Mapping[str, FeatureFn | None] | Sequence[str] | None = None,
    ) -> None:
        if cost_model is not None and not isinstance(cost_model, CostModel):
            raise WorkflowError(f"cost_model must be a janus.CostModel, got {cost_model!r}")
        self.cost_model = cost_model or CostModel()
        name = _text(name, "workflow name")
        self._builder = WorkflowBuilder(
            name,
            _number(deadline_ms, f"workflow '{name}': deadline_ms"),
            _number(percentile, f"workflow '{name}': percentile"),
            self.cost_model,
        )
        self.name = name
        self.deadline_ms = float(deadline_ms)
        self.percentile = float(percentile)
        self._stages: dict[str, StageSpec] = {}
        self._features: dict[str, FeatureFn | None] = {}
        self._edges: list[tuple[str, str]] = []
        self._native: NativeWorkflow | None = None
        if isinstance(features, Mapping):
            for fname, fn in features.items():
                self.feature(fname, fn)
        elif features is not None:
            for fname in features:
                self.feature(fname, None)

    # -- building -------------------------------------------------------
    def feature(self, name: str, fn: FeatureFn | None = None) -> Any:
        """Declare a request feature: ``fn(request) -> float``, known at every stage.

        Without a function (traces, replays) the feature is only a name;
        runs then need its value from elsewhere. The order of declaration is
        the order of the feature vector the adapter takes. Returns ``fn``.
        """
        name = _text(name, f"workflow '{self.name}': feature name")
        if fn is not None and not callable(fn):
            raise WorkflowError(
                f"workflow '{self.name}': feature '{name}' needs a callable, got {fn!r}"
            )
        self._builder.add_feature(name)
        self._features[name] = fn
        self._native = None
        return fn

    def function(
        self,
        options: Sequence[Size | tuple[int, int]],
        fanout: int = 1,
        name: str | None = None,
        **unexpected: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register a function as a stage with its size options."""
        if "feature" in unexpected or "feature_name" in unexpected:
            raise WorkflowError(
                f"workflow '{self.name}': features belong to the request, not to a stage: declare them "
                "with Workflow.feature(name, fn) (fn receives the request)"
            )
        if unexpected:
            raise WorkflowError(f"workflow '{self.name}': unknown argument(s) {sorted(unexpected)}")

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            stage = name or fn.__name__
            self.add(stage, options, fanout=fanout, fn=fn)
            fn.__janus_stage__ = stage  # type: ignore[attr-defined]
            return fn

        return register

    def add(
        self,
        name: str,
        options: Sequence[Size | tuple[int, int]],
        fanout: int = 1,
        fn: Callable[..., Any] | None = None,
    ) -> str:
        """Register a stage without a decorator (e.g. for traces with no code)."""
        name = _text(name, f"workflow '{self.name}': stage name")
        if isinstance(options, (str, bytes)) or not isinstance(options, Iterable):
            raise WorkflowError(
                f"workflow '{self.name}': options of '{name}' must be a list of janus.Size or "
                f"(cpu_millis, memory_mib), got {options!r}"
            )
        opts = [_as_size(s, name) for s in options]
        self._builder.add_stage(name, opts, fanout)
        self._stages[name] = StageSpec(name, opts, fanout, fn)
        self._native = None
        return name

    def edge(self, a: StageRef, b: StageRef) -> Workflow:
        """Add a dependency: ``b`` starts after ``a`` ends."""
        e = (self._ref(a), self._ref(b))
        self._builder.add_edge(*e)
        self._edges.append(e)
        self._native = None
        return self

    def chain(self, *stages: StageRef | Sequence[StageRef]) -> Workflow:
        """``a -> b -> c``; a list or tuple element is a parallel group. All or nothing."""
        groups = [
            [self._ref(s) for s in x] if isinstance(x, (list, tuple)) else [self._ref(x)]
            for x in stages
        ]
        new = [(a, b) for g1, g2 in itertools.pairwise(groups) for a in g1 for b in g2]
        try:
            for a, b in new:
                self._builder.add_edge(a, b)
        except WorkflowError:
            self._rebuild_builder()  # undo the edges of this call that got in
            raise
        self._edges.extend(new)
        self._native = None
        return self

    # -- reading --------------------------------------------------------
    @property
    def native(self) -> NativeWorkflow:
        """The validated Rust workflow (raises WorkflowError while it has no stage)."""
        if self._native is None:
            self._native = self._builder.build()
        return self._native

    @property
    def stages(self) -> list[str]:
        return list(self._stages)

    @property
    def features(self) -> list[str]:
        """Names of the request features, in feature-vector order."""
        return list(self._features)

    def stage(self, name: str) -> StageSpec:
        try:
            return self._stages[name]
        except KeyError:
            raise WorkflowError(
                f"workflow '{self.name}' has no stage '{name}' (it has: {', '.join(self._stages)})"
            ) from None

    @property
    def functions(self) -> dict[str, Callable[..., Any]]:
        return {n: s.fn for n, s in self._stages.items() if s.fn is not None}

    @property
    def blocks(self) -> list[list[str]]:
        return self.native.blocks

    def request_features(self, request: Any) -> list[float] | None:
        """The request's feature vector, or None when the workflow declares no
        features or one has no function. A feature function that raises or
        returns a non-number raises WorkflowError naming it."""
        if not self._features or any(fn is None for fn in self._features.values()):
            return None
        out = []
        for fname, fn in self._features.items():
            try:
                v = float(fn(request))  # type: ignore[misc]
            except Exception as e:
                raise WorkflowError(
                    f"request feature '{fname}' failed: {type(e).__name__}: {e}"
                ) from e
            if not math.isfinite(v):
                raise WorkflowError(f"request feature '{fname}' is {v}: features must be finite")
            out.append(v)
        return out

    def with_deadline(self, deadline_ms: float, percentile: float | None = None) -> Workflow:
        """A copy with another SLO (for deadline sweeps)."""
        w = Workflow(
            self.name,
            deadline_ms,
            self.percentile if percentile is None else percentile,
            self.cost_model,
            features=dict(self._features),
        )
        for s in self._stages.values():
            w.add(s.name, s.options, s.fanout, s.fn)
        for a, b in self._edges:
            w.edge(a, b)
        return w

    def to_json(self) -> str:
        return self.native.to_json()

    # -- internals -------------------------------------------------------
    def _ref(self, s: StageRef) -> str:
        if isinstance(s, str):
            name = s
        else:
            name = getattr(s, "__janus_stage__", None) or getattr(s, "__name__", None)
        if not isinstance(name, str) or name not in self._stages:
            raise WorkflowError(
                f"workflow '{self.name}': unknown stage {s!r} (it has: {', '.join(self._stages)})"
            )
        return name

    def _rebuild_builder(self) -> None:
        b = WorkflowBuilder(self.name, self.deadline_ms, self.percentile, self.cost_model)
        for fname in self._features:
            b.add_feature(fname)
        for s in self._stages.values():
            b.add_stage(s.name, s.options, s.fanout)
        for a, c in self._edges:
            b.add_edge(a, c)
        self._builder = b

    def __repr__(self) -> str:
        return (
            f"Workflow({self.name!r}, deadline_ms={self.deadline_ms}, percentile={self.percentile}, "
            f"features={self.features}, stages={self.stages})"
        )


def _text(value: Any, what: str) -> str:
    """``value`` if it is a string, else a WorkflowError (names are checked in Rust)."""
    if not isinstance(value, str):
        raise WorkflowError(f"{what} must be a string, got {value!r}")
    return value


def _number(value: Any, what: str) -> float:
    """``value`` as a float if it is a real number, else a WorkflowError (the
    range is checked in Rust)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise WorkflowError(f"{what} must be a number, got {value!r}")
    return float(value)


def _as_size(s: Any, stage: str) -> Size:
    if isinstance(s, Size):
        return s
    if isinstance(s, (tuple, list)) and len(s) == 2:
        try:
            return Size(s[0], s[1])
        except WorkflowError as e:
            raise WorkflowError(f"stage '{stage}': option {s!r}: {e}") from None
    raise WorkflowError(
        f"stage '{stage}': option {s!r} is not a janus.Size or (cpu_millis, memory_mib)"
    )


class StageInputs:
    """What each stage of a workflow is called with, the one rule the runner
    and the profiler share: a first stage gets the request, a stage with one
    predecessor that predecessor's output, a stage with several a dict
    ``{predecessor: output}``."""

    def __init__(self, native: NativeWorkflow) -> None:
        self._preds: dict[str, list[str]] = {s: [] for s in native.stages}
        for a, b in native.edges:
            self._preds[b].append(a)

    def __call__(self, stage: str, request: Any, outputs: Mapping[str, Any]) -> Any:
        preds = self._preds[stage]
        if not preds:
            return request
        if len(preds) == 1:
            return outputs[preds[0]]
        return {p: outputs[p] for p in preds}


def native_of(wf: Workflow | NativeWorkflow) -> NativeWorkflow:
    """Accept either form wherever a workflow is expected."""
    if isinstance(wf, Workflow):
        return wf.native
    if isinstance(wf, NativeWorkflow):
        return wf
    raise WorkflowError(f"expected a janus.Workflow, got {type(wf).__name__}")
