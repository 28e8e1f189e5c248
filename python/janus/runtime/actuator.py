"""Choosing an actuator: real cgroups when writable, else an announced dry run."""

from __future__ import annotations

import logging
import os
import warnings

from janus._janus import ActuationError, Actuator
from janus._janus import gc_cgroups as _gc

log = logging.getLogger("janus.runtime")

CGROUP_BASE = "/sys/fs/cgroup"  # where cgroup v2 (or v1's controllers) are mounted


class DryRunWarning(UserWarning):
    """Sizes are recorded but not enforced."""


def check_pool_name(pool: str) -> str:
    """The name if it is a valid cgroup component, else ``ActuationError`` (e.g. ``..``)."""
    if not isinstance(pool, str):
        raise ActuationError(f"pool name must be a string, got {pool!r}")
    Actuator.dry_run(pool=pool)  # validates with the same rules as the cgroup actuator
    return pool


def default_actuator(pool: str, dry_run: bool = False, base: str | None = None) -> Actuator:
    """Real cgroups for ``pool`` if this machine lets us write them, else a dry run.

    A dry run is announced with a ``DryRunWarning`` and a log line: sizes are
    then only recorded, never pretended to be enforced.
    """
    check_pool_name(pool)
    if dry_run:
        return Actuator.dry_run(pool=pool)
    try:
        return Actuator.cgroup(pool=pool, base=base)
    except ActuationError as e:
        msg = (
            f"janus: cgroups are not usable ({e}); falling back to a DRY RUN: "
            f"sizes are recorded but NOT enforced"
        )
        warnings.warn(msg, DryRunWarning, stacklevel=3)
        log.warning(msg)
        return Actuator.dry_run(pool=pool)


def gc_cgroups(base: str | None = None) -> list[str]:
    """Remove empty Janus cgroups left by killed runs; returns the removed paths."""
    return [str(p) for p in _gc(base)]


def janus_cgroups(base: str | None = None) -> list[tuple[str, int]]:
    """Every cgroup under ``<base>/janus`` and ``<base>/<controller>/janus``
    (the places ``gc_cgroups`` sweeps) with its number of processes."""
    base = base or CGROUP_BASE
    roots = [os.path.join(base, "janus")]
    if os.path.isdir(base):
        for d in sorted(os.listdir(base)):
            p = os.path.join(base, d)
            if os.path.isdir(p) and not os.path.islink(p):
                roots.append(os.path.join(p, "janus"))
    out = []
    for root in roots:
        if not os.path.isdir(root) or os.path.islink(root):
            continue
        for dirpath, _dirs, files in os.walk(root):
            n = 0
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        n = len(f.read().split())
                except OSError:
                    pass
            out.append((dirpath, n))
    return out
