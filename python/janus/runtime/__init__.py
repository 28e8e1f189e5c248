"""The local runtime: warm workers in cgroups, the profiler and the late-binding runner.

It needs the ``runtime`` extra (cloudpickle, to send functions to the worker
processes): ``pip install 'janus[runtime]'``. ``import janus`` and the
``Adapter`` do not.
"""

from __future__ import annotations

try:
    import cloudpickle as _cloudpickle  # noqa: F401 - only checked here
except ImportError as _e:
    raise ImportError(
        "janus.runtime needs cloudpickle to send functions to its worker processes, and it is "
        "not installed; install the runtime extra: pip install 'janus[runtime]'"
    ) from _e

from janus.runtime.actuator import DryRunWarning, default_actuator, gc_cgroups, janus_cgroups
from janus.runtime.cleanup import close_all, close_pools_on_signals, pools_closed_on_signals
from janus.runtime.errors import (
    ActuationError,
    ArgumentNotPicklable,
    CallTimeout,
    CgroupBusyError,
    CgroupsUnavailableError,
    FunctionFailed,
    InvalidSize,
    InvalidTimeout,
    MemoryBelowUsageError,
    PoolClosed,
    PoolError,
    ResultNotUnpicklable,
    UnknownFunction,
    WorkerCrashed,
    WorkerError,
    WorkerOOMKilled,
    WorkerProtocolError,
    WorkerWaitTimeout,
)
from janus.runtime.pool import MAX_TIMEOUT_S, CallResult, WorkerPool, check_timeout
from janus.runtime.profiler import ProfileReport, profile_workflow
from janus.runtime.runner import Invocation, Runner, RunReport, summarize

__all__ = [
    "MAX_TIMEOUT_S",
    "ActuationError",
    "ArgumentNotPicklable",
    "CallResult",
    "CallTimeout",
    "CgroupBusyError",
    "CgroupsUnavailableError",
    "DryRunWarning",
    "FunctionFailed",
    "InvalidSize",
    "InvalidTimeout",
    "Invocation",
    "MemoryBelowUsageError",
    "PoolClosed",
    "PoolError",
    "ProfileReport",
    "ResultNotUnpicklable",
    "RunReport",
    "Runner",
    "UnknownFunction",
    "WorkerCrashed",
    "WorkerError",
    "WorkerOOMKilled",
    "WorkerPool",
    "WorkerProtocolError",
    "WorkerWaitTimeout",
    "check_timeout",
    "close_all",
    "close_pools_on_signals",
    "default_actuator",
    "gc_cgroups",
    "janus_cgroups",
    "pools_closed_on_signals",
    "profile_workflow",
    "summarize",
]
