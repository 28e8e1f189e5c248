"""``janus synthesize``: a workflow module + a profile (JSON, or CSV) -> a hint set file."""

from __future__ import annotations

import argparse
import sys

from janus.cli.args import FINITE, POSITIVE, output_file
from janus.cli.synth_options import add_synthesis_arguments, load_profile, synthesis_kwargs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("workflow", help="Python file defining `workflow`")
    p.add_argument(
        "profile", help="profile JSON (from `janus profile`), or CSV (see janus.Profile.from_csv)"
    )
    p.add_argument(
        "-o", "--out", default=None, help="hint set file (default: <workflow name>.hints.json)"
    )
    p.add_argument(
        "--deadline-ms", type=POSITIVE, default=None, help="override the workflow's deadline (> 0)"
    )
    p.add_argument(
        "--percentile", type=FINITE, default=None, help="override the workflow's percentile"
    )
    add_synthesis_arguments(p)


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        output_file(args.out, "--out")
    from janus._janus import synthesize
    from janus.hints_text import summary_lines
    from janus.workflow_file import load_workflow_file

    wf = load_workflow_file(args.workflow).workflow
    if args.deadline_ms is not None or args.percentile is not None:
        deadline = wf.deadline_ms if args.deadline_ms is None else args.deadline_ms
        wf = wf.with_deadline(deadline, args.percentile)
    profile = load_profile(args.profile)
    hints = synthesize(wf, profile, **synthesis_kwargs(args))
    out = args.out or f"{wf.name}.hints.json"
    hints.save(out)
    print(f"wrote {out}: {hints!r}")
    print("\n".join(summary_lines(hints)))
    if not hints.feasible:
        # Written all the same (best effort: the fastest rules), but a script
        # running `janus synthesize ... && deploy` must not take it for a plan.
        print(
            f"janus synthesize: the SLO cannot be met on this profile (miss "
            f"{hints.plan['miss_probability']:.4f} > allowed {hints.plan['miss_target']:.4f}): "
            f"{out} holds best-effort rules; exit status 3",
            file=sys.stderr,
        )
        return 3
    return 0
