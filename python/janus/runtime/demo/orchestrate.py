"""The steps of ``janus demo``; ``run(args)`` takes the options parsed (and
checked) by ``janus.cli.demo``.

(1) Profile ``janus.examples.demo_workflow`` request by request: each sample
request runs through the three stages and every stage is measured at each
size option on a warm worker pool in real cgroups (a keyed profile);
(2) pick the deadline from the profile (unless ``--deadline``, see
``auto_deadline``); (3) synthesize hints and the best static sizing (both
planned with the same confidence against the profile's sampling error);
(4) serve the same new requests with both policies, alternating per request
so that both see the same machine; (5) print them side by side with the
sampling error of each attainment (``table``), write the files (``files``)
and the plot (``plot``).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import janus
from janus.hints_text import summary_lines
from janus.runtime.demo.files import write_all
from janus.runtime.demo.plot import plot_runs
from janus.runtime.demo.table import print_sizes, print_table, say
from janus.runtime.pool import WorkerPool
from janus.runtime.profiler import ProfileReport, profile_workflow
from janus.runtime.progress import Bar
from janus.runtime.runner import Runner, RunReport, summarize


def auto_deadline(wf: Any, prof: janus.Profile) -> float:
    """10 % above the slowest profiled request's end-to-end latency with every
    stage at its fastest size (the lowest median): every profiled request can
    make it, so the deadline is feasible with a margin for sampling error,
    and most requests can make it at much smaller sizes."""
    e2e: dict[str, float] = {}
    for st in wf.stages:
        sizes = prof.sizes(st)
        fastest = min(sizes, key=lambda s: janus.quantile(list(prof.latencies(st, s)), 0.5))
        keys = prof.keys(st, fastest) or []
        for k, x in zip(keys, prof.latencies(st, fastest)):
            e2e[k] = e2e.get(k, 0.0) + float(x)
    return round(max(e2e.values()) * 1.1 / 10) * 10


def run(args: argparse.Namespace) -> int:
    from janus.examples import demo_workflow as demo

    if args.requests < 1 or args.profile_requests < 1:
        raise janus.JanusError("--requests and --profile-requests must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    t_start = time.perf_counter()
    wf = demo.workflow
    with WorkerPool(wf, pool_name=f"demo-{os.getpid()}", dry_run=args.dry_run) as pool:
        say(f"janus demo: workflow {wf.name!r} {' -> '.join(wf.stages)}, {pool.size} warm workers")
        say(
            f"actuator: {pool.kind} "
            + (
                "(real cgroups: sizes are enforced by the kernel)"
                if pool.enforced
                else "(DRY RUN: sizes are recorded, NOT enforced; latencies ignore them)"
            )
        )
        samples = demo.make_requests(args.profile_requests, seed=12345 + args.seed)
        prof, t_prof = _profile(pool, wf, samples, args)

        deadline = args.deadline or auto_deadline(wf, prof)
        wf = wf.with_deadline(deadline)
        hints, static = _plan(wf, prof, args, deadline)

        requests = demo.make_requests(args.requests, args.seed)
        t0 = time.perf_counter()
        runs = _serve(wf, pool, hints, static, requests, quiet=args.quiet)
        t_serve = time.perf_counter() - t0
    summaries = {k: summarize(v) for k, v in runs.items()}

    say()
    print_table(summaries, deadline, wf.percentile, enforced=pool.enforced)
    print_sizes(runs, requests, hints)
    write_all(
        args.out,
        runs,
        requests,
        summaries=summaries,
        pool_kind=pool.kind,
        deadline=deadline,
        static=static,
        hints=hints,
        t_prof=t_prof,
        t_serve=t_serve,
    )
    plot = plot_runs(args.out, runs, deadline, pool.kind)
    say(
        f"\nactuator: {pool.kind}{'' if pool.enforced else ' (dry run: not enforced)'}; "
        f"total {time.perf_counter() - t_start:.0f} s "
        f"(profiling {t_prof:.0f} s, serving {t_serve:.0f} s)"
    )
    say(
        f"wrote {args.out}/: profile.json hints.json runs.csv summary.json"
        + (f" {os.path.basename(plot)}" if plot else " (no plot: matplotlib not installed)")
    )
    return 0 if all(s["failed"] == 0 for s in summaries.values()) else 1


def _profile(
    pool: WorkerPool, wf: Any, samples: list, args: argparse.Namespace
) -> tuple[janus.Profile, float]:
    """Step 1: every sample request at every stage and size, saved as
    profile.json; returns the profile and the seconds spent measuring."""
    report = ProfileReport()
    t0 = time.perf_counter()
    prof = profile_workflow(
        wf, samples, repetitions=1, pool=pool, progress=not args.quiet, report=report
    )
    t_prof = time.perf_counter() - t0
    prof.save(os.path.join(args.out, "profile.json"))
    say(
        f"profiled {len(samples)} requests at every stage and size: {len(report.rows)} calls "
        f"in {t_prof:.0f} s ({len(report.failures)} failed)"
    )
    for row in report.summary():
        say(
            f"  {row['function']:<10} {row['cpu_millis']:>5}m/{row['memory_mib']}Mi "
            f"p50 {row['p50_ms']:7.1f} ms  cpu {row['cpu_ms_p50'] or 0:7.1f} ms  "
            f"peak {row['peak_mib_p50'] or 0:5.0f} MiB"
        )
    return prof, t_prof


def _plan(
    wf: Any, prof: janus.Profile, args: argparse.Namespace, deadline: float
) -> tuple[janus.HintSet, dict]:
    """Steps 2-3: hints (saved as hints.json) and the best static sizing."""
    hints = janus.synthesize(wf, prof)
    hints.save(os.path.join(args.out, "hints.json"))
    static = janus.best_static(wf, prof)
    say(
        f"deadline {deadline:.0f} ms at p{wf.percentile * 100:.0f}"
        f"{' (from the profile)' if not args.deadline else ''}; "
        f"hints: {hints.size_bytes} bytes"
    )
    for line in summary_lines(hints):
        say(line)
    say(
        "static sizing: "
        + ", ".join(f"{k}={v}" for k, v in static["sizes"].items())
        + ("" if static["feasible"] else "  (INFEASIBLE on the profile: fastest sizes)")
    )
    return hints, static


def _serve(
    wf: Any,
    pool: WorkerPool,
    hints: janus.HintSet,
    static: dict,
    requests: list,
    *,
    quiet: bool,
) -> dict[str, list[RunReport]]:
    """Step 4: the same requests under both policies, alternating which goes
    first, so that both see the same machine."""
    runners = {
        "janus": Runner(wf, pool, adapter=janus.Adapter(hints)),
        "static": Runner(wf, pool, static_sizes=static["sizes"]),
    }
    runs: dict[str, list[RunReport]] = {k: [] for k in runners}
    bar = Bar(2 * len(requests), "serving", enabled=not quiet)
    try:
        for i, req in enumerate(requests):
            order = list(runners) if i % 2 == 0 else list(runners)[::-1]
            for name in order:
                r = runners[name].run(req)
                runs[name].append(r)
                bar.update(1, f"{name} {r.e2e_ms:5.0f} ms")
    finally:
        bar.close()
        for r in runners.values():
            r.close()
    return runs
