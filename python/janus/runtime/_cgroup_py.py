"""Stop-gap cgroup actuator in pure Python, with the API of ``janus._janus.Actuator``.

Used only while the Rust actuator is not in the build (see ``actuator.py``):
the Rust one is preferred as soon as it exists. Layout and semantics follow
DESIGN.md: ``<mount>/janus/<pool>/<worker>``; v1 writes ``cpu.cfs_quota_us``/
``cpu.cfs_period_us`` and ``memory.limit_in_bytes``, v2 ``cpu.max`` and
``memory.max``.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time

from janus._janus import ActuationError

ROOT = "/sys/fs/cgroup"
PERIOD_US = 100_000
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ActuationError(
            f"invalid {kind} name {name!r}: use letters, digits, '_', '-', '.', no '..' or '/'"
        )
    return name


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _kv(path: str) -> dict[str, int]:
    out = {}
    for line in _read(path).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def detect(base: str | None = None) -> tuple[str, dict[str, str]]:
    """("cgroup-v1", {controller: janus root}) or ("cgroup-v2", {"": janus root})."""
    base = base or ROOT
    if os.path.exists(os.path.join(base, "cgroup.controllers")):
        return "cgroup-v2", {"": os.path.join(base, "janus")}
    roots = {}
    for ctl in ("cpu", "cpuacct", "memory"):
        d = os.path.join(base, ctl)
        if os.path.isdir(d):
            roots[ctl] = os.path.join(os.path.realpath(d), "janus")
    if "cpu" in roots and "memory" in roots:
        return "cgroup-v1", roots
    raise ActuationError(f"no cgroup v1 cpu+memory or v2 hierarchy under {base}")


def _rmdir_tree(path: str) -> None:
    if not os.path.isdir(path):
        return
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _rmdir_tree(entry.path)
    for attempt in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:  # EBUSY while the last task is still exiting
            if e.errno != errno.EBUSY or attempt == 49:
                raise ActuationError(f"cannot remove cgroup {path}: {e}") from e
            time.sleep(0.02)


class PyActuator:
    def __init__(self, kind: str, roots: dict[str, str], pool: str) -> None:
        self.kind = kind
        self.is_real = kind != "dry-run"
        self.pool = pool
        self._roots = roots
        self._applied: dict[str, tuple[int, int]] = {}
        self._workers: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def cgroup(cls, pool: str = "default", base: str | None = None) -> PyActuator:
        check_name("pool", pool)
        kind, roots = detect(base)
        a = cls(kind, roots, pool)
        for ctl, root in roots.items():
            d = os.path.join(root, pool)
            try:
                os.makedirs(d, exist_ok=True)
            except OSError as e:
                raise ActuationError(f"cgroups not writable: {d}: {e}") from e
            if kind == "cgroup-v2":
                for p in (os.path.dirname(root), root, d):
                    try:  # enable cpu and memory for the children
                        _write(os.path.join(p, "cgroup.subtree_control"), "+cpu +memory")
                    except OSError as e:
                        raise ActuationError(f"cgroups not writable: {p}: {e}") from e
        return a

    @classmethod
    def dry_run(cls) -> PyActuator:
        return cls("dry-run", {}, "dry-run")

    # -- paths -------------------------------------------------------------
    def _dir(self, ctl: str, worker: str) -> str:
        return os.path.join(self._roots[ctl], self.pool, worker)

    def _ctl_dirs(self, worker: str) -> list[str]:
        return [self._dir(c, worker) for c in self._roots]

    # -- API -----------------------------------------------------------------
    def create(self, worker: str) -> None:
        check_name("worker", worker)
        with self._lock:
            self._workers.add(worker)
        if not self.is_real:
            return
        for d in self._ctl_dirs(worker):
            try:
                os.makedirs(d, exist_ok=True)
            except OSError as e:
                raise ActuationError(f"cannot create cgroup {d}: {e}") from e
        if self.kind == "cgroup-v1":  # charge the worker's existing pages to its cgroup
            try:
                _write(os.path.join(self._dir("memory", worker), "memory.move_charge_at_immigrate"),
                       "3")
            except OSError:
                pass

    def _known(self, worker: str) -> None:
        check_name("worker", worker)
        if worker not in self._workers:
            raise ActuationError(f"unknown worker {worker!r} in pool {self.pool!r}")

    def attach(self, worker: str, pid: int) -> None:
        self._known(worker)
        if not self.is_real:
            return
        for d in self._ctl_dirs(worker):
            try:
                _write(os.path.join(d, "cgroup.procs"), str(int(pid)))
            except OSError as e:
                raise ActuationError(f"cannot attach pid {pid} to {d}: {e}") from e

    def apply(self, worker: str, cpu_millis: int, memory_mib: int) -> None:
        self._known(worker)
        ncpu = os.cpu_count() or 1
        if not 0 < int(cpu_millis) <= ncpu * 1000:
            raise ActuationError(
                f"cpu {cpu_millis} millicores is outside (0, {ncpu * 1000}] on this machine"
            )
        if int(memory_mib) <= 0:
            raise ActuationError(f"memory {memory_mib} MiB must be positive")
        if self.is_real:
            quota = int(cpu_millis) * PERIOD_US // 1000
            mem = int(memory_mib) * 1024 * 1024
            try:
                if self.kind == "cgroup-v1":
                    cd = self._dir("cpu", worker)
                    _write(os.path.join(cd, "cpu.cfs_period_us"), str(PERIOD_US))
                    _write(os.path.join(cd, "cpu.cfs_quota_us"), str(quota))
                    md = self._dir("memory", worker)
                    _write(os.path.join(md, "memory.limit_in_bytes"), str(mem))
                else:
                    d = self._dir("", worker)
                    _write(os.path.join(d, "cpu.max"), f"{quota} {PERIOD_US}")
                    _write(os.path.join(d, "memory.max"), str(mem))
                    _write(os.path.join(d, "memory.swap.max"), "0")
            except OSError as e:
                if e.errno == errno.EBUSY:
                    raise ActuationError(
                        f"cannot lower memory of {worker} to {memory_mib} MiB: "
                        f"its current usage is above it (EBUSY)"
                    ) from e
                raise ActuationError(f"cannot apply size to {worker}: {e}") from e
        self._applied[worker] = (int(cpu_millis), int(memory_mib))

    def applied(self, worker: str):
        return self._applied.get(worker)

    def usage(self, worker: str) -> dict:
        self._known(worker)
        u = dict(cpu_usec=0, nr_periods=0, nr_throttled=0, throttled_usec=0,
                 memory_peak_bytes=0, oom_kills=0)
        if not self.is_real:
            return u
        try:
            if self.kind == "cgroup-v1":
                st = _kv(os.path.join(self._dir("cpu", worker), "cpu.stat"))
                u["nr_periods"] = st.get("nr_periods", 0)
                u["nr_throttled"] = st.get("nr_throttled", 0)
                u["throttled_usec"] = st.get("throttled_time", 0) // 1000
                acct = "cpuacct" if "cpuacct" in self._roots else "cpu"
                usage = os.path.join(self._dir(acct, worker), "cpuacct.usage")
                if os.path.exists(usage):
                    u["cpu_usec"] = int(_read(usage)) // 1000
                md = self._dir("memory", worker)
                u["memory_peak_bytes"] = int(_read(os.path.join(md, "memory.max_usage_in_bytes")))
                u["oom_kills"] = _kv(os.path.join(md, "memory.oom_control")).get("oom_kill", 0)
            else:
                d = self._dir("", worker)
                st = _kv(os.path.join(d, "cpu.stat"))
                u["cpu_usec"] = st.get("usage_usec", 0)
                u["nr_periods"] = st.get("nr_periods", 0)
                u["nr_throttled"] = st.get("nr_throttled", 0)
                u["throttled_usec"] = st.get("throttled_usec", 0)
                peak = os.path.join(d, "memory.peak")
                if os.path.exists(peak):
                    u["memory_peak_bytes"] = int(_read(peak))
                u["oom_kills"] = _kv(os.path.join(d, "memory.events")).get("oom_kill", 0)
        except OSError as e:
            raise ActuationError(f"cannot read usage of {worker}: {e}") from e
        return u

    def reset_peak(self, worker: str) -> None:
        self._known(worker)
        if not self.is_real:
            return
        try:
            if self.kind == "cgroup-v1":
                _write(os.path.join(self._dir("memory", worker), "memory.max_usage_in_bytes"), "0")
            else:
                peak = os.path.join(self._dir("", worker), "memory.peak")
                if os.path.exists(peak):
                    _write(peak, "0")
        except OSError:
            pass  # older kernels cannot reset the v2 peak; usage stays an upper bound

    def remove(self, worker: str) -> None:
        check_name("worker", worker)
        with self._lock:
            self._workers.discard(worker)
        self._applied.pop(worker, None)
        if self.is_real:
            for d in self._ctl_dirs(worker):
                _rmdir_tree(d)

    def remove_all(self) -> None:
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            self.remove(w)
        if self.is_real:
            for root in self._roots.values():
                _rmdir_tree(os.path.join(root, self.pool))
                try:  # the Janus root too, when no other pool uses it
                    os.rmdir(root)
                except OSError:
                    pass

    def __repr__(self) -> str:
        return f"Actuator(kind={self.kind!r}, pool={self.pool!r})"


def _tasks(d: str) -> bool:
    try:
        return bool(_read(os.path.join(d, "cgroup.procs")).strip())
    except OSError:
        return False


def gc_cgroups(base: str | None = None) -> list[str]:
    """Remove Janus cgroups with no process left (leftovers of killed runs)."""
    try:
        _, roots = detect(base)
    except ActuationError:
        return []
    removed = []
    for root in roots.values():
        if not os.path.isdir(root):
            continue
        for dirpath, dirnames, _ in os.walk(root, topdown=False):
            if dirpath == root:
                continue
            if not _tasks(dirpath) and not any(
                os.path.isdir(os.path.join(dirpath, x)) for x in dirnames
            ):
                try:
                    os.rmdir(dirpath)
                    removed.append(dirpath)
                except OSError:
                    pass
    return removed
