"""Type stubs of the native module (kept by hand beside src/py/).

`python -m mypy.stubtest janus._janus` (run by scripts/test.sh) checks them
against the built extension, so they cannot drift from the binding. The dict
results are typed as TypedDicts; their names start with an underscore because
they exist only for type checkers (at run time they are plain dicts).
Sections follow the binding's files: errors, model, profile, hints, adapter,
actuate, replay.
"""

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypedDict, final

import numpy as np
import numpy.typing as npt

__version__: str
# Every name the module registers (one per line: a new binding adds one line).
__all__ = [
    "SIMULATE_DEFAULTS",
    "ActuationError",
    "Actuator",
    "Adapter",
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
    "ServeError",
    "Size",
    "SynthesisError",
    "WorkflowBuilder",
    "WorkflowError",
    "__version__",
    "best_static",
    "gc_cgroups",
    "online_cpus",
    "quantile",
    "replay",
    "run_key",
    "samples_needed",
    "serve",
    "simulate",
    "synthesize",
    "wilson_interval",
]

_Path: TypeAlias = str | PathLike[str]
_F64Array: TypeAlias = npt.NDArray[np.float64]

# -- errors (src/py/errors.rs) ------------------------------------------------

class JanusError(Exception): ...
class WorkflowError(JanusError): ...
class ProfileError(JanusError): ...
class SynthesisError(JanusError): ...
class HintError(JanusError): ...
class AdapterError(JanusError): ...

class ActuationError(JanusError):
    kind: str
    path: str | None

class MemoryBelowUsageError(ActuationError):
    limit_bytes: int
    usage_bytes: int

class CgroupBusyError(ActuationError): ...
class CgroupsUnavailableError(ActuationError): ...
class ReplayError(JanusError): ...

class ServeError(JanusError):
    setting: str | None  # the setting out of its range (e.g. "threads"), else None

# -- model (src/py/model.rs) --------------------------------------------------

@final
class Size:
    def __new__(cls, cpu_millis: int, memory_mib: int) -> Size: ...
    @property
    def cpu_millis(self) -> int: ...
    @property
    def memory_mib(self) -> int: ...
    @property
    def cores(self) -> float: ...
    @property
    def gib(self) -> float: ...
    def fits_in(self, capacity: Size) -> bool: ...
    def __getnewargs__(self) -> tuple[int, int]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __lt__(self, value: Size, /) -> bool: ...
    def __le__(self, value: Size, /) -> bool: ...
    def __gt__(self, value: Size, /) -> bool: ...
    def __ge__(self, value: Size, /) -> bool: ...
    def __hash__(self) -> int: ...

# A Size, or a (cpu_millis, memory_mib) tuple: every argument taking a size.
_SizeLike: TypeAlias = Size | tuple[int, int]

@final
class CostModel:
    def __new__(cls, cpu_price: float = 1.0, mem_price: float = 0.104) -> CostModel: ...
    @staticmethod
    def memory_only() -> CostModel: ...
    @property
    def cpu_price(self) -> float: ...
    @property
    def mem_price(self) -> float: ...
    def rate(self, size: _SizeLike) -> float: ...
    def cost(self, size: _SizeLike, ms: float) -> float: ...

@final
class WorkflowBuilder:
    def __new__(
        cls,
        name: str,
        deadline_ms: float,
        percentile: float = 0.95,
        cost_model: CostModel | None = None,
    ) -> WorkflowBuilder: ...
    def add_feature(self, name: str) -> None: ...
    def add_stage(
        self, name: str, options: Sequence[_SizeLike], fanout: int | None = None
    ) -> None: ...
    def add_edge(self, a: str, b: str) -> None: ...
    def has_stage(self, name: str) -> bool: ...
    def build(self) -> NativeWorkflow: ...

@final
class NativeWorkflow:
    @staticmethod
    def from_json(text: str) -> NativeWorkflow: ...
    def to_json(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def deadline_ms(self) -> float: ...
    @property
    def percentile(self) -> float: ...
    @property
    def cost_model(self) -> CostModel: ...
    @property
    def features(self) -> list[str]: ...
    @property
    def stages(self) -> list[str]: ...
    def options(self, stage: str) -> list[Size]: ...
    def fanout(self, stage: str) -> int: ...
    @property
    def blocks(self) -> list[list[str]]: ...
    @property
    def edges(self) -> list[tuple[str, str]]: ...
    @property
    def approximation(self) -> str | None: ...
    def with_slo(self, deadline_ms: float, percentile: float | None = None) -> NativeWorkflow: ...

# Anything with a `.native` NativeWorkflow (janus.Workflow) is accepted too.
_AnyWorkflow: TypeAlias = Any

# -- profile (src/py/profile.rs) ----------------------------------------------

class _ProfileRow(TypedDict):
    function: str
    cpu_millis: int
    memory_mib: int
    n: int
    requests: int | None
    mean_ms: float
    p50_ms: float
    p95_ms: float

_Keys: TypeAlias = Sequence[str | int]
_FeatureRows: TypeAlias = Sequence[Sequence[float]] | Sequence[float] | _F64Array

@final
class Profile:
    def __new__(cls, features: list[str] | None = None) -> Profile: ...
    def add(
        self,
        function: str,
        size: _SizeLike,
        latencies_ms: Sequence[float] | _F64Array,
        *,
        keys: _Keys | None = None,
        features: _FeatureRows | None = None,
    ) -> None: ...
    @staticmethod
    def from_samples(samples: Mapping[Any, Any], features: list[str] | None = None) -> Profile: ...
    @staticmethod
    def from_csv(path: _Path) -> Profile: ...
    @staticmethod
    def read_orion(path: _Path) -> tuple[Profile, list[str], list[Size]]: ...
    @staticmethod
    def from_json(text: str) -> Profile: ...
    def to_json(self) -> str: ...
    def save(self, path: _Path) -> None: ...
    @staticmethod
    def load(path: _Path) -> Profile: ...
    @property
    def feature_names(self) -> list[str]: ...
    @property
    def is_keyed(self) -> bool: ...
    def latencies(self, function: str, size: _SizeLike) -> _F64Array: ...
    def features(self, function: str, size: _SizeLike) -> _F64Array | None: ...
    def keys(self, function: str, size: _SizeLike) -> list[str] | None: ...
    @property
    def functions(self) -> list[str]: ...
    def sizes(self, function: str) -> list[Size]: ...
    def check_covers(self, workflow: _AnyWorkflow) -> None: ...
    def split(self, fraction: float, seed: int = 0) -> tuple[Profile, Profile]: ...
    def scaled(self, ratios: Mapping[str, float]) -> Profile: ...
    def merge(self, other: Profile) -> None: ...
    @property
    def digest(self) -> str: ...
    def summary(self) -> list[_ProfileRow]: ...
    def __len__(self) -> int: ...

def quantile(values: Sequence[float], q: float) -> float: ...
def wilson_interval(hits: int, n: int) -> tuple[float, float]: ...

# -- hints and synthesis (src/py/hints.rs) ------------------------------------

# One per table (the classes', then the unconditioned one). "class" is the
# input class (None: unconditioned); `mix` and the `primary_*` keys are None
# unless synthesized with mix=True. Functional syntax because "class" and
# "lambda" are keywords.
_HintSummary = TypedDict(
    "_HintSummary",
    {
        "class": int | None,
        "weight": float,
        "expected_cost": float,
        "miss_probability": float,
        "feasible": bool,
        "source": str,
        "lambda": float | None,
        "mix": float | None,
        "primary_cost": float | None,
        "primary_miss_probability": float | None,
    },
)

class _Candidate(TypedDict):
    name: str
    expected_cost: float
    miss_probability: float
    feasible: bool

class _Plan(TypedDict):
    expected_cost: float
    miss_probability: float
    feasible: bool
    chosen: str
    miss_target: float
    reason: str
    candidates: list[_Candidate]

class _Provenance(TypedDict):
    profile_digest: str
    workflow_digest: str
    created_unix_s: int
    janus_version: str
    synthesis: str

_ClassInfo = TypedDict(
    "_ClassInfo",
    {"class": int, "description": str, "ranges": dict[str, tuple[float, float]]},
)

class _Classes(TypedDict):
    features: list[str]
    count: int
    classes: list[_ClassInfo]
    nodes: list[dict[str, Any]]

_Rules: TypeAlias = list[tuple[float, list[Size]]]

@final
class HintSet:
    @staticmethod
    def load(path: _Path) -> HintSet: ...
    @staticmethod
    def from_json(text: str, origin: str = "<string>") -> HintSet: ...
    def save(self, path: _Path) -> None: ...
    def to_json(self, indent: bool = False) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def feasible(self) -> bool: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def workflow(self) -> NativeWorkflow: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def late(self) -> str: ...
    @property
    def plan(self) -> _Plan: ...
    @property
    def summary(self) -> list[_HintSummary]: ...
    @property
    def provenance(self) -> _Provenance: ...
    @property
    def classes(self) -> _Classes | None: ...
    def class_of(self, features: Sequence[float]) -> int | None: ...
    def rules(
        self, function: str, input_class: int | None = None, alternative: bool = False
    ) -> _Rules: ...
    def fallback(self, function: str) -> Size: ...
    @property
    def rule_count(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

_Mode: TypeAlias = Literal["stochastic", "percentile"]
_Late: TypeAlias = Literal["static", "cheapest", "fastest"]

def synthesize(
    workflow: _AnyWorkflow,
    profile: Profile,
    *,
    mode: _Mode | None = None,
    buckets: int | None = None,
    tolerance: float | None = None,
    max_rules: int | None = None,
    max_classes: int | None = None,
    min_class_samples: int | None = None,
    smoothing: float | None = None,
    late: _Late | None = None,
    min_gain: float | None = None,
    confidence: float | None = None,
    mix: bool | None = None,
    crossfit: bool | None = None,
    bands: bool | None = None,
    lockstep: bool | None = None,
    beyond: bool | None = None,
) -> HintSet: ...

class _StaticPlan(TypedDict):
    sizes: dict[str, Size]
    expected_cost: float
    miss_probability: float
    feasible: bool

def samples_needed(percentile: float) -> int: ...
def best_static(
    workflow: _AnyWorkflow,
    profile: Profile,
    *,
    buckets: int | None = None,
    smoothing: float | None = None,
    confidence: float | None = None,
) -> _StaticPlan: ...

# -- adapter (src/py/adapter.rs) ----------------------------------------------

@final
class Decision:
    @property
    def size(self) -> Size: ...
    @property
    def rule(self) -> int | None: ...
    @property
    def remaining_ms(self) -> float: ...
    @property
    def late(self) -> bool: ...
    @property
    def fits(self) -> bool: ...
    @property
    def input_class(self) -> int | None: ...

class _Decisions(TypedDict):
    cpu_millis: npt.NDArray[np.uint32]
    memory_mib: npt.NDArray[np.uint32]
    rule: npt.NDArray[np.int64]  # -1: a late run (no rule applied)
    late: npt.NDArray[np.bool_]
    remaining_ms: _F64Array
    input_class: npt.NDArray[np.int64]  # -1: unconditioned

# Request features: one number, a sequence in the workflow's order, or a mapping.
_Features: TypeAlias = float | Sequence[float] | Mapping[str, float] | _F64Array

@final
class Adapter:
    def __new__(cls, hints: HintSet) -> Adapter: ...
    def decide(
        self,
        function: str,
        elapsed_ms: float,
        features: _Features | None = None,
        free: _SizeLike | None = None,
        run_key: int | str | None = None,
    ) -> Decision: ...
    def function(self, function: str) -> FunctionAdapter: ...
    def decide_many(
        self,
        function: str,
        elapsed_ms: npt.ArrayLike,
        features: npt.ArrayLike | None = None,
        free: _SizeLike | None = None,
        run_keys: npt.ArrayLike | None = None,
    ) -> _Decisions: ...
    def observe(
        self,
        function: str,
        size: _SizeLike,
        latency_ms: float,
        features: _Features | None = None,
    ) -> None: ...
    def swap(self, hints: HintSet) -> None: ...
    @property
    def hints(self) -> HintSet: ...
    @property
    def observed(self) -> int: ...
    def observed_profile(self) -> Profile: ...
    def drift(self, profile: Profile, min_samples: int = 5) -> list[tuple[str, Size, float]]: ...
    def drift_by_function(self, profile: Profile, min_samples: int = 5) -> dict[str, float]: ...

def serve(
    hints: Sequence[str | PathLike[str]],
    data: str | PathLike[str],
    *,
    listen: str = ...,
    profiles: Sequence[str | PathLike[str]] = ...,
    window: int = 1024,
    resynth_threshold: float | None = None,
    min_samples: int = 5,
    drift_every_s: float = 10.0,
    read_timeout_s: float = 10.0,
    max_body: int = ...,
    max_upload: int = ...,
    max_connections: int = 1024,
    threads: int = 2,
    compact_at: int = ...,
) -> None: ...

@final
class FunctionAdapter:
    def decide(
        self,
        elapsed_ms: float,
        features: _Features | None = None,
        free: _SizeLike | None = None,
        run_key: int | str | None = None,
    ) -> Decision: ...
    @property
    def function(self) -> str: ...

def run_key(id: str) -> int: ...

# -- actuate (src/py/actuate.rs) ----------------------------------------------

class _Usage(TypedDict):
    cpu_usec: int
    nr_periods: int
    nr_throttled: int
    throttled_usec: int
    memory_peak_bytes: int
    oom_kills: int

@final
class Actuator:
    @staticmethod
    def cgroup(pool: str = "default", base: _Path | None = None) -> Actuator: ...
    @staticmethod
    def dry_run(pool: str = "default") -> Actuator: ...
    @property
    def kind(self) -> str: ...
    @property
    def is_real(self) -> bool: ...
    @property
    def pool(self) -> str: ...
    def create(self, worker: str) -> None: ...
    def attach(self, worker: str, pid: int) -> None: ...
    def kill(self, worker: str) -> int: ...
    @property
    def ncpus(self) -> int: ...
    def apply(self, worker: str, cpu_millis: int, memory_mib: int) -> None: ...
    def usage(self, worker: str) -> _Usage: ...
    def reset_peak(self, worker: str) -> bool: ...
    def remove(self, worker: str) -> None: ...
    def remove_all(self) -> None: ...
    def applied(self, worker: str) -> tuple[int, int] | None: ...
    def worker_dirs(self, worker: str) -> list[Path]: ...

def gc_cgroups(base: _Path | None = None) -> list[str]: ...
def online_cpus() -> int: ...

# -- replay (src/py/replay.rs) ------------------------------------------------

class _PolicySummary(TypedDict):
    policy: str
    kind: str
    runs: int
    cost: float
    cpu_core_s: float
    gib_s: float
    attainment: float
    attainment_ci: tuple[float, float]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    decisions_per_s: float | None
    hint_bytes: int | None
    saving_vs_static: float | None
    oracle_share: float | None

class _RunColumns(TypedDict):
    # One row per (policy, run); policy_index indexes the outcome's summary.
    # execution and run_key are per run (index them with `run`).
    policy_index: npt.NDArray[np.uint32]
    run: npt.NDArray[np.uint64]
    latency_ms: _F64Array
    cost: _F64Array
    cpu_core_s: _F64Array
    gib_s: _F64Array
    met: npt.NDArray[np.bool_]
    execution: list[str | None]
    run_key: npt.NDArray[np.uint64]

class _ReplayOutcome(TypedDict):
    coupling: str
    runs: int
    seed: int
    deadline_ms: float
    percentile: float
    notes: list[str]
    summary: list[_PolicySummary]
    columns: _RunColumns

# What simulate and replay use for an option not given (defined in Rust).
class _SimulateDefaults(TypedDict):
    runs: int
    seed: int
    split: float
    coupling: str
    modes: list[str]

SIMULATE_DEFAULTS: _SimulateDefaults

def simulate(
    workflow: _AnyWorkflow,
    profile: Profile,
    *,
    runs: int | None = None,
    seed: int | None = None,
    split: float | None = None,
    coupling: str | None = None,
    modes: list[str] | None = None,
    policies: list[str] | None = None,
    buckets: int | None = None,
    tolerance: float | None = None,
    max_rules: int | None = None,
    max_classes: int | None = None,
    min_class_samples: int | None = None,
    smoothing: float | None = None,
    late: _Late | None = None,
    min_gain: float | None = None,
    confidence: float | None = None,
    mix: bool | None = None,
    crossfit: bool | None = None,
    bands: bool | None = None,
    lockstep: bool | None = None,
    beyond: bool | None = None,
) -> _ReplayOutcome: ...
def replay(
    workflow: _AnyWorkflow,
    profile_fit: Profile,
    profile_replay: Profile,
    policies: Sequence[tuple[str, str, Any]],
    *,
    runs: int | None = None,
    seed: int | None = None,
    coupling: str | None = None,
) -> _ReplayOutcome: ...
