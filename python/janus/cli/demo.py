"""``janus demo``: profile, synthesize and serve the reference workflow on this
machine, Janus against the best static sizing (see ``janus.runtime.demo``)."""

from __future__ import annotations

import argparse

from janus.cli.args import POSITIVE, POSITIVE_INT, SEED, output_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--requests", type=POSITIVE_INT, default=40, help="requests served per policy (40)"
    )
    p.add_argument(
        "--profile-requests",
        type=POSITIVE_INT,
        default=40,
        help="sample requests profiled at every stage and size (40)",
    )
    p.add_argument(
        "--out",
        default="janus-demo",
        help="output folder (./janus-demo), created if missing; the demo's files in it "
        "are replaced, an existing file of that name is refused",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="do not touch cgroups: sizes are recorded, not enforced",
    )
    p.add_argument("--seed", type=SEED, default=0, help="seed of the request stream (0)")
    p.add_argument(
        "--deadline",
        type=POSITIVE,
        default=None,
        help="deadline in ms, > 0 (default: derived from the profile)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    output_dir(args.out, "--out")
    from janus.cli import closing_pools
    from janus.runtime.demo import run as run_demo

    with closing_pools():
        return run_demo(args)
