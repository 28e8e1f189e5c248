"""``janus synthesize``: a workflow module + a profile JSON -> a hint set file."""

from __future__ import annotations

import argparse

from janus.cli.args import FINITE, NON_NEGATIVE, POSITIVE, POSITIVE_INT, output_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("workflow", help="Python file defining `workflow`")
    p.add_argument("profile", help="profile JSON (from `janus profile`)")
    p.add_argument(
        "-o", "--out", default=None, help="hint set file (default: <workflow name>.hints.json)"
    )
    p.add_argument(
        "--deadline-ms", type=POSITIVE, default=None, help="override the workflow's deadline (> 0)"
    )
    p.add_argument(
        "--percentile", type=FINITE, default=None, help="override the workflow's percentile"
    )
    p.add_argument("--mode", choices=["stochastic", "percentile"], default="stochastic")
    p.add_argument("--buckets", type=POSITIVE_INT, default=400, help="time buckets (400)")
    p.add_argument(
        "--tolerance", type=NON_NEGATIVE, default=0.05, help="ranking tolerance, >= 0 (0.05)"
    )
    p.add_argument("--max-rules", type=POSITIVE_INT, default=None, help="rules per table, >= 1")
    p.add_argument(
        "--mix",
        action="store_true",
        help="per-run mixtures where the hints over-achieve (needs run keys at decide time)",
    )


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        output_file(args.out, "--out")
    from janus._janus import Profile
    from janus.hints_text import summary_lines
    from janus.synthesis import synthesize
    from janus.workflow_file import load_workflow_file

    wf = load_workflow_file(args.workflow).workflow
    if args.deadline_ms is not None or args.percentile is not None:
        deadline = wf.deadline_ms if args.deadline_ms is None else args.deadline_ms
        wf = wf.with_deadline(deadline, args.percentile)
    profile = Profile.load(args.profile)
    hints = synthesize(
        wf,
        profile,
        mode=args.mode,
        buckets=args.buckets,
        tolerance=args.tolerance,
        max_rules=args.max_rules,
        mix=args.mix,
    )
    out = args.out or f"{wf.name}.hints.json"
    hints.save(out)
    print(f"wrote {out}: {hints!r}")
    print("\n".join(summary_lines(hints)))
    return 0
