"""The worker pool under careless or hostile use, on real cgroups (issue 9):
timeouts it cannot wait for are refused before anything is sent; a reply is
never taken for another call's; a failed resize gives its worker back; callers
wait for a worker being replaced instead of failing; a return value that
cannot be unpickled is a WorkerError; CPU capacity is Rust's online CPUs.

Concurrency cases are bounded in time (a hang fails the test instead of
blocking the suite) and run several times."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest
from runtime_support import PREFIX, cgroups_or_skip, die, echo, fail, nap

import janus
from janus._janus import online_cpus
from janus.runtime import (
    MAX_TIMEOUT_S,
    ActuationError,
    CallTimeout,
    FunctionFailed,
    InvalidTimeout,
    MemoryBelowUsageError,
    PoolError,
    ResultNotUnpicklable,
    Runner,
    WorkerCrashed,
    WorkerError,
    WorkerPool,
    WorkerProtocolError,
    WorkerWaitTimeout,
)

MIB = 1024 * 1024
SMALL = janus.Size(500, 256)
REPEAT = 3


class Unloadable:
    """Pickles fine in the worker; unpickling calls int("not a number")."""

    def __reduce__(self):
        return (int, ("not a number",))


def unloadable(_: object) -> Unloadable:
    return Unloadable()


FUNCS = {"echo": echo, "nap": nap, "fail": fail, "die": die, "unloadable": unloadable}


def bounded(fn: Callable[[], object], seconds: float) -> object:
    """Run ``fn`` in a thread; fail the test (instead of hanging) if it does not return."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"did not return within {seconds} s (stuck)")
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture(scope="module")
def pool():
    cgroups_or_skip(PREFIX + "probe")
    with WorkerPool(FUNCS, size=1, pool_name=PREFIX + "hostile") as p:
        yield p


# -- item 1: timeouts --------------------------------------------------------
BAD_TIMEOUTS = [math.inf, -math.inf, math.nan, -1.0, 0, MAX_TIMEOUT_S * 2, 1e300, "3", True]


@pytest.mark.parametrize("bad", BAD_TIMEOUTS, ids=repr)
def test_timeouts_the_pool_cannot_wait_for_are_refused_before_dispatch(pool, bad):
    calls_before = sum(w.calls for w in pool._all.values())
    with pytest.raises(InvalidTimeout, match="timeout_s") as ei:
        pool.call("echo", "first", SMALL, timeout_s=bad)
    assert isinstance(ei.value, PoolError) and isinstance(ei.value, ValueError)
    # Nothing was sent: the next calls get their own answers, not a leftover.
    for x in ("second", "third"):
        assert bounded(lambda x=x: pool.call("echo", x, SMALL, timeout_s=30).value, 60) == x
    assert sum(w.calls for w in pool._all.values()) == calls_before + 2


def test_the_longest_valid_timeout_works(pool):
    assert pool.call("echo", 1, SMALL, timeout_s=MAX_TIMEOUT_S).value == 1
    assert pool.call("echo", 2, SMALL, timeout_s=None).value == 2
    with pytest.raises(InvalidTimeout):
        WorkerPool(FUNCS, size=1, dry_run=True, start_timeout_s=math.nan)


def test_runner_with_a_deadline_of_days_uses_a_timeout_the_pool_can_wait_for(pool):
    wf = janus.Workflow("days", deadline_ms=3 * 86_400_000, percentile=0.95)
    wf.add("echo", [SMALL], fn=echo)
    runner = Runner(wf, pool, static_sizes={"echo": SMALL})
    try:
        assert 0 < runner.timeout_s <= MAX_TIMEOUT_S
        rep = bounded(lambda: runner.run({"x": 1}), 60)
        assert rep.ok, rep.error
    finally:
        runner.close()
    with pytest.raises(InvalidTimeout):
        Runner(wf, pool, static_sizes={"echo": SMALL}, timeout_s=math.inf)


def test_a_reply_that_answers_another_call_is_discarded_and_the_worker_replaced(pool):
    # Leave an unread reply on the idle worker's pipe, as a call that was
    # given up without reading its answer would.
    w = next(iter(pool._all.values()))
    w.tx.send(("call", 10**9, "echo", pickle.dumps("stale")))
    with pytest.raises(WorkerProtocolError, match="does not answer call") as ei:
        pool.call("echo", "fresh", SMALL, timeout_s=30)
    assert isinstance(ei.value, WorkerError) and ei.value.worker == w.name
    assert pool.replacements[-1][0] == w.name
    assert [pool.call("echo", x, SMALL).value for x in ("a", "b")] == ["a", "b"]


# -- item 2: a failed resize gives the worker back -----------------------------
@pytest.mark.parametrize("run", range(REPEAT))
def test_a_size_the_fresh_worker_cannot_take_releases_it(pool, run):
    assert pool.call("echo", 0, janus.Size(1000, 256)).value == 0
    # 1 MiB is less than any Python process holds: the pool restarts the
    # worker fresh to lower its memory, and the fresh one is refused as well.
    with pytest.raises(MemoryBelowUsageError) as ei:
        bounded(lambda: pool.call("echo", 1, janus.Size(1000, 1), timeout_s=30), 60)
    e = ei.value
    assert isinstance(e, ActuationError) and isinstance(e, janus.JanusError)
    assert e.kind == "memory_below_usage" and e.limit_bytes == MIB and e.usage_bytes > MIB
    assert e.path and e.path.endswith(("memory.limit_in_bytes", "memory.max")), e.path
    # The worker went back to the pool: the next call is served, not stuck.
    assert bounded(lambda: pool.call("echo", 2, SMALL, timeout_s=30).value, 60) == 2
    assert pool.size == 1


# -- item 3: callers wait for replacements --------------------------------------
class SlowCreate:
    """The real actuator, but creating a cgroup takes ``delay`` seconds once
    armed: it widens the moment in which a worker is being replaced."""

    def __init__(self, inner):
        self.inner = inner
        self.delay = 0.0
        self.creating = threading.Event()

    def create(self, worker):
        if self.delay:
            self.creating.set()
            time.sleep(self.delay)
        self.inner.create(worker)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def slow_pool(request):
    cgroups_or_skip(PREFIX + "probe")
    name = f"{PREFIX}slow"
    act = SlowCreate(janus._janus.Actuator.cgroup(pool=name))
    with WorkerPool(FUNCS, actuator=act, size=1, pool_name=name) as p:
        yield p, act


def crash_in_background(p) -> threading.Thread:
    def crash():
        with pytest.raises(WorkerCrashed):
            p.call("die", 3, SMALL)

    t = threading.Thread(target=crash, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("run", range(REPEAT))
def test_a_call_during_a_replacement_waits_for_the_new_worker(slow_pool, run):
    p, act = slow_pool
    act.delay = 1.0
    t = crash_in_background(p)
    assert act.creating.wait(30), "the replacement started"
    # The only worker is gone and its replacement not made yet: wait for it.
    r = bounded(lambda: p.call("echo", run, SMALL, timeout_s=30), 60)
    assert r.value == run
    t.join(30)
    assert p.size == 1 and len(p.replacements) == 1


def test_the_call_timeout_covers_waiting_for_a_worker(slow_pool):
    p, act = slow_pool
    act.delay = 3.0
    t = crash_in_background(p)
    assert act.creating.wait(30)
    start = time.monotonic()
    with pytest.raises(WorkerWaitTimeout, match="no worker .* became free") as ei:
        bounded(lambda: p.call("echo", 1, SMALL, timeout_s=0.3), 30)
    assert isinstance(ei.value, CallTimeout) and ei.value.worker is None
    assert time.monotonic() - start < act.delay, "gave up at its timeout, before a worker came"
    t.join(30)
    assert p.call("echo", 2, SMALL).value == 2


def expect(function: str, arg: object) -> tuple[type, object]:
    return {
        "echo": (type(None), arg),
        "fail": (FunctionFailed, None),
        "die": (WorkerCrashed, None),
        "nap": (CallTimeout, None),
    }[function]


@pytest.mark.parametrize("run", range(REPEAT))
def test_forty_threads_with_crashes_errors_and_timeouts_never_find_the_pool_empty(run):
    cgroups_or_skip(PREFIX + "probe")
    # Every thread starts with a crash, so both workers are often replaced at
    # once while the other threads keep calling.
    calls = []
    for i in range(40):
        calls += [(i, "die", 3, None), (i, "echo", i, None), (i, "fail", f"boom {i}", None)]
        calls += [(i, "nap", 30, 0.5)] if i % 8 == 0 else [(i, "echo", -i, None)]
    results: list = []
    lock = threading.Lock()
    with WorkerPool(FUNCS, size=2, pool_name=f"{PREFIX}forty{run}") as p:

        def client(i: int) -> None:
            for j, fn, arg, t in calls:
                if j != i:
                    continue
                try:
                    r = p.call(fn, arg, SMALL, timeout_s=t)
                    out = (fn, arg, None, r.value)
                except Exception as e:  # noqa: BLE001 - checked below
                    out = (fn, arg, e, None)
                with lock:
                    results.append(out)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(40)]
        for t in threads:
            t.start()
        bounded(lambda: [t.join() for t in threads], 240)
        assert p.size == 2
    assert len(results) == len(calls)
    for fn, arg, err, value in results:
        want, wanted_value = expect(fn, arg)
        if want is type(None):
            assert err is None and value == wanted_value, (fn, arg, err)
        else:
            assert isinstance(err, want), f"{fn}({arg!r}): {type(err).__name__}: {err}"


# -- item 15 -----------------------------------------------------------------
def test_a_result_that_cannot_be_unpickled_is_a_worker_error(pool):
    w = pool.call("echo", 0, SMALL).worker
    with pytest.raises(ResultNotUnpicklable, match="cannot be unpickled") as ei:
        pool.call("unloadable", None, SMALL)
    assert isinstance(ei.value, WorkerError) and not isinstance(ei.value, ValueError)
    assert isinstance(ei.value.__cause__, ValueError)
    assert pool.call("echo", 1, SMALL).worker == w, "the worker is healthy and kept"


# -- CPU capacity: one definition (Rust's online CPUs) -------------------------
def test_cpu_capacity_is_the_online_cpus_not_the_affinity_mask(pool):
    assert pool.max_cpu_millis == pool.actuator.ncpus * 1000 == online_cpus() * 1000
    if online_cpus() < 2:
        pytest.skip("needs 2 online CPUs to restrict the affinity mask below them")
    # A caller pinned to one CPU may still give a worker the whole machine.
    code = textwrap.dedent(f"""
        import os, janus
        from janus.runtime import WorkerPool
        os.sched_setaffinity(0, {{0}})
        p = WorkerPool({{"f": abs}}, size=1, dry_run=True, pool_name="{PREFIX}affinity")
        print(p.check_size(janus.Size({online_cpus() * 1000}, 64)))
        p.close()
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
