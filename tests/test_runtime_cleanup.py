"""Cleanup of worker pools on real cgroups: everything a worker started dies
with it (found by cgroup membership, so also children in a new session), no
cgroup is left behind on close, on worker replacement, at exit, after an
uncaught exception, after Ctrl-C, when a pool is garbage-collected, and on
SIGTERM for programs that opt in. The library installs no signal handlers.

Each scenario runs a few times. The tests end only processes they started (by
pid) and touch only the cgroups of their own pools (named runtime_support.PREFIX...)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from runtime_support import (
    PREFIX,
    cgroups_or_skip,
    echo,
    end_if_alive,
    leftover_cgroups,
    start_time,
    wait_dead,
)

import janus
from janus.runtime import CallTimeout, WorkerCrashed, WorkerPool

SMALL = janus.Size(500, 256)
REPEAT = 3


def session_child(arg: tuple[str, str]) -> tuple[int, str]:
    """Start ``sleep`` in a new session (out of reach of the worker's process
    group), note its pid and start time in ``pidfile``; return them, or crash
    or hang the worker."""
    then, pidfile = arg
    p = subprocess.Popen(["sleep", "300"], start_new_session=True)
    with open(f"/proc/{p.pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()[19]
    with open(pidfile, "w") as f:
        f.write(f"{p.pid} {st}")
    if then == "crash":
        os._exit(7)
    if then == "hang":
        time.sleep(300)
    return p.pid, st


FUNCS = {"session_child": session_child, "echo": echo}


def pool_cgroups(pool: str) -> list[str]:
    return [d for d in leftover_cgroups() if d.endswith("/" + pool)]


def noted_child(pidfile) -> tuple[int, str]:
    with open(pidfile) as f:
        pid, started = f.read().split()
    return int(pid), started


def remove_pool_cgroups(pool: str) -> None:
    """After a failure: remove this test's own pool cgroups (nothing else)."""
    try:
        janus._janus.Actuator.cgroup(pool=pool).remove_all()
    except janus.ActuationError:
        pass


@pytest.fixture(autouse=True)
def real_cgroups():
    cgroups_or_skip(PREFIX + "probe")


@pytest.mark.parametrize("run", range(REPEAT))
def test_close_kills_children_started_in_a_new_session(tmp_path, run):
    name = f"{PREFIX}sess{run}"
    p = WorkerPool(FUNCS, size=2, pool_name=name)
    pid, started = p.call("session_child", ("return", str(tmp_path / "pid")), SMALL).value
    try:
        assert start_time(pid) == started, "the child is running before close"
        assert pool_cgroups(name)
        p.close()
        assert wait_dead(pid, started), f"child {pid} in a new session survived close()"
        assert pool_cgroups(name) == [], "cgroups left behind"
    finally:
        end_if_alive(pid, started)
        p.close()
        remove_pool_cgroups(name)


@pytest.mark.parametrize("then", ["hang", "crash"])
@pytest.mark.parametrize("run", range(REPEAT))
def test_replacing_a_worker_kills_what_it_started(tmp_path, run, then):
    name = f"{PREFIX}repl{run}"
    pidfile = tmp_path / "pid"
    try:
        with WorkerPool(FUNCS, size=1, pool_name=name) as p:
            dirs = p.actuator.worker_dirs(p.workers[0])
            # The worker starts a child in a new session, then hangs (the
            # timeout replaces it) or crashes (replaced as well).
            with pytest.raises(CallTimeout if then == "hang" else WorkerCrashed):
                p.call("session_child", (then, str(pidfile)), SMALL, timeout_s=1.0)
            pid, started = noted_child(pidfile)
            assert wait_dead(pid, started), f"the {then}ing worker's session child survived"
            assert not any(os.path.exists(d) for d in dirs), "the old cgroup was removed"
            assert p.call("echo", run, SMALL).value == run and p.size == 1
        assert pool_cgroups(name) == []
    finally:
        if pidfile.exists():
            end_if_alive(*noted_child(pidfile))
        remove_pool_cgroups(name)


def test_no_signal_handlers_are_installed():
    code = textwrap.dedent(f"""
        import signal, janus
        from janus.runtime import WorkerPool
        before = {{s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}}
        with WorkerPool({{"f": abs}}, size=1, pool_name="{PREFIX}nosig") as p:
            after = {{s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}}
        assert before == after, (before, after)
        print("ok")
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# How the child program ends: its pool is never closed explicitly.
ENDINGS = {
    "normal exit": "pass",
    "uncaught exception": "raise RuntimeError('boom')",
    "Ctrl-C": "print('ready', flush=True); time.sleep(60)",
    "dropped and collected": "del p; import gc; gc.collect(); print('collected', flush=True); "
    "time.sleep(60)",
    "SIGTERM, opted in": "janus.runtime.close_pools_on_signals(); print('ready', flush=True); "
    "time.sleep(60)",
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_cgroups_are_removed_however_the_program_ends(tmp_path, ending):
    name = f"{PREFIX}end{list(ENDINGS).index(ending)}"
    script = tmp_path / "prog.py"
    script.write_text(
        textwrap.dedent(f"""
        import os, subprocess, sys, time, janus, janus.runtime
        def child(x):
            p = subprocess.Popen(["sleep", "300"], start_new_session=True)
            return p.pid
        p = janus.runtime.WorkerPool({{"child": child}}, size=2, pool_name="{name}")
        print("pid", p.call("child", 0, janus.Size(500, 256)).value, flush=True)
        """)
        + ENDINGS[ending]
        + "\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    child = started = None
    try:
        first = proc.stdout.readline().split()
        assert first and first[0] == "pid", proc.stderr.read()
        child = int(first[1])
        started = start_time(child)
        if ending in ("Ctrl-C", "SIGTERM, opted in"):
            assert proc.stdout.readline().strip() == "ready"
            assert pool_cgroups(name)
            proc.send_signal(signal.SIGINT if ending == "Ctrl-C" else signal.SIGTERM)
        if ending == "dropped and collected":
            assert proc.stdout.readline().strip() == "collected"
            assert pool_cgroups(name) == [], "a collected pool removes its cgroups"
            assert started is None or wait_dead(child, started)
            proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        expected = {
            "normal exit": 0,
            "uncaught exception": 1,
            # KeyboardInterrupt unwinds (atexit runs), then Python dies of SIGINT
            "Ctrl-C": -signal.SIGINT,
            "dropped and collected": -signal.SIGTERM,
            "SIGTERM, opted in": -signal.SIGTERM,
        }[ending]
        assert rc == expected, proc.stderr.read()
        assert pool_cgroups(name) == [], "cgroups left behind"
        assert started is None or wait_dead(child, started), "the session child survived"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if child is not None and started is not None:
            end_if_alive(child, started)
        remove_pool_cgroups(name)


def test_a_pool_left_to_the_garbage_collector_cleans_up():
    name = f"{PREFIX}gc"
    p = WorkerPool(FUNCS, size=1, pool_name=name)
    pid = next(iter(p._all.values())).proc.pid
    assert pool_cgroups(name)
    del p
    gc.collect()
    assert pool_cgroups(name) == []
    assert start_time(pid) is None, "the worker was killed and reaped"
