"""Ctrl-C, SIGTERM and SIGHUP sent to a real ``janus profile`` or ``janus demo``
process in the middle of its work: the command closes its worker pool before
it ends, so no worker process, nothing a function started (even in a new
session) and none of the cgroups that process created is left.

Each test starts its own ``janus`` process and knows its pid: the pool's
cgroups are named after it (``p<pid>-0`` for ``janus profile``,
``demo-<pid>`` for ``janus demo``), its workers are its children, and the
session children are noted by pid and start time in a file. Only those are
checked, and, if the test fails, ended (by pid) and removed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from runtime_support import (
    PREFIX,
    cgroups_or_skip,
    end_if_alive,
    leftover_cgroups,
    wait_dead,
    workers_of,
)

from janus._janus import ActuationError, Actuator

# How the command ends on each signal: Ctrl-C is the CLI's "interrupted" (130);
# on SIGTERM and SIGHUP it dies of the signal, as it would without Janus.
EXPECTED_STATUS = {
    signal.SIGINT: 130,
    signal.SIGTERM: -signal.SIGTERM,
    signal.SIGHUP: -signal.SIGHUP,
}

WORKFLOW = """
import os, subprocess, time
import janus

workflow = janus.Workflow("sig", deadline_ms=60_000)

@workflow.function(options=janus.sizes([250, 500], 128))
def step(x):
    # a child out of reach of the worker's process group: only the cgroup holds it
    p = subprocess.Popen(["sleep", "300"], start_new_session=True)
    with open(f"/proc/{{p.pid}}/stat") as f:
        started = f.read().rsplit(")", 1)[1].split()[19]
    with open({noted!r}, "a") as f:
        f.write(f"{{p.pid}} {{started}}\\n")
    time.sleep(0.2)
    return x

sample_requests = list(range(200))
"""


@pytest.fixture(autouse=True)
def real_cgroups():
    cgroups_or_skip(PREFIX + "probe")


def _wait_for(cond, within_s: float, what: str) -> None:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {within_s} s waiting for {what}")


def _noted(path: Path) -> list[tuple[int, str]]:
    if not path.exists():
        return []
    return [(int(p), s) for p, s in (line.split() for line in path.read_text().splitlines())]


@contextmanager
def _child_signals(hangup=signal.SIG_DFL):
    """Around starting a child: the signals tested take their default course
    in it (``hangup``: SIG_IGN as ``nohup`` starts it), whatever this test
    process inherited (under ``nohup`` SIGHUP is ignored, in a background
    job SIGINT, and an ignored signal is inherited and stays ignored by
    janus). A child inherits ignored signals, not handlers."""
    wanted = {
        signal.SIGINT: signal.default_int_handler,
        signal.SIGTERM: signal.SIG_DFL,
        signal.SIGHUP: hangup,
    }
    before = {sig: signal.signal(sig, how) for sig, how in wanted.items()}
    try:
        yield
    finally:
        for sig, how in before.items():
            signal.signal(sig, how)


def _end(proc: subprocess.Popen, started: list[tuple[int, str]], prefix: str) -> None:
    """After a test, failed or not: end the command, the processes it
    started (by pid and start time) and its pool's cgroups (by name), nothing else."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for pid, at in started:
        end_if_alive(pid, at)
    try:
        Actuator.cgroup(pool=prefix).remove_all()
    except ActuationError:
        pass


def _interrupt(cmd: list[str], pool: str, sig: int, tmp_path: Path, ready) -> None:
    """Start ``cmd``, wait until ``ready(proc)`` and its workers run, send
    ``sig``; then the process must end as expected leaving nothing of its own."""
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with open(out, "w") as fo, open(err, "w") as fe, _child_signals():
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, cwd=tmp_path)
    prefix = pool.format(pid=proc.pid)
    workers: list[tuple[int, str]] = []
    try:
        _wait_for(lambda: ready(proc) or proc.poll() is not None, 120, "the command to start")
        assert proc.poll() is None, f"ended before the signal: {err.read_text()}"
        _wait_for(lambda: workers_of(proc.pid), 30, "its workers")
        workers = workers_of(proc.pid)
        assert leftover_cgroups(prefix), "the pool's cgroups exist while it runs"
        proc.send_signal(sig)
        rc = proc.wait(timeout=60)
        assert rc == EXPECTED_STATUS[sig], (rc, err.read_text())
        for pid, started in workers:
            assert wait_dead(pid, started), f"worker {pid} survived {signal.Signals(sig).name}"
        for pid, started in _noted(tmp_path / "noted"):
            assert wait_dead(pid, started), f"session child {pid} survived"
        assert leftover_cgroups(prefix) == [], "cgroups left behind"
    finally:
        _end(proc, workers + _noted(tmp_path / "noted"), prefix)


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_a_signal_to_janus_profile_leaves_no_workers_and_no_cgroups(tmp_path, sig):
    noted = tmp_path / "noted"
    (tmp_path / "wf.py").write_text(textwrap.dedent(WORKFLOW.format(noted=str(noted))))
    cmd = [sys.executable, "-m", "janus", "profile", "wf.py", "--out", "p.json", "--quiet"]
    # janus profile names its pool p<pid>-0: the first pool of that process
    _interrupt(cmd, "p{pid}-0", sig, tmp_path, ready=lambda proc: bool(_noted(noted)))


def test_under_nohup_a_hangup_leaves_janus_profile_running(tmp_path):
    # Started with SIGHUP ignored (as `nohup janus profile ...`), a hangup
    # must neither end the run nor close its pool; SIGTERM still does both.
    noted = tmp_path / "noted"
    (tmp_path / "wf.py").write_text(textwrap.dedent(WORKFLOW.format(noted=str(noted))))
    cmd = [sys.executable, "-m", "janus", "profile", "wf.py", "--out", "p.json", "--quiet"]
    err = tmp_path / "stderr"
    out = tmp_path / "stdout"
    with open(out, "w") as fo, open(err, "w") as fe, _child_signals(hangup=signal.SIG_IGN):
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, cwd=tmp_path)
    prefix = f"p{proc.pid}-0"
    workers: list[tuple[int, str]] = []
    try:
        _wait_for(lambda: _noted(noted) or proc.poll() is not None, 120, "the command to start")
        _wait_for(lambda: workers_of(proc.pid), 30, "its workers")
        workers = workers_of(proc.pid)
        proc.send_signal(signal.SIGHUP)
        time.sleep(2.0)
        assert proc.poll() is None, f"a hangup ended it: {err.read_text()}"
        assert "PoolClosed" not in err.read_text()
        assert leftover_cgroups(prefix), "its pool is still there"
        assert all(pid in {p for p, _ in workers_of(proc.pid)} for pid, _ in workers)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM
        for pid, started in workers:
            assert wait_dead(pid, started), f"worker {pid} survived SIGTERM"
        assert leftover_cgroups(prefix) == [], "cgroups left behind"
    finally:
        _end(proc, workers + _noted(noted), prefix)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_to_janus_demo_leaves_no_workers_and_no_cgroups(tmp_path, sig):
    cmd = [sys.executable, "-m", "janus", "demo", "--out", "d", "--quiet"]
    cmd += ["--requests", "2", "--profile-requests", "2"]
    out = tmp_path / "stdout"
    _interrupt(
        cmd,
        "demo-{pid}",
        sig,
        tmp_path,
        ready=lambda proc: "actuator:" in (out.read_text() if out.exists() else ""),
    )


def test_the_commands_give_the_callers_signal_handlers_back(tmp_path):
    """janus.cli.main called in-process (a test, a program) leaves the signal
    handlers as it found them: the pools are closed on signals only while the
    command runs."""
    from janus.cli import main

    (tmp_path / "wf.py").write_text(
        "import janus\n"
        "workflow = janus.Workflow('w', deadline_ms=1000)\n"
        "workflow.add('a', janus.sizes([250], 64), fn=abs)\n"
        "sample_requests = [1, -2]\n"
    )
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {s: signal.getsignal(s) for s in sigs}
    out = str(tmp_path / "p.json")
    assert main(["profile", str(tmp_path / "wf.py"), "--out", out, "--dry-run", "--quiet"]) == 0
    assert {s: signal.getsignal(s) for s in sigs} == before
