"""Choosing an actuator: real cgroups when writable, else an announced dry run."""

from __future__ import annotations

import logging
import warnings

from janus._janus import ActuationError, Actuator
from janus._janus import gc_cgroups as _gc

log = logging.getLogger("janus.runtime")


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
