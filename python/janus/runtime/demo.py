"""``janus demo``: profile, synthesize and serve the reference workflow on this machine.

``run(args)`` takes the options parsed by ``janus.cli.demo`` (which checks them).

Steps: (1) profile ``janus.examples.demo_workflow`` request by request: each
sample request runs through the three stages and every stage is measured at
each size option on a warm worker pool in real cgroups (a keyed profile);
(2) pick the deadline from the profile (unless ``--deadline``): 10 % above the
slowest profiled request's end-to-end latency with every stage at its fastest
size, tight enough that large requests need large sizes and loose enough to be
feasible; (3) synthesize hints and the best
static sizing (both planned with the same confidence against the profile's
sampling error); (4) serve the same new requests with both policies,
alternating per request so that both see the same machine; (5) print them side
by side, with the sampling error of each attainment, and save a plot.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from typing import Any

import numpy as np

import janus
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


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def run(args: argparse.Namespace) -> int:
    from janus.examples import demo_workflow as demo

    if args.requests < 1 or args.profile_requests < 1:
        raise janus.JanusError("--requests and --profile-requests must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    t_start = time.perf_counter()
    wf = demo.workflow
    with WorkerPool(wf, pool_name=f"demo-{os.getpid()}", dry_run=args.dry_run) as pool:
        real = pool.enforced
        _say(f"janus demo: workflow {wf.name!r} {' -> '.join(wf.stages)}, {pool.size} warm workers")
        _say(
            f"actuator: {pool.kind} "
            + (
                "(real cgroups: sizes are enforced by the kernel)"
                if real
                else "(DRY RUN: sizes are recorded, NOT enforced; latencies ignore them)"
            )
        )

        # 1. profile
        report = ProfileReport()
        t0 = time.perf_counter()
        samples = demo.make_requests(args.profile_requests, seed=12345 + args.seed)
        prof = profile_workflow(
            wf, samples, repetitions=1, pool=pool, progress=not args.quiet, report=report
        )
        t_prof = time.perf_counter() - t0
        prof.save(os.path.join(args.out, "profile.json"))
        _say(
            f"profiled {len(samples)} requests at every stage and size: {len(report.rows)} calls "
            f"in {t_prof:.0f} s ({len(report.failures)} failed)"
        )
        for row in report.summary():
            _say(
                f"  {row['function']:<10} {row['cpu_millis']:>5}m/{row['memory_mib']}Mi "
                f"p50 {row['p50_ms']:7.1f} ms  cpu {row['cpu_ms_p50'] or 0:7.1f} ms  "
                f"peak {row['peak_mib_p50'] or 0:5.0f} MiB"
            )

        # 2. deadline, 3. hints and static sizing
        deadline = args.deadline or auto_deadline(wf, prof)
        wf = wf.with_deadline(deadline)
        hints = janus.synthesize(wf, prof)
        hints.save(os.path.join(args.out, "hints.json"))
        static = janus.best_static(wf, prof)
        _say(
            f"deadline {deadline:.0f} ms at p{wf.percentile * 100:.0f}"
            f"{' (from the profile)' if not args.deadline else ''}; "
            f"hints: {hints.size_bytes} bytes"
        )
        from janus.hints_text import summary_lines

        for line in summary_lines(hints):
            _say(line)
        _say(
            "static sizing: "
            + ", ".join(f"{k}={v}" for k, v in static["sizes"].items())
            + ("" if static["feasible"] else "  (INFEASIBLE on the profile: fastest sizes)")
        )

        # 4. serve the same requests with both policies, alternating
        requests = demo.make_requests(args.requests, args.seed)
        runners = {
            "janus": Runner(wf, pool, adapter=janus.Adapter(hints)),
            "static": Runner(wf, pool, static_sizes=static["sizes"]),
        }
        runs: dict[str, list[RunReport]] = {k: [] for k in runners}
        bar = Bar(2 * len(requests), "serving", enabled=not args.quiet)
        t0 = time.perf_counter()
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
        t_serve = time.perf_counter() - t0
    summaries = {k: summarize(v) for k, v in runs.items()}

    # 5. report
    _say()
    _print_table(summaries, deadline, wf.percentile)
    _print_sizes(runs, requests, hints)
    _save(
        args.out,
        runs,
        summaries,
        requests,
        pool_kind=pool.kind,
        deadline=deadline,
        static=static,
        hints=hints,
        t_prof=t_prof,
        t_serve=t_serve,
    )
    plot = _plot(args.out, runs, deadline, pool.kind)
    _say(
        f"\nactuator: {pool.kind}{'' if real else ' (dry run: not enforced)'}; "
        f"total {time.perf_counter() - t_start:.0f} s "
        f"(profiling {t_prof:.0f} s, serving {t_serve:.0f} s)"
    )
    _say(
        f"wrote {args.out}/: profile.json hints.json runs.csv summary.json"
        + (f" {os.path.basename(plot)}" if plot else " (no plot: matplotlib not installed)")
    )
    return 0 if all(s["failed"] == 0 for s in summaries.values()) else 1


def _verdict(x: dict, target: float) -> str:
    """met / within error / MISSED, from the attainment's Wilson interval."""
    from janus.analysis.result import slo_verdict

    return slo_verdict(x["slo_attainment"], x["attainment_hi"], target)


def _print_table(s: dict[str, dict], deadline: float, target: float) -> None:
    j, st = s["janus"], s["static"]
    rows = [
        ("runs (failed)", lambda x: f"{x['runs']} ({x['failed']})"),
        (f"SLO attainment (<= {deadline:.0f} ms)", lambda x: f"{x['slo_attainment'] * 100:.1f} %"),
        (
            "  95 % interval",
            lambda x: f"{x['attainment_lo'] * 100:.0f}-{x['attainment_hi'] * 100:.0f} %",
        ),
        (f"  SLO (p{target * 100:g})", lambda x: _verdict(x, target)),
        ("p50 latency", lambda x: f"{x['p50_ms']:.0f} ms"),
        ("p95 latency", lambda x: f"{x['p95_ms']:.0f} ms"),
        ("resource use (cost units)", lambda x: f"{x['cost']:.3f}"),
        ("cost units per run", lambda x: f"{x['cost_per_run']:.4f}"),
        ("CPU-core-s allocated", lambda x: f"{x['cpu_core_s']:.2f}"),
        ("GiB-s allocated", lambda x: f"{x['gib_s']:.2f}"),
        ("CPU-s used", lambda x: f"{x['cpu_used_s']:.2f}"),
        ("late decisions", lambda x: f"{x['late']}"),
    ]
    w = max(len(r[0]) for r in rows)
    _say(f"{'':<{w}}  {'janus':>12}  {'static':>12}")
    for label, f in rows:
        _say(f"{label:<{w}}  {f(j):>12}  {f(st):>12}")
    if st["cost"] > 0:
        saving = (1 - j["cost"] / st["cost"]) * 100
        _say(
            f"{'janus saving vs static':<{w}}  {saving:>11.1f} %  "
            f"(SLO: janus {_verdict(j, target)}, static {_verdict(st, target)}; "
            f"{j['runs']} runs each cannot tell attainments closer than the intervals above)"
        )


def _print_sizes(runs: dict, requests: list, hints: janus.HintSet) -> None:
    _say("\nsizes chosen (runs per size), by the hints' input class of the request:")
    c = hints.classes
    labels = {None: "all"} if c is None else {x["class"]: x["description"] for x in c["classes"]}
    for policy, reps in runs.items():
        for cls, label in labels.items():
            counts: dict[str, dict[str, int]] = {}
            for rep, req in zip(reps, requests):
                if c is not None and hints.class_of([float(req["kb"])]) != cls:
                    continue
                for stage, sizes in rep.sizes().items():
                    key = str(sizes[0])
                    counts.setdefault(stage, {}).setdefault(key, 0)
                    counts[stage][key] += 1
            desc = "; ".join(
                f"{stg}: " + ", ".join(f"{k} x{n}" for k, n in c.items())
                for stg, c in counts.items()
            )
            _say(f"  {policy:<6} {label:<24} {desc}")


def _save(out: str, runs: dict, summaries: dict, requests: list, **meta: Any) -> None:
    with open(os.path.join(out, "runs.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(
            [
                "policy",
                "run",
                "kb",
                "e2e_ms",
                "deadline_ms",
                "slo_met",
                "ok",
                "cost",
                "cpu_core_s",
                "gib_s",
                "cpu_used_s",
                "sizes",
                "error",
            ]
        )
        for policy, reps in runs.items():
            for rep, req in zip(reps, requests):
                sizes = ";".join(f"{i.stage}[{i.instance}]={i.size}" for i in rep.invocations)
                wr.writerow(
                    [
                        policy,
                        rep.run,
                        req["kb"],
                        f"{rep.e2e_ms:.1f}",
                        rep.deadline_ms,
                        rep.slo_met,
                        rep.ok,
                        f"{rep.cost:.5f}",
                        f"{rep.cpu_core_s:.4f}",
                        f"{rep.gib_s:.4f}",
                        f"{rep.cpu_used_s:.4f}",
                        sizes,
                        rep.error or "",
                    ]
                )
    meta["hints_plan"] = meta.pop("hints").plan
    meta["static"] = {
        "sizes": {k: str(v) for k, v in meta["static"]["sizes"].items()},
        "feasible": meta["static"]["feasible"],
        "expected_cost": meta["static"]["expected_cost"],
        "miss_probability": meta["static"]["miss_probability"],
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"summaries": summaries, **meta}, f, indent=2, default=str)


def _plot(out: str, runs: dict, deadline: float, kind: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return None
    colors = {"janus": "tab:blue", "static": "tab:orange"}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for policy, reps in runs.items():
        ax1.plot(
            [r.run for r in reps],
            [r.e2e_ms for r in reps],
            "o-",
            ms=3,
            lw=1,
            color=colors.get(policy),
            label=policy,
        )
        ax2.plot(
            [r.run for r in reps],
            np.cumsum([r.cost for r in reps]),
            "-",
            color=colors.get(policy),
            label=policy,
        )
    ax1.axhline(deadline, color="red", ls="--", lw=1, label=f"deadline {deadline:.0f} ms")
    ax1.set_xlabel("request")
    ax1.set_ylabel("end-to-end latency (ms)")
    ax1.set_title("latency per run")
    ax1.legend(loc="lower right")
    ax2.set_xlabel("request")
    ax2.set_ylabel("cumulative resource use (cost units)")
    ax2.set_title("resource use")
    ax2.legend(loc="upper left")
    fig.suptitle(f"janus demo ({kind})")
    fig.tight_layout()
    path = os.path.join(out, "demo.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
