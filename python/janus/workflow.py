"""Workflows as the developer writes them: decorated Python functions in a DAG.

The Python object keeps the callables and the feature extractors; the DAG and
its validation live in Rust (``NativeWorkflow``), rebuilt on every change so a
mistake (a cycle, an unknown name, a duplicate option) is raised at the line
that makes it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from janus._janus import CostModel, NativeWorkflow, Size, WorkflowError

StageRef = str | Callable[..., Any]


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
    feature: Callable[[Any], float] | None = None
    feature_name: str | None = None
    extra: dict = field(default_factory=dict)


class Workflow:
    """A DAG of functions with an end-to-end SLO.

    >>> wf = Workflow("pipeline", deadline_ms=20_000, percentile=0.95)
    >>> @wf.function(options=sizes([500, 1000], 512))
    ... def step(x): return x
    """

    def __init__(
        self,
        name: str,
        deadline_ms: float,
        percentile: float = 0.95,
        cost_model: CostModel | None = None,
    ) -> None:
        self.name = name
        self.deadline_ms = float(deadline_ms)
        self.percentile = float(percentile)
        self.cost_model = cost_model or CostModel()
        self._stages: dict[str, StageSpec] = {}
        self._edges: list[tuple[str, str]] = []
        self._native: NativeWorkflow | None = None
        if not (self.deadline_ms > 0 and self.deadline_ms != float("inf")):
            raise WorkflowError(
                f"workflow '{name}': deadline_ms must be positive and finite, got {deadline_ms}"
            )
        if not (0.0 < self.percentile < 1.0):
            raise WorkflowError(
                f"workflow '{name}': percentile must be in (0, 1), got {percentile}"
            )

    # -- building -------------------------------------------------------
    def function(
        self,
        options: Sequence[Size],
        fanout: int = 1,
        feature: Callable[[Any], float] | None = None,
        name: str | None = None,
        feature_name: str | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register a function as a stage with its size options.

        ``feature``, if given, maps the function's argument to a number that
        predicts its run time (e.g. input size in MiB); hints are then
        conditioned on it.
        """

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add(
                name or fn.__name__,
                options,
                fanout=fanout,
                fn=fn,
                feature=feature,
                feature_name=feature_name,
            )
            fn.__janus_stage__ = name or fn.__name__  # type: ignore[attr-defined]
            return fn

        return register

    def add(
        self,
        name: str,
        options: Sequence[Size],
        fanout: int = 1,
        fn: Callable[..., Any] | None = None,
        feature: Callable[[Any], float] | None = None,
        feature_name: str | None = None,
    ) -> str:
        """Register a stage without a decorator (e.g. for traces with no code)."""
        if name in self._stages:
            raise WorkflowError(f"workflow '{self.name}': stage '{name}' is defined twice")
        if feature is not None and not callable(feature):
            raise WorkflowError(f"workflow '{self.name}': feature of '{name}' must be callable")
        if not isinstance(fanout, int) or isinstance(fanout, bool):
            raise WorkflowError(
                f"workflow '{self.name}': fanout of '{name}' must be an int, got {fanout!r}"
            )
        fname = feature_name or (getattr(feature, "__name__", "feature") if feature else None)
        if fname == "<lambda>":
            fname = "feature"
        spec = StageSpec(name, [_as_size(s, name) for s in options], fanout, fn, feature, fname)
        self._stages[name] = spec
        try:
            self._rebuild()
        except Exception:
            del self._stages[name]
            self._rebuild_quietly()
            raise
        return name

    def edge(self, a: StageRef, b: StageRef) -> Workflow:
        """Add a dependency: ``b`` starts after ``a`` ends."""
        e = (self._ref(a), self._ref(b))
        self._edges.append(e)
        try:
            self._rebuild()
        except Exception:
            self._edges.pop()
            self._rebuild_quietly()
            raise
        return self

    def chain(self, *stages: StageRef) -> Workflow:
        """``a -> b -> c``; a list or tuple element is a parallel group."""
        groups = [
            [self._ref(s) for s in x] if isinstance(x, (list, tuple)) else [self._ref(x)]
            for x in stages
        ]
        added = 0
        try:
            for g1, g2 in itertools.pairwise(groups):
                for a in g1:
                    for b in g2:
                        self._edges.append((a, b))
                        added += 1
            self._rebuild()
        except Exception:
            del self._edges[len(self._edges) - added :]
            self._rebuild_quietly()
            raise
        return self

    # -- reading --------------------------------------------------------
    @property
    def native(self) -> NativeWorkflow:
        """The validated Rust workflow."""
        if self._native is None:
            self._rebuild()
        assert self._native is not None
        return self._native

    @property
    def stages(self) -> list[str]:
        return list(self._stages)

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

    def with_deadline(self, deadline_ms: float, percentile: float | None = None) -> Workflow:
        """A copy with another SLO (for deadline sweeps)."""
        w = Workflow(
            self.name,
            deadline_ms,
            self.percentile if percentile is None else percentile,
            self.cost_model,
        )
        w._stages = dict(self._stages)
        w._edges = list(self._edges)
        w._rebuild()
        return w

    def to_json(self) -> str:
        return json.dumps(self._spec())

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

    def _spec(self) -> dict:
        cm = self.cost_model
        return {
            "name": self.name,
            "slo": {"deadline_ms": self.deadline_ms, "percentile": self.percentile},
            "cost_model": {"cpu_price": cm.cpu_price, "mem_price": cm.mem_price},
            "stages": [
                {
                    "name": s.name,
                    "options": [
                        {"cpu_millis": o.cpu_millis, "memory_mib": o.memory_mib} for o in s.options
                    ],
                    "fanout": s.fanout,
                    "feature": s.feature_name,
                }
                for s in self._stages.values()
            ],
            "edges": [list(e) for e in self._edges],
        }

    def _rebuild(self) -> None:
        self._native = None
        if self._stages:
            self._native = NativeWorkflow.from_json(json.dumps(self._spec()))

    def _rebuild_quietly(self) -> None:
        try:
            self._rebuild()
        except WorkflowError:  # the state before the failed change was valid or empty
            self._native = None

    def __repr__(self) -> str:
        return (
            f"Workflow({self.name!r}, deadline_ms={self.deadline_ms}, percentile={self.percentile}, "
            f"stages={self.stages})"
        )


def _as_size(s: Any, stage: str) -> Size:
    if isinstance(s, Size):
        return s
    if isinstance(s, (tuple, list)) and len(s) == 2:
        return Size(int(s[0]), int(s[1]))
    raise WorkflowError(
        f"stage '{stage}': option {s!r} is not a janus.Size or (cpu_millis, memory_mib)"
    )


def native_of(wf: Workflow | NativeWorkflow) -> NativeWorkflow:
    """Accept either form wherever a workflow is expected."""
    if isinstance(wf, Workflow):
        return wf.native
    if isinstance(wf, NativeWorkflow):
        return wf
    raise WorkflowError(f"expected a janus.Workflow, got {type(wf).__name__}")
