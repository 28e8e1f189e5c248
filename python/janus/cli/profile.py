"""``janus profile FILE.py``: profile a workflow module's functions at each size option.

The module must define ``workflow`` (a ``janus.Workflow``) and either
``sample_requests`` (a list of requests: each runs through the whole workflow
and every sample is keyed by its request, with the request's features; the
recommended way) or ``sample_inputs`` (a dict stage -> list of sample
arguments, or a callable stage -> list; no keys, no features).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Mapping

from janus.cli.args import POSITIVE, POSITIVE_INT, output_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "module", help="a .py file defining `workflow` and `sample_requests` (or `sample_inputs`)"
    )
    p.add_argument(
        "--repetitions",
        type=POSITIVE_INT,
        default=None,
        help="runs per size and input (1 per request; 5 per per-stage input)",
    )
    p.add_argument("--out", default="profile.json", help="where to save the profile (JSON)")
    p.add_argument(
        "--report", default=None, help="also save CPU time / peak memory per call as CSV here"
    )
    p.add_argument(
        "--stages", default=None, help="comma-separated subset of stages (sample_inputs only)"
    )
    p.add_argument(
        "--timeout", type=POSITIVE, default=300.0, help="per-call timeout in s, > 0 (300)"
    )
    p.add_argument("--dry-run", action="store_true", help="do not touch cgroups")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep what --out already holds (saved after every request or stage) and measure the rest",
    )


def run(args: argparse.Namespace) -> int:
    # Outputs first: a bad path must not cost a whole profiling run.
    output_file(args.out, "--out")
    if args.report:
        output_file(args.report, "--report")
    from janus._janus import JanusError
    from janus.cli import closing_pools
    from janus.runtime.pool import WorkerPool
    from janus.runtime.profiler import (
        ProfileReport,
        profile_workflow,
        request_list,
        resumable_profile,
    )
    from janus.workflow_file import load_workflow_file

    mod = load_workflow_file(args.module)
    wf = mod.workflow
    # The inputs and the file to resume are checked before the pool starts its
    # workers (profile_workflow checks them too, but only once it has the pool).
    if hasattr(mod, "sample_requests"):
        inputs, reps = mod.sample_requests, 1
    elif hasattr(mod, "sample_inputs"):
        inputs, reps = mod.sample_inputs, 5
        if not isinstance(inputs, Mapping) and not callable(inputs):
            raise JanusError(
                "sample_inputs must be a dict stage -> list of inputs (or a callable "
                f"stage -> list), got {type(inputs).__name__}"
            )
    else:
        raise JanusError(f"{args.module}: defines neither `sample_requests` nor `sample_inputs`")
    keyed = not isinstance(inputs, Mapping) and not callable(inputs)  # as profile_workflow says
    if keyed:
        inputs = request_list(inputs, "sample_requests")
    if args.resume and os.path.exists(args.out):
        resumable_profile(args.out, wf, keyed)
    stages = args.stages.split(",") if args.stages else None
    report = ProfileReport()
    with closing_pools(), WorkerPool(wf, size=1, dry_run=args.dry_run) as pool:
        print(
            f"janus profile: {wf.name} ({', '.join(stages or wf.stages)}), actuator {pool.kind}"
            + ("" if pool.enforced else " (DRY RUN: sizes not enforced)"),
            file=sys.stderr,
        )
        prof = profile_workflow(
            wf,
            inputs,
            repetitions=args.repetitions or reps,
            pool=pool,
            progress=not args.quiet,
            report=report,
            stages=stages,
            timeout_s=args.timeout,
            checkpoint=args.out,
            resume=args.resume,
        )
    prof.save(args.out)
    if args.report:
        rows = report.to_rows()
        with open(args.report, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["function"])
            w.writeheader()
            w.writerows(rows)
    for row in report.summary():
        print(
            f"{row['function']:<16} {row['cpu_millis']:>5}m/{row['memory_mib']}Mi  "
            f"n={row['n']:<3} failed={row['failed']:<2} p50 {row['p50_ms'] or 0:8.1f} ms  "
            f"cpu {row['cpu_ms_p50'] or 0:8.1f} ms  peak {row['peak_mib_p50'] or 0:6.0f} MiB"
        )
    print(f"saved {args.out}" + (f" and {args.report}" if args.report else ""))
    return 1 if report.failures and len(report.failures) == len(report.rows) else 0
