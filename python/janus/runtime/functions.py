"""Which functions a pool serves, and how they travel to its workers.

Functions are sent once per worker with cloudpickle: by reference when their
module is installed code the worker can import (the standard library,
site-packages, Janus itself), by value otherwise (``__main__``, a workflow
file, a module on a path of the caller's own).
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import sysconfig
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import cloudpickle  # checked with a clear message in janus/runtime/__init__.py

from janus.runtime.errors import PoolError


def _trusted_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    dirs = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # janus itself
    return [os.path.realpath(d) for d in dirs if d]


def _on_sys_path(module_name: str) -> bool:
    """Whether a fresh process can import the module's top-level package by
    name (a workflow file loaded under a private name cannot, even when the
    file lies in an installed package)."""
    top = module_name.partition(".")[0]
    if top in sys.builtin_module_names:
        return True
    try:
        return importlib.machinery.PathFinder.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _by_value(mod: Any) -> bool:
    """Whether functions of ``mod`` must travel by value: unless a fresh
    worker can import the module by name from installed code (the standard
    library, site-packages, Janus itself). ``__main__`` goes by value anyway
    (cloudpickle's rule); a module without a file (``builtins``, other
    built-in modules) is part of every interpreter and goes by reference."""
    if mod is None or mod.__name__ == "__main__" or not getattr(mod, "__file__", None):
        return False
    f = os.path.realpath(mod.__file__)
    installed = any(f.startswith(d + os.sep) for d in _trusted_dirs()) or (
        f"{os.sep}site-packages{os.sep}" in f
    )
    return not (installed and _on_sys_path(mod.__name__))


def pickle_function(name: str, fn: Callable) -> bytes:
    """cloudpickle a function; by value unless its module is installed code.

    The module is registered by value for this one pickle only: a process-wide
    registration would change every later cloudpickle of the caller's (once it
    made every later pickle in the process copy ``builtins``).
    """
    mod = sys.modules.get(getattr(fn, "__module__", "") or "")
    scoped = _by_value(mod) and mod.__name__ not in cloudpickle.list_registry_pickle_by_value()
    if scoped:
        cloudpickle.register_pickle_by_value(mod)
    try:
        return cloudpickle.dumps(fn)
    except Exception as e:
        raise PoolError(f"function {name!r} cannot be sent to a worker: {e}") from e
    finally:
        if scoped:
            cloudpickle.unregister_pickle_by_value(mod)


def functions_of(src: Any) -> dict[str, Callable]:
    """``{name: function}`` from a ``janus.Workflow``, a dict or a list of functions."""
    if hasattr(src, "functions") and hasattr(src, "native"):
        fns = dict(src.functions)
    elif isinstance(src, Mapping):
        fns = dict(src)
    elif isinstance(src, Iterable):
        fns = {f.__name__: f for f in src}
    else:
        raise PoolError(f"expected a janus.Workflow, a dict or a list of functions, got {src!r}")
    if not fns:
        raise PoolError("the pool has no functions to run")
    for n, f in fns.items():
        if not callable(f):
            raise PoolError(f"function {n!r} is not callable: {f!r}")
    return fns


def default_size(src: Any) -> int:
    """Enough workers for the widest block of a workflow (sum of fan-outs)."""
    try:
        wf = src.native
        return max(sum(wf.fanout(s) for s in block) for block in wf.blocks)
    except (AttributeError, TypeError, ValueError):
        return 2
