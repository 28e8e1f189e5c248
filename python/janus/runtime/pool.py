"""A pool of warm worker processes, each in its own cgroup, sized per call.

    with WorkerPool(workflow) as pool:
        r = pool.call("parse", payload, janus.Size(500, 256), timeout_s=30)
        r.value, r.latency_ms, r.cpu_ms, r.peak_mib

The size is applied to the worker's cgroup *before* the call is dispatched.
A worker that times out, crashes or is OOM-killed is replaced and the call
raises a typed ``WorkerError``; the pool keeps serving. While a worker is
being replaced, callers wait for it (within their timeout) rather than fail.
"""

from __future__ import annotations

import itertools
import logging
import numbers
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from janus._janus import JanusError, Size, online_cpus
from janus.runtime import cleanup
from janus.runtime.actuator import check_pool_name, default_actuator
from janus.runtime.errors import (
    ActuationError,
    ArgumentNotPicklable,
    CallTimeout,
    FunctionFailed,
    InvalidSize,
    InvalidTimeout,
    MemoryBelowUsageError,
    PoolClosed,
    PoolError,
    ResultNotUnpicklable,
    UnknownFunction,
    WorkerCrashed,
    WorkerOOMKilled,
    WorkerProtocolError,
    WorkerWaitTimeout,
)
from janus.runtime.functions import default_size, functions_of, pickle_function
from janus.runtime.worker_process import WorkerProcess

if TYPE_CHECKING:
    from typing_extensions import Self

log = logging.getLogger("janus.runtime")

MIB = 1024 * 1024
# The longest timeout the pool can wait for: poll(2) takes an int of milliseconds.
MAX_TIMEOUT_S = float((2**31 - 1) // 1000)
_pool_ids = itertools.count()


def check_timeout(timeout_s: Any, what: str = "timeout_s") -> float | None:
    """``timeout_s`` as a float, None for no limit, else ``InvalidTimeout``."""
    if timeout_s is None:
        return None
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, numbers.Real):
        raise InvalidTimeout(f"{what} must be a number of seconds or None, got {timeout_s!r}")
    t = float(timeout_s)
    if not 0 < t <= MAX_TIMEOUT_S:  # also false for NaN
        raise InvalidTimeout(
            f"{what} must be in (0, {MAX_TIMEOUT_S:.0f}] seconds (the longest wait the OS "
            f"supports), or None for no limit; got {timeout_s!r}"
        )
    return t


@dataclass
class CallResult:
    """One call on a worker.

    ``latency_ms`` is the wall time of the function in the worker, ``cpu_ms``
    the CPU time of the worker's cgroup during the call (the worker's own
    accounting in a dry run), ``peak_mib`` the cgroup's peak memory,
    ``throttled`` the time in ms the CPU quota held the worker back,
    ``enforced`` whether the size was really applied (False in a dry run).
    """

    value: Any
    latency_ms: float
    cpu_ms: float
    peak_mib: float
    throttled: float
    size: Size
    worker: str
    function: str = ""
    roundtrip_ms: float = 0.0
    enforced: bool = True


def _memory_mib() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MIB)


def _is_reply(msg: Any, call_id: int) -> bool:
    """Whether ``msg`` is a well-formed reply to call ``call_id`` (see worker.py)."""
    if not isinstance(msg, tuple) or len(msg) < 2 or msg[1] != call_id:
        return False
    return (msg[0], len(msg)) in (("ok", 5), ("err", 8))


class WorkerPool:
    """Warm worker processes, one cgroup each, serving calls at a size chosen per call."""

    def __init__(
        self,
        workflow_or_functions: Any,
        actuator: Any = None,
        size: int | None = None,
        pool_name: str | None = None,
        *,
        dry_run: bool = False,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.pool_name = check_pool_name(
            f"p{os.getpid()}-{next(_pool_ids)}" if pool_name is None else pool_name
        )
        self._fns = functions_of(workflow_or_functions)
        self._blobs = {n: pickle_function(n, f) for n, f in self._fns.items()}
        n = default_size(workflow_or_functions) if size is None else size
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise PoolError(f"pool size must be a positive int, got {size!r}")
        self.start_timeout_s = check_timeout(start_timeout_s, "start_timeout_s")
        self.actuator = (
            actuator if actuator is not None else default_actuator(self.pool_name, dry_run=dry_run)
        )
        self.kind = self.actuator.kind
        self.enforced = bool(self.actuator.is_real)
        # CPU capacity is the actuator's (Rust's online CPUs): one definition
        # for the pool's check and the kernel values the actuator writes.
        ncpus = getattr(self.actuator, "ncpus", None) or online_cpus()
        self.max_cpu_millis, self.max_memory_mib = int(ncpus) * 1000, _memory_mib()
        self._cond = threading.Condition()
        self._idle: list[WorkerProcess] = []
        self._all: dict[str, WorkerProcess] = {}
        self._starting = 0  # workers being started (replacements, top-ups)
        self._target = n
        self._gen = itertools.count()
        self._call_ids = itertools.count(1)
        self._closed = False
        self.replacements: list[tuple[str, str, str]] = []  # (old, new, reason)
        self._finalizer = cleanup.track(self, self._all, self._cond)
        try:
            for _ in range(n):
                w = self._spawn()
                self._idle.append(w)
        except BaseException:
            self.close()
            raise
        log.info("pool %s: %d warm workers, actuator %s", self.pool_name, n, self.kind)

    # -- public ---------------------------------------------------------
    @property
    def functions(self) -> list[str]:
        return list(self._fns)

    @property
    def workers(self) -> list[str]:
        with self._cond:
            return list(self._all)

    @property
    def size(self) -> int:
        with self._cond:
            return len(self._all)

    def check_size(self, size: Any) -> Size:
        """The size as a ``janus.Size`` if this machine can give it, else ``InvalidSize``."""
        if isinstance(size, (tuple, list)) and len(size) == 2:
            try:
                size = Size(size[0], size[1])
            except JanusError as e:  # below the kernel's smallest quota, not integers...
                raise InvalidSize(str(e)) from None
        if not isinstance(size, Size):
            raise InvalidSize(f"expected a janus.Size, got {size!r}")
        if not 0 < size.cpu_millis <= self.max_cpu_millis:
            raise InvalidSize(
                f"{size}: CPU must be in (0, {self.max_cpu_millis}] millicores on this machine "
                f"({self.max_cpu_millis // 1000} online CPUs)"
            )
        if not 0 < size.memory_mib <= self.max_memory_mib:
            raise InvalidSize(
                f"{size}: memory must be in (0, {self.max_memory_mib}] MiB on this machine"
            )
        return size

    def call(
        self, function: str, arg: Any, size: Any, timeout_s: float | None = 300.0
    ) -> CallResult:
        """Run ``function(arg)`` on a warm worker at ``size``; thread-safe.

        ``timeout_s`` (None: no limit) counts from this call: waiting for a
        free worker, applying the size and running the function all fit in it.
        """
        timeout_s = check_timeout(timeout_s)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        if self._closed:
            raise PoolClosed(f"pool {self.pool_name} is closed")
        if function not in self._fns:
            raise UnknownFunction(
                f"pool {self.pool_name} has no function {function!r} "
                f"(it has: {', '.join(self._fns)})"
            )
        size = self.check_size(size)
        try:
            blob = pickle.dumps(arg, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            raise ArgumentNotPicklable(
                f"the argument of {function!r} cannot be pickled ({type(e).__name__}: {e}); "
                f"pass plain data (numbers, strings, bytes, lists, dicts, numpy arrays)"
            ) from e
        w: WorkerProcess | None = self._acquire(function, size, timeout_s, deadline)
        try:
            w = self._apply(w, size)
            return self._dispatch(w, function, blob, size, timeout_s, deadline)
        except BaseException as e:
            if w is not None and w.in_flight is not None:
                # Abandoned with a call in flight (Ctrl-C, an unexpected error):
                # its reply may still come, so the worker is never reused.
                # (Timeouts and crashes have replaced it already.)
                with self._cond:
                    still_ours = self._all.get(w.name) is w
                if still_ours:
                    reason = f"call abandoned in {function} ({type(e).__name__})"
                    self._replace_or_closed(w, reason)
                w = None
            raise
        finally:
            self._release(w)

    def close(self) -> None:
        """Kill every worker (and all it started) and remove every cgroup this
        pool created. Idempotent."""
        with self._cond:
            self._closed = True
            self._idle.clear()
            self._cond.notify_all()
        self._finalizer()
        cleanup.untrack(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"WorkerPool({self.pool_name!r}, workers={self.size}, actuator={self.kind!r}, "
            f"functions={self.functions})"
        )

    # -- workers --------------------------------------------------------
    def _spawn(self) -> WorkerProcess:
        if self._closed:
            raise PoolClosed(f"pool {self.pool_name} is closed")
        name = f"w{next(self._gen)}"
        self.actuator.create(name)
        try:
            w = WorkerProcess.start(name)
        except BaseException:
            self.actuator.remove(name)
            raise
        with self._cond:
            closed = self._closed
            if not closed:
                self._all[name] = w
        if closed:  # close() ran meanwhile: it cannot know this worker, so clean it here
            w.kill(self.actuator)
            self.actuator.remove(name)
            self.actuator.remove_all()  # the pool folder create() may have made again
            raise PoolClosed(f"pool {self.pool_name} is closed")
        try:
            self._expect_ready(w)
            self.actuator.attach(name, w.proc.pid)
            w.tx.send(("load", self._blobs, [p for p in sys.path if p]))
            self._expect_ready(w)
        except BaseException:
            self._discard(w)
            raise
        return w

    def _expect_ready(self, w: WorkerProcess) -> None:
        if not w.rx.poll(self.start_timeout_s):
            raise PoolError(f"worker {w.name} did not start within {self.start_timeout_s} s")
        try:
            msg = w.rx.recv()
        except (EOFError, OSError) as e:
            raise PoolError(f"worker {w.name} died while starting (exit {w.proc.poll()})") from e
        if msg[0] == "err":
            raise PoolError(
                f"worker {w.name} could not load the functions: {msg[2]}: {msg[3]}\n{msg[4]}"
            )

    def _discard(self, w: WorkerProcess) -> None:
        """Take ``w`` out of the pool, kill it and all in its cgroup, remove the cgroup."""
        with self._cond:
            if self._all.get(w.name) is w:
                del self._all[w.name]
            if w in self._idle:
                self._idle.remove(w)
        w.kill(self.actuator)
        try:
            self.actuator.remove(w.name)
        except ActuationError as e:
            log.error("pool %s: %s", self.pool_name, e)

    def _replace(self, w: WorkerProcess, reason: str, checkout: bool = False) -> WorkerProcess:
        """Kill ``w`` and start a fresh worker in a fresh cgroup.

        Until the new worker is ready it counts as starting, so callers wait
        for it instead of finding the pool empty. The new worker joins the idle
        list, or with ``checkout`` goes to the caller, who releases it. Raises
        ``PoolClosed`` if the pool was closed (or ``w`` discarded) meanwhile.
        """
        with self._cond:
            if self._closed or self._all.get(w.name) is not w:
                raise PoolClosed(f"pool {self.pool_name} is closed")
            self._starting += 1
        try:
            self._discard(w)
            new = self._spawn()
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
        self.replacements.append((w.name, new.name, reason))
        log.warning(
            "pool %s: worker %s replaced by %s (%s)", self.pool_name, w.name, new.name, reason
        )
        if not checkout:
            self._release(new)
        return new

    def _replace_or_closed(self, w: WorkerProcess, reason: str) -> None:
        """Replace ``w``; a failure is logged (the caller's own error is more useful)."""
        try:
            self._replace(w, reason)
        except PoolClosed:
            self._discard(w)
        except Exception as e:  # noqa: BLE001 - the pool tops itself up on the next call
            log.error("pool %s: could not replace worker %s: %s", self.pool_name, w.name, e)

    def _acquire(
        self, function: str, size: Size, timeout_s: float | None, deadline: float | None
    ) -> WorkerProcess:
        with self._cond:
            while True:
                if self._closed:
                    raise PoolClosed(f"pool {self.pool_name} is closed")
                if self._idle:
                    # prefer a worker already at this size: no resize needed
                    want = (size.cpu_millis, size.memory_mib)
                    for i, w in enumerate(self._idle):
                        if self.actuator.applied(w.name) == want:
                            return self._idle.pop(i)
                    return self._idle.pop(0)
                if len(self._all) + self._starting < self._target:
                    self._starting += 1  # a replacement failed earlier: start one here
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise WorkerWaitTimeout(
                        f"{function} at {size}: no worker of pool {self.pool_name} became free "
                        f"within the call's timeout of {timeout_s} s; nothing was sent",
                        function=function,
                        size=size,
                    )
                self._cond.wait(remaining)
        try:
            w = self._spawn()
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
        self.replacements.append(("", w.name, "pool below its size"))
        return w

    def _release(self, w: WorkerProcess | None) -> None:
        with self._cond:
            if (
                w is not None
                and w.in_flight is None
                and self._all.get(w.name) is w
                and w not in self._idle
                and not self._closed
            ):
                self._idle.append(w)
            self._cond.notify_all()

    def _apply(self, w: WorkerProcess, size: Size) -> WorkerProcess:
        try:
            self.actuator.apply(w.name, size.cpu_millis, size.memory_mib)
            return w
        except MemoryBelowUsageError as e:
            # The worker holds more than the new limit: restart it fresh (it
            # then holds little) and apply again.
            log.warning("pool %s: %s; restarting worker %s fresh", self.pool_name, e, w.name)
            held = e.usage_bytes / MIB
            new = self._replace(
                w,
                f"memory lowered to {size.memory_mib} MiB below the {held:.0f} MiB it held",
                checkout=True,
            )
            try:
                self.actuator.apply(new.name, size.cpu_millis, size.memory_mib)
            except BaseException:
                self._release(new)  # a healthy worker: back to the pool
                raise
            return new

    def _usage(self, w: WorkerProcess) -> dict:
        try:
            return self.actuator.usage(w.name)
        except ActuationError:
            return {}

    # -- one call -----------------------------------------------------------
    def _dispatch(
        self,
        w: WorkerProcess,
        function: str,
        blob: bytes,
        size: Size,
        timeout_s: float | None,
        deadline: float | None,
    ) -> CallResult:
        real = self.enforced
        if real:
            self.actuator.reset_peak(w.name)
        u0 = self._usage(w)
        ctx = {"worker": w.name, "function": function, "size": size}
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise WorkerWaitTimeout(
                f"{function} at {size}: the call's timeout of {timeout_s} s ran out before "
                f"worker {w.name} was ready; nothing was sent",
                **ctx,
            )
        call_id = next(self._call_ids)
        t0 = time.perf_counter()
        w.in_flight = call_id
        try:
            w.tx.send(("call", call_id, function, blob))
            ready = w.rx.poll(remaining)
        except (OSError, EOFError):
            ready = True  # the recv below reports the dead worker
        if not ready:
            self._replace_or_closed(w, f"timeout after {timeout_s} s in {function}")
            raise CallTimeout(
                f"{function} on worker {w.name} at {size} did not finish within {timeout_s} s; "
                f"the worker was killed and replaced",
                **ctx,
            )
        try:
            msg = w.rx.recv()
        except (EOFError, OSError):
            msg = None
        except Exception:  # noqa: BLE001 - a reply that cannot be read: as if malformed
            msg = ("unreadable",)
        rt_ms = (time.perf_counter() - t0) * 1000
        if msg is None:
            self._crashed(w, function, size, u0)
        if not _is_reply(msg, call_id):
            self._replace_or_closed(w, f"reply not for call {call_id} in {function}")
            got = msg[:2] if isinstance(msg, tuple) else type(msg).__name__
            raise WorkerProtocolError(
                f"{function} on worker {w.name}: the reply {got!r} does not answer call "
                f"{call_id}; it was discarded and the worker replaced",
                **ctx,
            )
        w.in_flight = None
        u1 = self._usage(w)
        w.calls += 1
        if msg[0] == "err":
            _, _, tname, text, tb, exc_blob, wall, cpu = msg
            original = None
            if exc_blob is not None:
                try:
                    original = pickle.loads(exc_blob)
                except Exception:  # noqa: BLE001 - the text and traceback are kept anyway
                    original = None
            raise FunctionFailed(
                f"{function} raised {tname}: {text} (worker {w.name}, {size})\n"
                f"--- traceback in the worker ---\n{tb}",
                remote_type=tname,
                remote_traceback=tb,
                original=original,
                **ctx,
            )
        _, _, value_blob, wall, cpu = msg
        try:
            value = pickle.loads(value_blob)
        except Exception as e:
            raise ResultNotUnpicklable(
                f"{function} on worker {w.name} returned a value that cannot be unpickled here "
                f"({type(e).__name__}: {e}); return plain data, or make its class importable "
                f"in the caller",
                **ctx,
            ) from e
        if real and u1 and u0:
            cpu_ms = (u1["cpu_usec"] - u0["cpu_usec"]) / 1000
            throttled = (u1["throttled_usec"] - u0["throttled_usec"]) / 1000
            peak = u1["memory_peak_bytes"] / MIB
        else:
            cpu_ms, throttled, peak = cpu * 1000, 0.0, 0.0
        return CallResult(
            value, wall * 1000, cpu_ms, peak, throttled, size, w.name, function, rt_ms, real
        )

    def _crashed(self, w: WorkerProcess, function: str, size: Size, u0: dict) -> None:
        w.signal_group()  # what the function started in the worker's group dies with it
        try:
            rc = w.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        u1 = self._usage(w)
        oom = bool(u1 and u0 and u1.get("oom_kills", 0) > u0.get("oom_kills", 0))
        if not oom and rc == -signal.SIGKILL and u1:
            oom = u1.get("memory_peak_bytes", 0) >= 0.95 * size.memory_mib * MIB
        how = f"killed by {signal.Signals(-rc).name}" if rc is not None and rc < 0 else f"exit {rc}"
        ctx = {"worker": w.name, "function": function, "size": size, "returncode": rc}
        if self._closed:
            self._discard(w)
            raise PoolClosed(f"pool {self.pool_name} was closed during {function} on {w.name}")
        if oom:
            peak = (u1 or {}).get("memory_peak_bytes", 0) / MIB
            self._replace_or_closed(w, f"OOM-killed in {function}")
            raise WorkerOOMKilled(
                f"{function} on worker {w.name} was OOM-killed: it exceeded its memory limit of "
                f"{size.memory_mib} MiB (peak {peak:.0f} MiB, {how}); the worker was replaced",
                **ctx,
            )
        self._replace_or_closed(w, f"crashed in {function} ({how})")
        raise WorkerCrashed(
            f"worker {w.name} crashed during {function} at {size} ({how}); it was replaced", **ctx
        )
