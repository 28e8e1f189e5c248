"""`janus simulate`: replay traces under Janus and the baselines; CSV, PNG, table.

    janus simulate --orion DIR --deadline-ms 16000 [--percentile 0.95] [--runs N] [--out DIR] [--sweep]
    janus simulate --workflow wf.py --profile profile.json [--deadline-ms X] ...

``--workflow`` names a Python file defining ``workflow`` (a janus.Workflow);
``--profile`` a profile JSON as written by ``janus profile`` (or a ``.csv``
profile, as ``janus.Profile.from_csv`` reads it).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from janus._janus import SIMULATE_DEFAULTS as DEFAULTS
from janus._janus import Profile, ReplayError
from janus.cli.args import FINITE, POSITIVE, POSITIVE_INT, SEED, output_dir
from janus.cli.synth_options import add_synthesis_arguments, load_profile, synthesis_kwargs


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--orion",
        metavar="DIR",
        help="ORION DAG_Profiler trace folder (e.g. .../orion/ml_pipeline)",
    )
    src.add_argument("--workflow", metavar="FILE", help="Python file defining `workflow`")
    p.add_argument("--profile", metavar="FILE", help="profile JSON, or .csv (with --workflow)")
    dl = p.add_mutually_exclusive_group()
    dl.add_argument("--deadline-ms", type=POSITIVE, help="end-to-end deadline (ms, > 0)")
    dl.add_argument(
        "--deadline-factor",
        type=POSITIVE,
        help="deadline as a factor of the max-size percentile latency (default 1.2 for --orion)",
    )
    p.add_argument(
        "--percentile",
        type=FINITE,
        default=None,
        help="SLO percentile (default 0.95 / the workflow's)",
    )
    p.add_argument(
        "--runs",
        type=POSITIVE_INT,
        default=None,
        help=f"executions to draw when the profile is not keyed (default {DEFAULTS['runs']}); "
        "a keyed profile replays every held-out request",
    )
    p.add_argument(
        "--seed", type=SEED, default=None, help=f"seed of the draws, >= 0 ({DEFAULTS['seed']})"
    )
    p.add_argument(
        "--split",
        type=FINITE,
        default=None,
        help="share of the requests (samples, unkeyed) used to fit, chosen at random "
        f"({DEFAULTS['split']})",
    )
    # Options left at None are not passed: the engine's defaults apply (one definition).
    p.add_argument(
        "--coupling",
        choices=["auto", "keyed", "rank", "independent", "both"],
        default=None,
        help="executions: keyed requests when the profile has them, else rank coupling "
        f"across sizes ({DEFAULTS['coupling']}); 'both' replays rank and independent",
    )
    add_synthesis_arguments(p, modes=False)
    p.add_argument(
        "--sweep",
        action="store_true",
        help="also sweep deadlines (factors of the max-size latency)",
    )
    p.add_argument(
        "--factors",
        type=POSITIVE,
        nargs="+",
        default=None,
        help="sweep factors (default 1.0 1.1 1.25 1.5 2 3)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default="out/simulate",
        help="folder for the CSV and PNG files (default out/simulate), created if missing; "
        "files of the same name in it are replaced, an existing file of that name is refused",
    )
    p.add_argument("--no-plot", action="store_true", help="skip the PNG figures")


def load_inputs(args: argparse.Namespace) -> tuple[Any, Profile]:
    """The workflow (with the requested SLO) and its profile."""
    from janus.analysis.sweep import reference_latency
    from janus.traces import orion_workflow
    from janus.workflow import native_of
    from janus.workflow_file import load_workflow_file

    if args.orion:
        if not os.path.isdir(args.orion):
            raise ReplayError(f"{args.orion}: no such folder")
        wf, prof = orion_workflow(
            args.orion,
            deadline_ms=1e9 if args.deadline_ms is None else args.deadline_ms,
            percentile=0.95 if args.percentile is None else args.percentile,
        )
        wf = wf.native
        if args.deadline_ms is None:
            ref = reference_latency(wf, prof, seed=args.seed)
            factor = 1.2 if args.deadline_factor is None else args.deadline_factor
            wf = wf.with_slo(factor * ref, None)
    else:
        if not args.profile:
            raise ReplayError("--workflow needs --profile profile.json")
        wf = native_of(load_workflow_file(args.workflow).workflow)
        prof = load_profile(args.profile)
        if args.deadline_factor is not None:
            wf = wf.with_slo(
                args.deadline_factor * reference_latency(wf, prof, seed=args.seed), args.percentile
            )
        elif args.deadline_ms is not None or args.percentile is not None:
            deadline = wf.deadline_ms if args.deadline_ms is None else args.deadline_ms
            wf = wf.with_slo(deadline, args.percentile)
    return wf, prof


def run(args: argparse.Namespace) -> int:
    from janus.analysis.simulate import simulate
    from janus.analysis.sweep import sweep

    out = Path(output_dir(args.out, "--out"))
    wf, prof = load_inputs(args)
    out.mkdir(parents=True, exist_ok=True)
    kw = {"runs": args.runs, "seed": args.seed, "split": args.split, **synthesis_kwargs(args)}
    couplings = ["rank", "independent"] if args.coupling == "both" else [args.coupling]
    for c in couplings:
        res = simulate(wf, prof, coupling=c, **kw)
        stem = f"{wf.name}_{c or DEFAULTS['coupling']}"
        res.summary().to_csv(out / f"{stem}_summary.csv")
        print(res.table())
        for n in res.notes:
            print(f"note: {n}")
        if not args.no_plot:
            import matplotlib

            matplotlib.use("Agg")
            res.plot().savefig(out / f"{stem}_summary.png", dpi=120)
        print(f"wrote {out / (stem + '_summary.csv')}\n")
    if args.sweep:
        df = sweep(wf, prof, factors=args.factors, coupling=couplings[0], **kw)
        df.to_csv(out / f"{wf.name}_sweep.csv", index=False)
        cols = [
            "deadline_ms",
            "factor",
            "policy",
            "cost",
            "attainment",
            "saving_vs_static",
            "oracle_share",
        ]
        print(df[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        if not args.no_plot:
            from janus.analysis.plot import plot_sweep

            plot_sweep(df).savefig(out / f"{wf.name}_sweep.png", dpi=120)
        print(f"wrote {out / (wf.name + '_sweep.csv')}")
    return 0
