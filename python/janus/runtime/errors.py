"""Typed errors of the local runtime.

Everything derives from ``janus.JanusError``. Failures of a call on a worker
derive from ``WorkerError``; misuse of the pool (bad names, arguments that
cannot be sent, impossible sizes or timeouts) derives from ``PoolError``.
Cgroup errors are ``ActuationError``s (from the Rust core, with ``kind`` and
``path``), re-exported here with the subclasses a caller acts on.
"""

from __future__ import annotations

from janus._janus import (
    ActuationError,
    CgroupBusyError,
    CgroupsUnavailableError,
    JanusError,
    MemoryBelowUsageError,
)


class PoolError(JanusError):
    """The pool was used wrongly: unknown function, bad argument, bad size, closed pool."""


class UnknownFunction(PoolError, KeyError):
    """The pool has no function of that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ArgumentNotPicklable(PoolError, TypeError):
    """The call argument cannot be pickled, so it cannot be sent to a worker."""


class InvalidSize(PoolError, ValueError):
    """A size this machine cannot give (0 millicores, more CPUs than it has, ...)."""


class InvalidTimeout(PoolError, ValueError):
    """A timeout that is not a number of seconds the pool can wait for
    (NaN, infinite, zero or negative, or beyond what the OS wait supports)."""


class PoolClosed(PoolError):
    """The pool was closed."""


class WorkerError(JanusError):
    """A call failed on its worker. ``worker`` names it, ``size`` is what was applied."""

    def __init__(
        self, message: str, *, worker: str | None = None, function: str | None = None, size=None
    ) -> None:
        super().__init__(message)
        self.worker = worker
        self.function = function
        self.size = size


class CallTimeout(WorkerError):
    """The call ran longer than its timeout; the worker was killed and replaced."""


class WorkerWaitTimeout(CallTimeout):
    """The call's timeout ran out while it waited for a free worker (all were
    busy or being replaced). Nothing was sent; no worker was touched."""


class WorkerProtocolError(WorkerError):
    """The worker's reply did not belong to this call (or was malformed); the
    worker was replaced, since its state is unknown. The function may or may
    not have run."""


class ResultNotUnpicklable(WorkerError):
    """The function returned, but its value cannot be unpickled in the caller
    (a class missing here, a ``__reduce__`` that fails). The worker is healthy
    and stays in the pool."""


class WorkerCrashed(WorkerError):
    """The worker process died during the call; it was replaced."""

    def __init__(self, message: str, *, returncode: int | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.returncode = returncode


class WorkerOOMKilled(WorkerCrashed):
    """The worker was killed by the kernel's OOM killer at its memory limit; it was replaced."""


class FunctionFailed(WorkerError):
    """The function raised an exception. The worker is still healthy.

    ``remote_type`` is the exception's class name and ``remote_traceback`` its
    traceback text in the worker; ``original`` is the exception itself when it
    could be unpickled.
    """

    def __init__(
        self,
        message: str,
        *,
        remote_type: str = "",
        remote_traceback: str = "",
        original: BaseException | None = None,
        **kw,
    ) -> None:
        super().__init__(message, **kw)
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback
        self.original = original


__all__ = [
    "ActuationError",
    "ArgumentNotPicklable",
    "CallTimeout",
    "CgroupBusyError",
    "CgroupsUnavailableError",
    "FunctionFailed",
    "InvalidSize",
    "InvalidTimeout",
    "JanusError",
    "MemoryBelowUsageError",
    "PoolClosed",
    "PoolError",
    "ResultNotUnpicklable",
    "UnknownFunction",
    "WorkerCrashed",
    "WorkerError",
    "WorkerOOMKilled",
    "WorkerProtocolError",
    "WorkerWaitTimeout",
]
