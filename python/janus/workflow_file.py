"""Workflow files: a Python file that defines ``workflow`` (a ``janus.Workflow``)
and, for profiling, ``sample_requests`` (or ``sample_inputs``). Every command that
takes one loads it here."""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from types import ModuleType

from janus._janus import JanusError


class WorkflowFileError(JanusError):
    """The workflow file raised while it was imported (a typo, a syntax error,
    a missing import). The message is ``FILE:LINE: TypeName: message``, the
    line being the deepest one in the file itself; Python's error is chained
    as ``__cause__`` for its full traceback."""


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
    try:
        spec.loader.exec_module(mod)
    except Exception as e:  # Ctrl-C and SystemExit keep their meaning
        sys.modules.pop(name, None)
        raise WorkflowFileError(_where(path, e)) from e
    for attr in need:
        if not hasattr(mod, attr):
            raise JanusError(f"{path}: defines no `{attr}`")
    return mod


def _where(path: str, e: Exception) -> str:
    """``path:line: TypeName: message`` for an error raised importing ``path``
    (``path`` as the user gave it; Python names the file by its full path)."""
    full = os.path.abspath(path)
    if isinstance(e, SyntaxError) and e.filename and os.path.abspath(e.filename) == full:
        line, detail = e.lineno, e.msg
    else:
        # The deepest frame in the file itself: below it is Janus or a library
        # the file called, which is not where the user's mistake is.
        tb = traceback.extract_tb(e.__traceback__)
        frames = [f for f in tb if os.path.abspath(f.filename) == full]
        line = frames[-1].lineno if frames else None
        detail = str(e).strip().split("\n", 1)[0]
    where = f"{path}:{line}" if line else path
    return f"{where}: {type(e).__name__}: {detail}" if detail else f"{where}: {type(e).__name__}"
