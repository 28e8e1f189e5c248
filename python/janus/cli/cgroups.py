"""``janus cgroups ls|gc``: list or remove the cgroups left by Janus runs."""

from __future__ import annotations

import argparse

from janus.runtime.actuator import CGROUP_BASE, gc_cgroups, janus_cgroups


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=["ls", "gc"],
        help="ls: list Janus cgroups; gc: remove the empty ones (killed runs)",
    )
    p.add_argument("--base", default=None, help=f"cgroup mount base ({CGROUP_BASE})")


def run(args: argparse.Namespace) -> int:
    if args.action == "ls":
        found = janus_cgroups(args.base)
        for path, n in found:
            print(f"{n:>4} procs  {path}")
        if not found:
            print("no Janus cgroups")
        return 0
    removed = gc_cgroups(args.base)
    for p in removed:
        print(f"removed {p}")
    left = [p for p, n in janus_cgroups(args.base) if n]
    print(
        f"removed {len(removed)} cgroup(s)"
        + (f"; {len(left)} still hold processes (a live run?)" if left else "")
    )
    return 0
