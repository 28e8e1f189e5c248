"""What every sub-command checks before it does any work: argument values
(argparse ``type=`` callables) and output paths.

A bad value is a ``CliError`` (or an argparse error, which ``janus.cli``
turns into one), printed as one line with exit status 2, never a traceback.
Outputs are checked before measuring or computing anything, so a typo in
``--report`` does not cost a whole profiling run.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable

U64_MAX = 2**64 - 1  # seeds and counts cross into Rust as u64/usize


class CliError(Exception):
    """A bad command line: printed as ``janus <command>: error: <message>``, exit 2."""


def integer(minimum: int, maximum: int = U64_MAX) -> Callable[[str], int]:
    """An argparse type: an integer in [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        if v > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {text}")
        return v

    return parse


def number(*, positive: bool = False, minimum: float | None = None) -> Callable[[str], float]:
    """An argparse type: a finite float (not nan/inf), optionally > 0 or >= minimum.

    Zero is refused where it would otherwise mean "not given" (deadlines).
    """

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if positive and not v > 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        if minimum is not None and v < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text}")
        return v

    return parse


def on_off(text: str) -> bool:
    """An argparse type: ``on`` or ``off``, as a bool."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")
    return text == "on"


POSITIVE_INT = integer(1)
SEED = integer(0)
POSITIVE = number(positive=True)
FINITE = number()
NON_NEGATIVE = number(minimum=0.0)


def output_file(path: str, option: str, suffixes: Iterable[str] | None = None) -> str:
    """``path`` can be written as a file: not a directory, in an existing
    folder, and (when ``suffixes`` is given) with one of these extensions."""
    if os.path.isdir(path):
        raise CliError(f"{option} {path} is a directory; give a file name")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise CliError(f"{option} {path}: folder {folder} does not exist")
    if suffixes is not None:
        allowed = sorted(suffixes)
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if ext not in allowed:
            raise CliError(
                f"{option} {path}: unknown file type {('.' + ext) if ext else '(no extension)'}; "
                f"use one of {', '.join('.' + a for a in allowed)}"
            )
    return path


def output_dir(path: str, option: str) -> str:
    """``path`` can be used as an output folder: missing (it is created when
    the results are written) or a folder; anything else is refused."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise CliError(f"{option} {path} exists and is not a directory")
    return path
