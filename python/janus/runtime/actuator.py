"""Choosing an actuator: real cgroups when writable, else an announced dry run."""

from __future__ import annotations

import logging
import warnings

from janus.runtime import _cgroup_py

log = logging.getLogger("janus.runtime")

try:  # the Rust actuator, once it is part of the build
    from janus._janus import Actuator as _RustActuator
    from janus._janus import gc_cgroups as _rust_gc
except ImportError:  # pragma: no cover - depends on the build
    _RustActuator = None
    _rust_gc = None

Actuator = _RustActuator or _cgroup_py.PyActuator
NATIVE = _RustActuator is not None


class DryRunWarning(UserWarning):
    """Sizes are recorded but not enforced."""


def check_name(kind: str, name: str) -> str:
    return _cgroup_py.check_name(kind, name)


def default_actuator(pool: str, dry_run: bool = False, base: str | None = None):
    """Real cgroups for ``pool`` if this machine lets us write them, else a dry run.

    A dry run is announced with a ``DryRunWarning`` and a log line: the sizes
    are only recorded, never pretended to be enforced.
    """
    check_name("pool", pool)
    if dry_run:
        return Actuator.dry_run()
    from janus._janus import ActuationError

    try:
        return Actuator.cgroup(pool=pool, base=base)
    except ActuationError as e:
        msg = (f"janus: cgroups are not usable ({e}); falling back to a DRY RUN: "
               f"sizes are recorded but NOT enforced")
        warnings.warn(msg, DryRunWarning, stacklevel=3)
        log.warning(msg)
        return Actuator.dry_run()


def gc_cgroups(base: str | None = None) -> list[str]:
    if _rust_gc is not None:
        return list(_rust_gc(base))
    return _cgroup_py.gc_cgroups(base)
