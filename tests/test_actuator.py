"""The actuator binding: real cgroups where the tree is writable (CI runs as
root), the dry run everywhere, and bad input."""

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from runtime_support import PREFIX, real_actuator

from janus import ActuationError
from janus._janus import Actuator


def test_dry_run_records_and_says_so():
    a = Actuator.dry_run()
    assert (a.kind, a.is_real) == ("dry-run", False)
    a.create("w1")
    a.apply("w1", 500, 256)
    assert a.applied("w1") == (500, 256)
    assert a.usage("w1")["cpu_usec"] == 0
    a.remove_all()


@pytest.mark.parametrize("name", ["..", "../etc", "a/b", "", "sp ace"])
def test_bad_names(name):
    a = Actuator.dry_run()
    with pytest.raises(ActuationError, match="invalid|name"):
        a.create(name)
    with pytest.raises(ActuationError):
        Actuator.dry_run(pool=name)


def test_bad_sizes():
    a = Actuator.dry_run()
    a.create("w")
    with pytest.raises(ActuationError, match="cpu"):
        a.apply("w", 0, 256)
    for below_the_kernels_quota in (1, 9):  # issue 9, item 17: refused up front
        with pytest.raises(ActuationError, match="cpu"):
            a.apply("w", below_the_kernels_quota, 256)
    with pytest.raises(ActuationError, match="memory"):
        a.apply("w", 500, 0)
    a.apply("w", 10, 1)  # the smallest size there is
    with pytest.raises(ActuationError, match="cpu"):
        a.apply("w", (os.cpu_count() or 1) * 1000 + 1, 256)


def test_real_cgroup_limits_a_process_and_is_removed():
    pool = f"{PREFIX}act-{uuid.uuid4().hex[:8]}"
    a = real_actuator(pool)
    assert a.is_real and a.kind.startswith("cgroup-")
    try:
        a.create("w")
        a.apply("w", 200, 64)
        dirs = a.worker_dirs("w")
        assert dirs and all(isinstance(d, Path) and d.is_dir() for d in dirs), dirs
        assert all(d.name == "w" and d.parent.name == pool for d in dirs), dirs
        child = subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"])
        try:
            a.attach("w", child.pid)
            time.sleep(1.0)
            u = a.usage("w")
            # 200 millicores for ~1 s: some CPU used, and throttled
            assert 20_000 < u["cpu_usec"] < 600_000, u
            assert u["nr_throttled"] > 0, u
        finally:
            child.kill()
            child.wait()
    finally:
        a.remove_all()  # also when an assertion failed: nothing left behind
    assert not any(os.path.exists(d) for d in dirs)


def test_errors_carry_kind_path_and_subclass():
    from janus import CgroupBusyError, CgroupsUnavailableError, MemoryBelowUsageError

    for sub in (CgroupBusyError, CgroupsUnavailableError, MemoryBelowUsageError):
        assert issubclass(sub, ActuationError)
    a = Actuator.dry_run()
    a.create("w")
    with pytest.raises(ActuationError) as ei:
        a.apply("w", 0, 256)
    assert ei.value.kind == "bad_size" and ei.value.path is None
    with pytest.raises(ActuationError) as ei:
        a.create("../x")
    assert ei.value.kind == "bad_name"
    # Raised from Python code, the class defaults apply.
    e = ActuationError("made in Python")
    assert e.kind == "actuation" and e.path is None


def test_a_plain_folder_shaped_like_a_cgroup_tree_is_refused_and_untouched(tmp_path):
    from janus import CgroupsUnavailableError

    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    (tmp_path / "cgroup.subtree_control").write_text("cpu memory\n")
    for c in ("cpu", "cpuacct", "memory"):
        (tmp_path / c).mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(CgroupsUnavailableError, match="dry_run=True") as ei:
        Actuator.cgroup(pool=PREFIX + "plain", base=str(tmp_path))
    assert ei.value.kind == "no_cgroups"
    assert "Actuator.dry_run()" not in str(ei.value), "points to something that does not exist"
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "nothing created"


def test_removing_a_busy_cgroup_is_a_cgroup_busy_error():
    from janus import CgroupBusyError

    pool = f"{PREFIX}busy-{uuid.uuid4().hex[:8]}"
    a = real_actuator(pool)
    a.create("w")
    child = subprocess.Popen(["sleep", "60"])
    try:
        a.attach("w", child.pid)
        with pytest.raises(CgroupBusyError) as ei:
            a.remove("w")
        assert ei.value.kind == "busy" and ei.value.path and ei.value.path.endswith("/w")
        assert a.kill("w") == 1
        child.wait(timeout=10)
        a.remove("w")
    finally:
        child.kill()
        child.wait()
        a.remove_all()
