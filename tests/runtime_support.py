"""Helpers shared by the runtime tests (real cgroups, run as root)."""

from __future__ import annotations

import glob
import os
import signal
import time

import pytest

from janus._janus import ActuationError, Actuator

# Every pool the runtime tests make is named jt<pid>-...: the leftover check
# then sees only this test run's cgroups, and two test runs on one machine
# (CI jobs, developers) never share or remove each other's pools.
PREFIX = f"jt{os.getpid()}-"


# CI runs as root with a writable cgroup tree; there a test that cannot reach
# real cgroups is a failure, not a skip (scripts/test.sh sets this as root;
# the Rust tests in tests/cgroup_real.rs read the same variable).
REQUIRE_CGROUPS = os.environ.get("JANUS_REQUIRE_CGROUP") == "1"


def real_actuator(pool: str) -> Actuator:
    """The real cgroup actuator for ``pool``; where this machine does not let
    us write cgroups, a skip with the reason (a failure under JANUS_REQUIRE_CGROUP=1)."""
    why = None if os.geteuid() == 0 else "not running as root"
    if why is None:
        try:
            return Actuator.cgroup(pool=pool)
        except ActuationError as e:
            why = f"cgroups not writable: {e}"
    if REQUIRE_CGROUPS:
        pytest.fail(f"JANUS_REQUIRE_CGROUP=1 but {why}")
    pytest.skip(why)


def cgroups_or_skip(pool: str) -> None:
    """Skip (or fail, see real_actuator) unless real cgroups can be written here."""
    real_actuator(pool).remove_all()


def leftover_cgroups(prefix: str = PREFIX) -> list[str]:
    """Pool cgroups named ``prefix...`` (this test run's, by default)."""
    pats = ["/sys/fs/cgroup/janus/" + prefix + "*", "/sys/fs/cgroup/*/janus/" + prefix + "*"]
    return sorted({p for pat in pats for p in glob.glob(pat)})


def start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time), None when gone or a zombie.
    With the pid it names one process: a recycled pid has another start time."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def wait_dead(pid: int, started: str, within_s: float = 10.0) -> bool:
    """True once process (pid, start time) is gone (a zombie counts as gone)."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if start_time(pid) != started:
            return True
        time.sleep(0.02)
    return False


def end_if_alive(pid: int, started: str) -> None:
    """Kill a process a test started if it survived (only that very process)."""
    if start_time(pid) == started:
        os.kill(pid, signal.SIGKILL)


def workers_of(parent: int) -> list[tuple[int, str]]:
    """(pid, start time) of the live worker processes whose parent is ``parent``."""
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[1] != str(parent) or fields[0] == "Z":
                continue
            with open(stat.replace("stat", "cmdline"), "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"janus/runtime/worker.py" in cmd:
            out.append((int(stat.split("/")[2]), fields[19]))
    return out


def leftover_workers() -> list[int]:
    """Pids of worker processes started by this test process that are still alive."""
    return [pid for pid, _ in workers_of(os.getpid())]


def echo(x: object) -> object:
    return x


def nap(s: float) -> float:
    time.sleep(s)
    return s


def fail(msg: str) -> None:
    raise ValueError(msg)


def die(code: int) -> None:
    os._exit(code)


def burn(n: int) -> int:
    """Single-threaded CPU work, ~0.3 s for n=2_000_000 on a modern core."""
    x = 0
    for i in range(n):
        x += i * i
    return x & 0xFFFF


def calibrate_burn(target_s: float = 0.3) -> int:
    n = 200_000
    t = time.perf_counter()
    burn(n)
    dt = time.perf_counter() - t
    return max(100_000, int(n * target_s / max(dt, 1e-3)))
