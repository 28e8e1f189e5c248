"""The ``janus`` command line: one module per sub-command in this package.

Each module has ``add_arguments(parser)`` and ``run(args) -> int`` and is
imported only when its command runs, so ``janus hints`` does not load the
runtime or pandas. To add a command, add one line to ``COMMANDS``.

Errors are one line on stderr, never a traceback: a bad command line exits
with 2, a ``JanusError`` (a bad input file, a workflow file that raises
included) or an OS error (a file that cannot be read or written) with 1,
Ctrl-C with 130.

A command that starts worker pools runs inside ``closing_pools()``: on
Ctrl-C, SIGTERM or SIGHUP its pools are closed (workers and all they started
killed, cgroups removed) before the signal takes its usual course, so
stopping a ``janus profile`` or ``janus demo`` never leaves processes or
cgroups behind; afterwards the caller's signal handlers are back. A signal
the caller ignores stays ignored (``nohup janus profile ...`` survives a hangup).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from contextlib import AbstractContextManager
from typing import NoReturn

from janus.cli.args import CliError

# (command, module, one-line help), in the order `janus --help` lists them.
COMMANDS: list[tuple[str, str, str]] = [
    ("demo", "janus.cli.demo", "profile, synthesize and serve the reference workflow here"),
    ("profile", "janus.cli.profile", "profile a workflow's functions at each size option"),
    ("synthesize", "janus.cli.synthesize", "synthesize a hint set from a workflow and a profile"),
    ("hints", "janus.cli.hints", "show what a hint set says (rules per function), or plot it"),
    ("simulate", "janus.cli.simulate", "replay traces under Janus and the baselines"),
    ("cgroups", "janus.cli.cgroups", "inspect or remove cgroups left by a killed Janus run"),
    (
        "serve",
        "janus.cli.serve",
        "serve hint sets over HTTP for providers: decide, observe, metrics",
    ),
]


def closing_pools() -> AbstractContextManager[None]:
    """Within it, Ctrl-C, SIGTERM and SIGHUP close this process's worker pools
    first (``janus.runtime.pools_closed_on_signals``); Ctrl-C then still raises
    ``KeyboardInterrupt`` (exit 130), SIGTERM and SIGHUP still end the process."""
    from janus.runtime import pools_closed_on_signals

    return pools_closed_on_signals((signal.SIGINT, signal.SIGTERM, signal.SIGHUP))


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so that
    every error of every sub-command is reported the same way by ``main``."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see {self.prog} --help)")


def main(argv: list[str] | None = None) -> int:
    from janus import __version__

    parser = _Parser(prog="janus", description="Late-binding sizing for serverless workflows.")
    parser.add_argument("--version", action="version", version=f"janus {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    chosen = argv[0] if argv else None
    modules = {}
    for name, module, help_ in COMMANDS:
        p = sub.add_parser(name, help=help_, description=help_)
        modules[name] = module
        if name == chosen:
            importlib.import_module(module).add_arguments(p)
    command = chosen if chosen in modules else "janus"
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        status = int(importlib.import_module(modules[args.command]).run(args) or 0)
        sys.stdout.flush()  # so that a reader gone early is found here, not at exit
        return status
    except BrokenPipeError:
        # `janus ... | head`: the reader has all it wanted. Stop quietly, as
        # Python's docs advise ("Note on SIGPIPE"), with stdout on devnull so
        # that flushing it at exit does not fail again.
        _drop_stdout()
        return 1
    except CliError as e:
        return _fail(command, f"error: {e}", 2)
    except KeyboardInterrupt:
        return _fail(command, "interrupted", 130)
    except Exception as e:
        from janus._janus import JanusError

        if isinstance(e, JanusError):
            from janus.workflow_file import WorkflowFileError

            # A workflow file's error already names Python's error (file:line: Type: ...)
            kind = "" if isinstance(e, WorkflowFileError) else f"{type(e).__name__}: "
            return _fail(command, f"{kind}{e}", 1)
        if isinstance(e, OSError):
            where = f": {e.filename}" if e.filename else ""
            return _fail(command, f"{e.strerror or e}{where}", 1)
        raise


def _drop_stdout() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (tests capture it)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _fail(command: str, message: str, status: int) -> int:
    prefix = "janus" if command == "janus" else f"janus {command}"
    print(f"{prefix}: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
