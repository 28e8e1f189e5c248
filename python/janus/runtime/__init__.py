"""The local runtime: warm workers in cgroups, the profiler and the late-binding runner."""

from __future__ import annotations

from janus.runtime.actuator import DryRunWarning, default_actuator, gc_cgroups, janus_cgroups
from janus.runtime.errors import (
    ActuationError,
    ArgumentNotPicklable,
    CallTimeout,
    FunctionFailed,
    InvalidSize,
    PoolClosed,
    PoolError,
    UnknownFunction,
    WorkerCrashed,
    WorkerError,
    WorkerOOMKilled,
)
from janus.runtime.pool import CallResult, WorkerPool
from janus.runtime.profiler import ProfileReport, profile_workflow
from janus.runtime.runner import Invocation, Runner, RunReport, summarize

__all__ = [
    "ActuationError",
    "ArgumentNotPicklable",
    "CallResult",
    "CallTimeout",
    "DryRunWarning",
    "FunctionFailed",
    "InvalidSize",
    "Invocation",
    "PoolClosed",
    "PoolError",
    "ProfileReport",
    "RunReport",
    "Runner",
    "UnknownFunction",
    "WorkerCrashed",
    "WorkerError",
    "WorkerOOMKilled",
    "WorkerPool",
    "default_actuator",
    "gc_cgroups",
    "janus_cgroups",
    "profile_workflow",
    "summarize",
]
