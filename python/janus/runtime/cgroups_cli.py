"""``janus cgroups ls|gc``: list or remove the cgroups left by Janus runs."""

from __future__ import annotations

import argparse
import os

from janus.runtime.actuator import gc_cgroups

BASE = "/sys/fs/cgroup"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=["ls", "gc"],
        help="ls: list Janus cgroups; gc: remove the empty ones (killed runs)",
    )
    p.add_argument("--base", default=None, help=f"cgroup mount base ({BASE})")


def janus_cgroups(base: str | None = None) -> list[tuple[str, int]]:
    """Every cgroup under ``<base>[/<controller>]/janus`` with its number of processes."""
    base = base or BASE
    roots = [os.path.join(base, "janus")]
    if os.path.isdir(base):
        for d in sorted(os.listdir(base)):
            p = os.path.join(base, d)
            if os.path.isdir(p) and not os.path.islink(p):
                roots.append(os.path.join(p, "janus"))
    out = []
    for root in roots:
        if not os.path.isdir(root) or os.path.islink(root):
            continue
        for dirpath, _dirs, files in os.walk(root):
            n = 0
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        n = len(f.read().split())
                except OSError:
                    pass
            out.append((dirpath, n))
    return out


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
