"""Workflow files: a Python file that defines ``workflow`` (a ``janus.Workflow``)
and, for profiling, ``sample_requests`` (or ``sample_inputs``). Every command that
takes one loads it here."""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

from janus._janus import JanusError


def load_workflow_file(
    path: str | os.PathLike, need: tuple[str, ...] = ("workflow",)
) -> ModuleType:
    """Import the file under a private module name.

    Its module is not importable by that name elsewhere, so a ``WorkerPool``
    ships its functions to the workers by value (see
    ``janus.runtime.functions``); loading a file needs no runtime extra.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise JanusError(f"{path}: no such workflow file")
    stem = os.path.splitext(os.path.basename(path))[0]
    name = "_janus_user_" + "".join(c if c.isalnum() else "_" for c in stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise JanusError(f"{path}: cannot be loaded as a Python module")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    for attr in need:
        if not hasattr(mod, attr):
            raise JanusError(f"{path}: defines no `{attr}`")
    return mod
