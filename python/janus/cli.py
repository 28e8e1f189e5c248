"""The ``janus`` command line: one sub-command per module, loaded on use."""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> module exposing add_arguments(parser) and run(args) -> int
COMMANDS = {
    "demo": (
        "janus.runtime.demo",
        "profile, synthesize and serve the reference workflow on this machine",
    ),
    "profile": ("janus.runtime.profile_cli", "profile a workflow's functions at each size option"),
    "cgroups": (
        "janus.runtime.cgroups_cli",
        "inspect or remove cgroups left by a killed Janus run",
    ),
    "synthesize": ("janus.synth_cli", "synthesize a hint set from a workflow and a profile"),
    "hints": (
        "janus.hints_cli",
        "show what a hint set says (rules per function), optionally as a plot",
    ),
    "simulate": ("janus.analysis.cli", "replay traces under Janus and the baselines"),
    "serve": ("janus.serve_cli", "serve hint sets over HTTP for providers: decide, observe, metrics"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="janus", description="Late-binding sizing for serverless workflows."
    )
    from janus import __version__

    parser.add_argument("--version", action="version", version=f"janus {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    for name, (mod, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        if name == chosen:
            importlib.import_module(mod).add_arguments(p)
        else:
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from janus._janus import JanusError

    try:
        return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)
    except JanusError as e:
        print(f"janus {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"janus {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
