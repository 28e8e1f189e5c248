"""The synthesis options as command-line flags, shared by every command that
synthesizes (``janus synthesize``, ``janus simulate``, ``janus demo``).

Flags default to None and are only forwarded when given, so the defaults
live in one place: the Rust core (see ``janus.synthesize``)."""

from __future__ import annotations

import argparse
from typing import Any

_FLAGS: list[tuple[str, dict[str, Any]]] = [
    ("--mode", {"choices": ["stochastic", "percentile"], "help": "synthesis mode (stochastic)"}),
    ("--buckets", {"type": int, "help": "time buckets per deadline (400)"}),
    ("--tolerance", {"type": float, "help": "relative cost tolerance of ranked alternatives (0.05)"}),
    ("--max-rules", {"type": int, "help": "cap on rules per function and table (none)"}),
    ("--max-classes", {"type": int, "help": "input classes over the request features (8; 1 = none)"}),
    ("--min-class-samples", {"type": int, "help": "samples per class and (stage, size) (20)"}),
    ("--smoothing", {"type": float, "help": "kernel smoothing of latency histograms (1.0; 0 = raw)"}),
    ("--late", {"choices": ["static", "cheapest", "fastest"], "help": "what late runs get (static)"}),
    ("--min-gain", {"type": float, "help": "saving a more complex plan must bring (0.005)"}),
    ("--mix", {"action": "store_true", "default": None, "help": "per-run mixtures (needs run keys)"}),
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
