"""The synthesis options as command-line flags, shared by every command that
synthesizes (``janus synthesize``, ``janus simulate``, ``janus demo``).

Flags default to None and are only forwarded when given, so the defaults
live in one place: the Rust core (see ``janus.synthesize``)."""

from __future__ import annotations

import argparse
from typing import Any

from janus.cli.args import NON_NEGATIVE, POSITIVE_INT, on_off

_FLAGS: list[tuple[str, dict[str, Any]]] = [
    ("--mode", {"choices": ["stochastic", "percentile"], "help": "synthesis mode (stochastic)"}),
    ("--buckets", {"type": POSITIVE_INT, "help": "time buckets per deadline (400)"}),
    ("--tolerance", {"type": NON_NEGATIVE, "help": "cost tolerance of ranked alternatives (0.05)"}),
    ("--max-rules", {"type": POSITIVE_INT, "help": "cap on rules per function and table (none)"}),
    ("--max-classes", {"type": POSITIVE_INT, "help": "input classes over request features (8)"}),
    ("--min-class-samples", {"type": POSITIVE_INT, "help": "samples per class and size (15)"}),
    ("--smoothing", {"type": NON_NEGATIVE, "help": "histogram smoothing (0 = raw samples)"}),
    ("--late", {"choices": ["static", "cheapest", "fastest"], "help": "late runs get (static)"}),
    ("--min-gain", {"type": NON_NEGATIVE, "help": "saving a more complex plan needs (0.005)"}),
    ("--confidence", {"type": NON_NEGATIVE, "help": "confidence despite sampling error (0.9)"}),
    ("--mix", {"action": "store_true", "default": None, "help": "per-run mixtures (run keys)"}),
    (
        "--crossfit",
        {
            "type": on_off,
            "metavar": "on|off",
            "help": "check plans from a keyed profile on requests they were not fitted on (on)",
        },
    ),
    (
        "--bands",
        {
            "type": on_off,
            "metavar": "on|off",
            "help": "plan knowing a run slow so far is slow ahead (keyed profiles; on)",
        },
    ),
]


def add_synthesis_arguments(p: argparse.ArgumentParser, modes: bool = True) -> None:
    g = p.add_argument_group("synthesis")
    for flag, kw in _FLAGS:
        if flag == "--mode" and not modes:
            continue
        g.add_argument(flag, **({"default": None} | kw))


def synthesis_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The synthesis options given on the command line, as keyword arguments."""
    out = {}
    for flag, _ in _FLAGS:
        key = flag[2:].replace("-", "_")
        v = getattr(args, key, None)
        if v is not None:
            out[key] = v
    return out
