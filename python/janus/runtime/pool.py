"""A pool of warm worker processes, each in its own cgroup, sized per call.

    with WorkerPool(workflow) as pool:
        r = pool.call("parse", payload, janus.Size(500, 256), timeout_s=30)
        r.value, r.latency_ms, r.cpu_ms, r.peak_mib

The size is applied to the worker's cgroup *before* the call is dispatched.
A worker that times out, crashes or is OOM-killed is replaced and the call
raises a typed ``WorkerError``; the pool keeps serving.
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import logging
import os
import pickle
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import cloudpickle

from janus._janus import ActuationError, Size
from janus.runtime.actuator import check_pool_name, default_actuator
from janus.runtime.errors import (
    ArgumentNotPicklable,
    CallTimeout,
    FunctionFailed,
    InvalidSize,
    PoolClosed,
    PoolError,
    UnknownFunction,
    WorkerCrashed,
    WorkerOOMKilled,
)

if TYPE_CHECKING:
    from typing_extensions import Self

log = logging.getLogger("janus.runtime")

MIB = 1024 * 1024
_pool_ids = itertools.count()
# run by path, not with -m: the worker imports nothing heavy before it is in its cgroup
_WORKER_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


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


def _machine() -> tuple[int, int]:
    """(CPU millicores, memory MiB) of this machine."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MIB
    return (cpus or 1) * 1000, int(mem)


def _trusted_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    dirs = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # janus itself
    return [os.path.realpath(d) for d in dirs if d]


def _pickle_function(name: str, fn: Callable) -> bytes:
    """cloudpickle a function; by value unless its module is installed code."""
    mod = sys.modules.get(getattr(fn, "__module__", "") or "")
    if mod is not None and mod.__name__ != "__main__":
        f = os.path.realpath(getattr(mod, "__file__", "") or "")
        installed = f and any(f.startswith(d + os.sep) for d in _trusted_dirs())
        if not installed:
            try:
                spec = importlib.util.find_spec(mod.__name__)
            except (ImportError, ValueError):
                spec = None
            if spec is None or "site-packages" not in (spec.origin or ""):
                cloudpickle.register_pickle_by_value(mod)
    try:
        return cloudpickle.dumps(fn)
    except Exception as e:
        raise PoolError(f"function {name!r} cannot be sent to a worker: {e}") from e


def _functions_of(src: Any) -> dict[str, Callable]:
    if hasattr(src, "functions") and hasattr(src, "native"):
        fns = dict(src.functions)
    elif isinstance(src, Mapping):
        fns = dict(src)
    elif isinstance(src, Iterable):
        fns = {f.__name__: f for f in src}
    else:
        raise PoolError(f"expected a janus.Workflow, a dict or a list of functions, got {src!r}")
    if not fns:
        raise PoolError("the pool has no functions to run")
    for n, f in fns.items():
        if not callable(f):
            raise PoolError(f"function {n!r} is not callable: {f!r}")
    return fns


def _default_size(src: Any) -> int:
    """Enough workers for the widest block of a workflow (sum of fan-outs)."""
    try:
        wf = src.native
        return max(sum(wf.fanout(s) for s in block) for block in wf.blocks)
    except (AttributeError, TypeError, ValueError):
        return 2


class _Worker:
    def __init__(self, name: str, proc: subprocess.Popen, tx: Connection, rx: Connection):
        self.name = name
        self.proc = proc
        self.tx = tx
        self.rx = rx
        self.calls = 0

    def kill(self) -> None:
        # The worker leads its own session: kill its process group, so that
        # processes a function started do not keep the cgroup busy. Only while
        # the worker is not reaped: until then its pid (= the group id) is ours.
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            log.error("worker %s (pid %s) did not die", self.name, self.proc.pid)
        for c in (self.tx, self.rx):
            try:
                c.close()
            except OSError:
                pass


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
        self._fns = _functions_of(workflow_or_functions)
        self._blobs = {n: _pickle_function(n, f) for n, f in self._fns.items()}
        n = _default_size(workflow_or_functions) if size is None else size
        if not isinstance(n, int) or n < 1:
            raise PoolError(f"pool size must be a positive int, got {size!r}")
        self.actuator = (
            actuator if actuator is not None else default_actuator(self.pool_name, dry_run=dry_run)
        )
        self.kind = self.actuator.kind
        self.enforced = bool(self.actuator.is_real)
        self.start_timeout_s = start_timeout_s
        self.max_cpu_millis, self.max_memory_mib = _machine()
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: dict[str, _Worker] = {}
        self._gen = itertools.count()
        self._closed = False
        self.replacements: list[tuple[str, str, str]] = []  # (old, new, reason)
        _register(self)
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
            size = Size(int(size[0]), int(size[1]))
        if not isinstance(size, Size):
            raise InvalidSize(f"expected a janus.Size, got {size!r}")
        if not 0 < size.cpu_millis <= self.max_cpu_millis:
            raise InvalidSize(
                f"{size}: CPU must be in (0, {self.max_cpu_millis}] millicores on this machine "
                f"({self.max_cpu_millis // 1000} CPUs)"
            )
        if not 0 < size.memory_mib <= self.max_memory_mib:
            raise InvalidSize(
                f"{size}: memory must be in (0, {self.max_memory_mib}] MiB on this machine"
            )
        return size

    def call(
        self, function: str, arg: Any, size: Any, timeout_s: float | None = 300.0
    ) -> CallResult:
        """Run ``function(arg)`` on a warm worker at ``size``; thread-safe."""
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
        w: _Worker | None = self._acquire(size)
        try:
            w = self._apply(w, size)
            return self._dispatch(w, function, blob, size, timeout_s)
        except (KeyboardInterrupt, SystemExit):
            # interrupted mid-call: the worker may still be running; never reuse it
            if w is not None:
                self._replace_or_closed(w, "interrupted")
            w = None
            raise
        finally:
            self._release(w)

    def close(self) -> None:
        """Kill every worker and remove every cgroup this pool created. Idempotent."""
        with self._cond:
            if self._closed and not self._all:
                return
            self._closed = True
            workers = list(self._all.values())
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for w in workers:
            w.kill()
        for w in workers:
            try:
                self.actuator.remove(w.name)
            except ActuationError as e:
                log.error("pool %s: %s", self.pool_name, e)
        try:
            self.actuator.remove_all()
        except ActuationError as e:
            log.error("pool %s: %s", self.pool_name, e)
        _unregister(self)

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
    def _spawn(self) -> _Worker:
        name = f"w{next(self._gen)}"
        self.actuator.create(name)
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, _WORKER_PY, str(r1), str(w2)],
                pass_fds=(r1, w2),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            for fd in (r1, w1, r2, w2):
                os.close(fd)
            self.actuator.remove(name)
            raise
        os.close(r1)
        os.close(w2)
        w = _Worker(name, proc, Connection(w1, readable=False), Connection(r2, writable=False))
        with self._cond:
            closed = self._closed
            if not closed:
                self._all[name] = w
        if closed:  # close() ran meanwhile: it cannot know this worker, so clean it here
            w.kill()
            self.actuator.remove(name)
            raise PoolClosed(f"pool {self.pool_name} is closed")
        try:
            self._expect_ready(w)
            self.actuator.attach(name, proc.pid)
            w.tx.send(("load", self._blobs, [p for p in sys.path if p]))
            self._expect_ready(w)
        except BaseException:
            self._discard(w)
            raise
        return w

    def _expect_ready(self, w: _Worker) -> None:
        if not w.rx.poll(self.start_timeout_s):
            raise PoolError(f"worker {w.name} did not start within {self.start_timeout_s} s")
        try:
            msg = w.rx.recv()
        except (EOFError, OSError) as e:
            raise PoolError(f"worker {w.name} died while starting (exit {w.proc.poll()})") from e
        if msg[0] == "err":
            raise PoolError(
                f"worker {w.name} could not load the functions: {msg[1]}: {msg[2]}\n{msg[3]}"
            )

    def _discard(self, w: _Worker) -> None:
        w.kill()
        with self._cond:
            self._all.pop(w.name, None)
        try:
            self.actuator.remove(w.name)
        except ActuationError as e:
            log.error("pool %s: %s", self.pool_name, e)

    def _replace(self, w: _Worker, reason: str, idle: bool = True) -> _Worker | None:
        """Kill ``w`` and start a fresh worker in a fresh cgroup; None if closed.

        The new worker joins the idle list unless ``idle`` is False (the caller
        then uses it and releases it).
        """
        self._discard(w)
        if self._closed:
            return None
        new = self._spawn()
        self.replacements.append((w.name, new.name, reason))
        if idle:
            self._release(new)
        log.warning(
            "pool %s: worker %s replaced by %s (%s)", self.pool_name, w.name, new.name, reason
        )
        return new

    def _acquire(self, size: Size) -> _Worker:
        with self._cond:
            while not self._idle:
                if self._closed:
                    raise PoolClosed(f"pool {self.pool_name} is closed")
                if not self._all:
                    raise PoolError(f"pool {self.pool_name} has no worker left")
                self._cond.wait()
            if self._closed:
                raise PoolClosed(f"pool {self.pool_name} is closed")
            # prefer a worker already at this size: no resize needed
            for i, w in enumerate(self._idle):
                if self.actuator.applied(w.name) == (size.cpu_millis, size.memory_mib):
                    return self._idle.pop(i)
            return self._idle.pop(0)

    def _release(self, w: _Worker | None) -> None:
        with self._cond:
            if w is not None and w.name in self._all and not self._closed:
                self._idle.append(w)
            self._cond.notify_all()

    def _apply(self, w: _Worker, size: Size) -> _Worker:
        before = self.actuator.applied(w.name)
        try:
            self.actuator.apply(w.name, size.cpu_millis, size.memory_mib)
            return w
        except ActuationError as e:
            if before is None or size.memory_mib >= before[1]:
                raise
            # Lowering memory below what the worker holds: the kernel refuses.
            # Restart the worker fresh (it holds little) and apply again.
            log.warning(
                "pool %s: %s; restarting worker %s fresh to lower its memory",
                self.pool_name,
                e,
                w.name,
            )
            new = self._replace(
                w, f"memory lowered {before[1]} -> {size.memory_mib} MiB: {e}", idle=False
            )
            if new is None:
                raise PoolClosed(f"pool {self.pool_name} is closed") from e
            self.actuator.apply(new.name, size.cpu_millis, size.memory_mib)
            return new

    def _usage(self, w: _Worker) -> dict:
        try:
            return self.actuator.usage(w.name)
        except ActuationError:
            return {}

    # -- one call -----------------------------------------------------------
    def _dispatch(
        self, w: _Worker, function: str, blob: bytes, size: Size, timeout_s: float | None
    ) -> CallResult:
        real = self.enforced
        if real:
            self.actuator.reset_peak(w.name)
        u0 = self._usage(w)
        t0 = time.perf_counter()
        ctx = {"worker": w.name, "function": function, "size": size}
        try:
            w.tx.send(("call", function, blob))
            ready = w.rx.poll(timeout_s)
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
        rt_ms = (time.perf_counter() - t0) * 1000
        if msg is None:
            self._crashed(w, function, size, u0)
        u1 = self._usage(w)
        w.calls += 1
        if msg[0] == "err":
            _, tname, text, tb, exc_blob, wall, cpu = msg
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
        _, value_blob, wall, cpu = msg
        value = pickle.loads(value_blob)
        if real and u1 and u0:
            cpu_ms = (u1["cpu_usec"] - u0["cpu_usec"]) / 1000
            throttled = (u1["throttled_usec"] - u0["throttled_usec"]) / 1000
            peak = u1["memory_peak_bytes"] / MIB
        else:
            cpu_ms, throttled, peak = cpu * 1000, 0.0, 0.0
        return CallResult(
            value, wall * 1000, cpu_ms, peak, throttled, size, w.name, function, rt_ms, real
        )

    def _replace_or_closed(self, w: _Worker, reason: str) -> None:
        try:
            self._replace(w, reason)
        except Exception as e:  # noqa: BLE001 - the call's own error is more useful
            log.error("pool %s: could not replace worker %s: %s", self.pool_name, w.name, e)

    def _crashed(self, w: _Worker, function: str, size: Size, u0: dict) -> None:
        try:  # what the function may have started dies with it (the zombie keeps the pgid)
            os.killpg(w.proc.pid, signal.SIGKILL)
        except OSError:
            pass
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


# -- cleanup on exit and on SIGTERM/SIGHUP ------------------------------------
# Ctrl-C raises KeyboardInterrupt as usual: a call in flight discards its
# worker, ``with`` blocks and atexit close the pools and remove their cgroups.
# strong references: a pool dropped without close() is still cleaned up at exit
_LIVE: set = set()
_handlers_installed = False
_prev: dict[int, Any] = {}


def _register(pool: WorkerPool) -> None:
    global _handlers_installed
    _LIVE.add(pool)
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(close_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                _prev[sig] = signal.signal(sig, _on_signal)
            except (ValueError, OSError):  # not allowed here (embedded interpreter)
                pass


def _unregister(pool: WorkerPool) -> None:
    _LIVE.discard(pool)


def close_all() -> None:
    """Close every live pool (at exit and on SIGTERM/SIGHUP)."""
    for p in list(_LIVE):
        try:
            p.close()
        except Exception as e:  # noqa: BLE001 - close the others anyway
            log.error("closing pool %s: %s", p.pool_name, e)


def _on_signal(signum: int, frame: Any) -> None:
    close_all()
    prev = _prev.get(signum)
    if callable(prev):
        prev(signum, frame)
    elif prev in (signal.SIG_DFL, None):
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
