"""The synthesis options as command-line flags, shared by every command that
synthesizes (``janus synthesize``, ``janus simulate``, ``janus demo``).

Flags default to None and are only forwarded when given, so the defaults
live in one place: the Rust core (see ``janus.synthesize``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from janus.cli.args import NON_NEGATIVE, POSITIVE_INT, on_off

if TYPE_CHECKING:
    from janus._janus import Profile

_FLAGS: list[tuple[str, dict[str, Any]]] = [
    ("--mode", {"choices": ["stochastic", "percentile"], "help": "synthesis mode (stochastic)"}),
    ("--buckets", {"type": POSITIVE_INT, "help": "time buckets per deadline (400)"}),
    ("--tolerance", {"type": NON_NEGATIVE, "help": "cost tolerance of ranked alternatives (0.05)"}),
    ("--max-rules", {"type": POSITIVE_INT, "help": "cap on rules per function and table (none)"}),
    (
        "--max-classes",
        {
            "type": POSITIVE_INT,
            # the core's auto_max: one class per 4 x samples_needed(p) keyed requests
            "help": "input classes over request features "
            "(auto: 8 to 16 by the profile's keyed requests)",
        },
    ),
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
            "help": "check plans on requests (unkeyed: samples) they were not fitted on (on)",
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
    (
        "--lockstep",
        {
            "type": on_off,
            "metavar": "on|off",
            "help": "unkeyed profiles: miss no more than static were stages slow together (on)",
        },
    ),
    (
        "--beyond",
        {
            "type": on_off,
            "metavar": "on|off",
            "help": "thin profiles: hold plans on runs one stage slower than any profiled (on)",
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


def load_profile(path: str) -> Profile:
    """A profile file: JSON as ``janus profile`` writes it, or, by its ``.csv``
    extension, CSV as ``janus.Profile.from_csv`` reads it (columns function,
    cpu_millis, memory_mib, latency_ms, and optionally key and feature.NAME)."""
    from janus._janus import Profile

    if path.lower().endswith(".csv"):
        return Profile.from_csv(path)
    return Profile.load(path)
