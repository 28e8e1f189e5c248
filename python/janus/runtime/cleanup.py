"""Cleaning up after pools: at exit, when a pool is garbage-collected, and,
only if asked for, on SIGTERM/SIGHUP.

Every pool registers a ``weakref.finalize`` that kills its workers (by cgroup
membership) and removes its cgroups. It runs once: on ``close()``, when the
pool is garbage-collected without having been closed, or at interpreter exit,
which also covers an uncaught exception and Ctrl-C (``KeyboardInterrupt``
unwinds to a normal exit). The finalizer holds the pool's workers and
actuator, never the pool itself, so an unused pool can still be collected.

The library installs no signal handlers by itself: a process killed by a
signal it does not handle runs no Python code at all, and which signals a
program handles is the program's decision. A program that wants its pools
closed on SIGTERM/SIGHUP calls :func:`close_pools_on_signals` once, from the
main thread; :func:`pools_closed_on_signals` does the same for the duration
of a ``with`` block and then puts the previous handlers back (the ``janus``
commands use it, so that calling ``janus.cli.main`` leaves the caller's
handlers as they were). After ``kill -9``, ``janus cgroups gc`` removes what
is left.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from janus.runtime.errors import ActuationError

log = logging.getLogger("janus.runtime")

# Pools not yet closed, for close_all (weak: tracking must not keep a pool alive).
_LIVE: weakref.WeakSet = weakref.WeakSet()
_prev: dict[int, Any] = {}


def release(pool_name: str, actuator: Any, workers: dict, lock: threading.Condition) -> None:
    """Kill every worker of a pool and remove every cgroup it made."""
    with lock:
        ws = list(workers.values())
        workers.clear()
        lock.notify_all()
    for w in ws:  # all at once, so they die in parallel
        w.signal_group()
    for w in ws:
        w.kill(actuator)
    for w in ws:
        try:
            actuator.remove(w.name)
        except ActuationError as e:
            log.error("pool %s: %s", pool_name, e)
    try:
        actuator.remove_all()
    except ActuationError as e:
        log.error("pool %s: %s", pool_name, e)


def track(pool: Any, workers: dict, lock: threading.Condition) -> weakref.finalize:
    """Register ``pool`` for cleanup; call the returned finalizer to close it."""
    _LIVE.add(pool)
    return weakref.finalize(pool, release, pool.pool_name, pool.actuator, workers, lock)


def untrack(pool: Any) -> None:
    """Forget a closed pool."""
    _LIVE.discard(pool)


def close_all() -> None:
    """Close every pool of this process that is not closed yet."""
    for p in list(_LIVE):
        try:
            p.close()
        except Exception as e:  # noqa: BLE001 - close the others anyway
            log.error("closing pool %s: %s", p.pool_name, e)


def close_pools_on_signals(signals: Iterable[int] = (signal.SIGTERM, signal.SIGHUP)) -> None:
    """Opt in: on each of ``signals``, close every pool, then let the signal
    do what it did before (the previous Python handler is called; with the
    default disposition the process then dies of the signal as usual).

    Call it from the main thread (Python's rule for signal handlers);
    calling it again for the same signal does nothing, and a signal the
    process ignores (SIGHUP under ``nohup``) stays ignored.
    """
    _install(signals, "close_pools_on_signals")


@contextmanager
def pools_closed_on_signals(
    signals: Iterable[int] = (signal.SIGTERM, signal.SIGHUP),
) -> Iterator[None]:
    """``close_pools_on_signals`` inside the ``with`` block only: on leaving
    it, the handlers it installed are replaced by the ones before. Main thread."""
    installed = _install(signals, "pools_closed_on_signals")
    try:
        yield
    finally:
        for sig in installed:
            signal.signal(sig, _prev.pop(sig))


def _install(signals: Iterable[int], who: str) -> list[int]:
    """Chain ``_on_signal`` before the current handler of each signal not
    handled yet; returns the signals it installed it for. A signal the
    process ignores stays ignored: under ``nohup`` a hangup must not close
    the pools of a run meant to outlive the terminal."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(f"{who} must be called from the main thread")
    installed = []
    for sig in signals:
        if sig not in _prev and signal.getsignal(sig) is not signal.SIG_IGN:
            _prev[sig] = signal.signal(sig, _on_signal)
            installed.append(sig)
    return installed


def _on_signal(signum: int, frame: Any) -> None:
    close_all()
    prev = _prev.get(signum)
    if callable(prev):
        prev(signum, frame)
    elif prev in (signal.SIG_DFL, None):
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
