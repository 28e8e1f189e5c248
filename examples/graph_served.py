"""Serve held-out graph requests for real: Janus against the best static sizing.

    python examples/graph_served.py [--profile docs/graph-profile.json] [--out docs/results-served.md]

The graph workflow (``janus.examples.graph_workflow``) was profiled request
by request on this machine (``docs/graph-profile.json``, keyed: every
request measured at every stage and size). This script

1. splits the profiled requests at random (``--split-seed``) into a fit half
   and a held-out half;
2. at each deadline, synthesizes Janus hints on the fit half (default
   options) and finds the best static sizing there (``janus.best_static``,
   the same confidence), and asks the keyed replay what each would do on the
   held-out requests (each replayed with its own measured latencies);
3. serves the held-out requests for real: real worker processes in real
   cgroups, one Runner with Janus's adapter, one with the static sizes, the
   two runs of a request back to back (alternating which goes first, so a
   slow spell of the shared machine hits both);
4. writes a Markdown report: per policy, served attainment with its 95 %
   Wilson interval, cost per run, cost relative to static, and the replay's
   prediction for the same requests beside it.

Needs root and writable cgroups (``janus cgroups`` checks). ``--limit`` caps
the number of held-out requests served per deadline, to bound the wall time.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import janus
from janus.analysis import room_and_share
from janus.analysis.result import slo_verdict
from janus.examples import graph_workflow as gw
from janus.runtime import Runner, RunReport, WorkerPool, summarize
from janus.runtime.progress import Bar

ROOT = Path(__file__).resolve().parent.parent
CONFIDENCE = 0.9  # synthesize's default, given to best_static too
DEFAULT_DEADLINES_MS = (2000.0, 2500.0, 4000.0)


@dataclass
class Plan:
    """One deadline: the policies fitted on the fit half and the replay's
    prediction of them on the held-out requests."""

    deadline_ms: float
    workflow: janus.Workflow
    hints: janus.HintSet
    static: dict
    replay: dict[str, dict]  # policy -> {attainment, lo, hi, cost}
    oracle_room_fit: float  # (static - oracle) / static, replayed on the fit half
    served: dict[str, list[RunReport]] = field(default_factory=dict)


def profiled_requests(profile: janus.Profile, n: int, seed: int, max_nodes: int) -> dict[str, dict]:
    """The requests behind the profile's keys: ``r<i>`` is request i of
    ``make_requests(n, seed, max_nodes)`` (the default key of ``janus profile``).
    Checked against the ``nodes`` feature the profile recorded for each key."""
    if not profile.is_keyed or profile.feature_names != ["nodes"]:
        sys.exit("the profile must be keyed, with the feature 'nodes' (see graph_workflow.py)")
    requests = gw.make_requests(n, seed, max_nodes)
    stage, size = gw.workflow.stages[0], gw.workflow.stage(gw.workflow.stages[0]).options[0]
    out = {}
    for key, feats in zip(profile.keys(stage, size), profile.features(stage, size), strict=True):
        i = int(key[1:]) if key[:1] == "r" and key[1:].isdigit() else n
        if i >= n or requests[i]["nodes"] != feats[0]:
            sys.exit(
                f"profile key {key} (nodes={feats[0]:g}) is not request {i} of "
                f"make_requests({n}, {seed}, {max_nodes}): give the --requests, --request-seed and "
                "--max-nodes it was made with"
            )
        out[key] = requests[i]
    return out


def replay_stats(res, keys: list[str]) -> dict[str, dict]:
    """Per policy: attainment (with its Wilson interval) and mean cost over
    the executions of ``keys`` (repetition 0 of each held-out request)."""
    df = res.to_pandas()
    df = df[df["execution"].isin([f"{k}#0" for k in keys])]
    out = {}
    for policy, g in df.groupby("policy", observed=True):
        met = int(g["met"].sum())
        lo, hi = janus.wilson_interval(met, len(g))
        by_exec = dict(zip(g["execution"], g["cost"], strict=True))
        out[str(policy)] = {
            "costs": np.array([by_exec[f"{k}#0"] for k in keys]),  # in the order of keys
            "runs": len(g),
            "attainment": met / len(g),
            "lo": lo,
            "hi": hi,
            "cost": float(g["cost"].mean()),
            "p95_ms": janus.quantile(list(g["latency_ms"]), 0.95),
        }
    return out


def make_plan(deadline_ms: float, fit: janus.Profile, held: janus.Profile, keys: list[str]) -> Plan:
    wf = gw.workflow.with_deadline(deadline_ms)
    hints = janus.synthesize(wf, fit, confidence=CONFIDENCE)
    static = janus.best_static(wf, fit, confidence=CONFIDENCE)
    policies = {"janus": hints, "static": static["sizes"], "oracle": "oracle"}
    predicted = replay_stats(janus.replay(wf, fit, held, policies), keys)
    on_fit = janus.replay(wf, fit, fit, {"static": static["sizes"], "oracle": "oracle"}).summary()
    room = (
        1 - on_fit.loc["oracle", "cost"] / on_fit.loc["static", "cost"]
    )  # no Janus on the fit half
    return Plan(deadline_ms, wf, hints, static, predicted, float(room))


def serve(
    pool: WorkerPool,
    plan: Plan,
    requests: list[tuple[str, dict]],
    progress: bool,
    load: list[float],
) -> None:
    """Each request under both policies, back to back, alternating the order;
    the 1-min load average after every run goes to ``load``."""
    runners = {
        "janus": Runner(plan.workflow, pool, adapter=janus.Adapter(plan.hints), observe=False),
        "static": Runner(plan.workflow, pool, static_sizes=plan.static),
    }
    plan.served = {p: [] for p in runners}
    bar = Bar(2 * len(requests), f"serving at {plan.deadline_ms:.0f} ms", enabled=progress)
    try:
        for i, (key, req) in enumerate(requests):
            for p in ("janus", "static") if i % 2 == 0 else ("static", "janus"):
                # the replay's run key: a mixed hint set draws the same policy here
                r = runners[p].run(req, run_key=f"{key}#0")
                plan.served[p].append(r)
                load.append(os.getloadavg()[0])
                bar.update(1, f"{p} {r.e2e_ms:6.0f} ms {'ok' if r.slo_met else 'MISS'}")
    finally:
        bar.close()
        for r in runners.values():
            r.close()


def served_stats(reports: list[RunReport]) -> dict:
    """``janus.runtime.summarize`` in the shape of ``replay_stats`` (mean cost per run)."""
    s = summarize(reports)
    return {
        "runs": s["runs"],
        "failed": s["failed"],
        "attainment": s["slo_attainment"],
        "lo": s["attainment_lo"],
        "hi": s["attainment_hi"],
        "cost": s["cost_per_run"],
        "p95_ms": s["p95_ms"],
        "late": s["late"],
    }


def drift(reports: list[RunReport], held: janus.Profile, keys: list[str]) -> float:
    """Median of served stage latency / the held-out profile's latency of
    the same request at the same stage and size: how far today's machine is
    from the one the profile was measured on (1.0: the same)."""
    measured: dict[tuple, float] = {}
    for st in gw.workflow.stages:
        for size in held.sizes(st):
            for k, x in zip(held.keys(st, size), held.latencies(st, size), strict=True):
                measured[(k, st, size)] = float(x)
    ratios = [
        inv.latency_ms / measured[(k, inv.stage, inv.size)]
        for k, r in zip(keys, reports, strict=True)
        for inv in r.invocations
        if inv.error is None and (k, inv.stage, inv.size) in measured
    ]
    return float(np.median(ratios)) if ratios else float("nan")


def write_runs(path: str, plans: list[Plan], keys: list[str], by_key: dict) -> None:
    """One row per served run: deadline, policy, request, outcome, sizes."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        stages = gw.workflow.stages
        w.writerow(["deadline_ms", "policy", "key", "nodes", "e2e_ms", "slo_met", "cost", *stages])
        for plan in plans:
            for policy, reports in plan.served.items():
                for k, r in zip(keys, reports, strict=True):
                    sizes = {i.stage: i.size.cpu_millis for i in r.invocations}
                    w.writerow(
                        [plan.deadline_ms, policy, k, by_key[k]["nodes"], round(r.e2e_ms, 2)]
                        + [r.slo_met, round(r.cost, 6), *(sizes.get(st, "") for st in stages)]
                    )


def paired_interval(costs: np.ndarray, base: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of sum(costs) / sum(base) - 1 over requests
    resampled in pairs (a request's two runs stay together)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(costs), size=(4000, len(costs)))
    ratios = costs[idx].sum(axis=1) / base[idx].sum(axis=1) - 1
    lo, hi = np.quantile(ratios, [0.025, 0.975])
    return float(lo), float(hi)


def janus_vs_static(costs: dict[str, np.ndarray]) -> str:
    """Janus's cost relative to static's on the same requests, with its interval."""
    j, s = costs["janus"], costs["static"]
    lo, hi = paired_interval(j, s)
    return f"{pct(j.sum() / s.sum() - 1)} [{lo * 100:+.1f}, {hi * 100:+.1f}]"


def served_costs(plan: Plan) -> dict[str, np.ndarray]:
    return {p: np.array([r.cost for r in rs]) for p, rs in plan.served.items()}


def pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def summary_table(plans: list[Plan]) -> list[str]:
    """One row per deadline: Janus against static, served and replayed."""
    out = [
        "## Summary",
        "",
        (
            "| deadline | oracle room (replay) | Janus vs static, served [95 % CI] "
            "| Janus vs static, replay [95 % CI] "
            "| oracle room captured (replay) | attainment served: Janus / static "
            "| attainment replay: Janus / static |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for plan in plans:
        sv = {p: served_stats(rs) for p, rs in plan.served.items()}
        rp = plan.replay
        room, share = room_and_share(*(rp[p]["cost"] for p in ("static", "janus", "oracle")))
        out.append(
            f"| {plan.deadline_ms:.0f} ms | {room * 100:.1f} % | "
            f"{janus_vs_static(served_costs(plan))} | "
            f"{janus_vs_static({p: rp[p]['costs'] for p in ('janus', 'static')})} | "
            + (f"{share * 100:.0f} % | " if room > 0 else "- (no room) | ")
            + f"{sv['janus']['attainment']:.3f} / {sv['static']['attainment']:.3f} | "
            f"{rp['janus']['attainment']:.3f} / {rp['static']['attainment']:.3f} |"
        )
    return out


def render(plans: list[Plan], ctx: dict) -> str:
    target, cm = gw.workflow.percentile, gw.workflow.cost_model
    lines = [
        "# Graph workflow: Janus and static sizing served for real on held-out requests",
        "",
        f"Generated by `{ctx['command']}` on {ctx['date']} ({ctx['wall_min']:.1f} min).",
        "",
        (
            f"- Workflow: `janus.examples.graph_workflow` (components -> pagerank -> triangles, "
            f"pure-Python graph algorithms on a graph of the request's size; CPU options "
            f"{', '.join(f'{c}m' for c in gw.CPU_OPTIONS)} at {gw.MEMORY_MIB} MiB; request feature "
            f"`nodes`, log-uniform in [{gw.MIN_NODES}, {gw.MAX_NODES}]; p{target * 100:g})."
        ),
        (
            f"- Profile: `{ctx['profile']}`, {ctx['n_requests']} requests, each measured once at "
            "every stage and size (keyed)"
            + (f" ({ctx['profile_note']})" if ctx["profile_note"] else "")
            + f". Split at random by request (seed {ctx['split_seed']}): {ctx['n_fit']} fit, "
            f"{ctx['n_held']} held out; {ctx['n_served']} held-out requests served per deadline."
        ),
        (
            f"- Policies fitted on the fit half: Janus = `janus.synthesize` (default options, "
            f"confidence {CONFIDENCE}); static = `janus.best_static` (confidence {CONFIDENCE}). "
            "Replay = `janus.replay` of the same held-out requests with their own profiled "
            "latencies (keyed, no coupling); the oracle is replay-only."
        ),
        (
            f"- Served: {ctx['actuator']} actuator, one warm worker process (real cgroup limits "
            "applied before every call), Runner end to end (stage dispatch overhead included); the "
            "two policies' runs of a request back to back, alternating the order."
        ),
        (
            f"- Machine: {ctx['machine']}; 1-min load average while serving: mean "
            f"{statistics.fmean(ctx['load']):.1f}, max {max(ctx['load']):.1f}."
            + (f" **{ctx['note']}**" if ctx["note"] else "")
        ),
        "",
        (
            f"Cost: the workflow's cost model (CPU-core-s x {cm.cpu_price:g} + GiB-s x "
            f"{cm.mem_price:g}) per run. Attainment intervals: 95 % Wilson. SLO verdict: met, "
            "within error (the target is inside the interval), or MISSED. Janus vs static: "
            "total cost of Janus's runs over static's on the same requests, minus 1, with a 95 % "
            "paired bootstrap interval over requests. Oracle room: how much less than static "
            "the clairvoyant oracle pays (it knows each request's latencies at every size, "
            "noise included, so part of its room is out of any policy's reach); captured: the "
            "share of it Janus saves. Served / profiled stage latency: the median ratio of a "
            "served call's latency to the same request's profiled latency at the same stage and "
            "size (1.00: the machine behaved as when profiled)."
        ),
        "",
        *summary_table(plans),
        "",
    ]
    for plan in plans:
        served = {p: served_stats(rs) for p, rs in plan.served.items()}
        s_cost, r_cost = served["static"]["cost"], plan.replay["static"]["cost"]
        hp = plan.hints.plan
        lines += [
            f"## Deadline {plan.deadline_ms:.0f} ms (p{target * 100:g})",
            "",
            f"Oracle room on the fit half: {plan.oracle_room_fit * 100:.1f} % below static. "
            f"Janus chose **{hp['chosen']}** ({hp['reason']})"
            + (
                f"; classes: {', '.join(c['description'] for c in plan.hints.classes['classes'])}"
                if plan.hints.classes
                else ""
            )
            + ". Static sizes: "
            + ", ".join(f"{st} {sz}" for st, sz in plan.static["sizes"].items())
            + ".",
            "",
            (
                "| policy | served attainment [95 % CI] | SLO | served cost/run | vs static "
                "| replay attainment [95 % CI] | replay cost/run | vs static | served p95 ms "
                "| served / profiled stage latency |"
            ),
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for p in ("janus", "static", "oracle"):
            rp = plan.replay[p]
            rep_cells = (
                f"{rp['attainment']:.3f} [{rp['lo']:.3f}, {rp['hi']:.3f}] | {rp['cost']:.4f} | "
                f"{pct(rp['cost'] / r_cost - 1)}"
            )
            if p in served:
                sv = served[p]
                failed = f" ({sv['failed']} failed)" if sv["failed"] else ""
                lines.append(
                    f"| {p} | {sv['attainment']:.3f} [{sv['lo']:.3f}, {sv['hi']:.3f}]{failed} | "
                    f"{slo_verdict(sv['attainment'], sv['hi'], target)} | {sv['cost']:.4f} | "
                    f"{pct(sv['cost'] / s_cost - 1)} | {rep_cells} | {sv['p95_ms']:.0f} | "
                    f"{drift(plan.served[p], ctx['held'], ctx['served_keys']):.2f} |"
                )
            else:
                lines.append(f"| {p} (replay only) | - | - | - | - | {rep_cells} | - | - |")
        lines += [
            "",
            f"Janus served {served['janus']['late']} stage calls as late (the deadline already "
            "unreachable; they get the static size). Janus's plan on the fit half: expected "
            f"cost {hp['expected_cost']:.4f}, miss {hp['miss_probability']:.3f}"
            + (f"; warnings: {'; '.join(plan.hints.warnings)}" if plan.hints.warnings else "")
            + ".",
            "",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default=str(ROOT / "docs" / "graph-profile.json"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "results-served.md"))
    ap.add_argument("--deadlines-ms", type=float, nargs="+", default=list(DEFAULT_DEADLINES_MS))
    ap.add_argument("--split-seed", type=int, default=1)
    ap.add_argument(
        "--requests",
        type=int,
        default=len(gw.sample_requests),
        help="the profile's requests are make_requests(N, --request-seed) (default: sample_requests)",
    )
    ap.add_argument("--request-seed", type=int, default=gw.SAMPLE_SEED)
    ap.add_argument("--max-nodes", type=int, default=gw.MAX_NODES)
    ap.add_argument("--limit", type=int, default=None, help="serve at most N held-out requests")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--runs-csv", default=None, help="also write every served run here (CSV)")
    ap.add_argument("--note", default="", help="a sentence about the machine, for the report")
    ap.add_argument(
        "--profile-note",
        default="",
        help="how the profile was made (command, time), for the report",
    )
    args = ap.parse_args(argv)
    t0 = time.monotonic()

    profile = janus.Profile.load(args.profile)
    by_key = profiled_requests(profile, args.requests, args.request_seed, args.max_nodes)
    fit, held = profile.split(0.5, seed=args.split_seed)
    first = gw.workflow.stages[0]
    held_keys = sorted(set(held.keys(first, gw.OPTIONS[0])), key=lambda k: int(k.removeprefix("r")))
    served_keys = held_keys[: args.limit] if args.limit else held_keys
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    say(f"{len(by_key)} profiled requests: {len(held_keys)} held out, serving {len(served_keys)}")

    plans = []
    for d in sorted(args.deadlines_ms):
        plan = make_plan(d, fit, held, served_keys)
        say(
            f"deadline {d:.0f} ms: oracle room on fit {plan.oracle_room_fit * 100:.1f} %, janus "
            f"chose {plan.hints.plan['chosen']}, static {plan.static['sizes']}; replay predicts "
            + ", ".join(
                f"{p} {s['attainment']:.3f}/{s['cost']:.4f}" for p, s in plan.replay.items()
            )
        )
        plans.append(plan)

    requests = [(k, by_key[k]) for k in served_keys]
    load: list[float] = []
    with WorkerPool(gw.workflow, size=1) as pool:
        if not pool.enforced:
            sys.exit("cgroups are not writable here: the served comparison needs real limits")
        big = max(gw.OPTIONS, key=lambda s: s.cpu_millis)
        for st in gw.workflow.stages:  # imports and caches: not measured
            pool.call(st, requests[0][1], big)
        for plan in plans:
            serve(pool, plan, requests, not args.quiet, load)
            for p, rs in plan.served.items():
                s = served_stats(rs)
                say(f"  {p}: attainment {s['attainment']:.3f}, cost/run {s['cost']:.4f}")
        actuator = pool.kind

    ctx = {
        "command": "python examples/graph_served.py "
        + " ".join(
            a if " " not in a else repr(a) for a in (sys.argv[1:] if argv is None else argv)
        ),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_min": (time.monotonic() - t0) / 60,
        "profile": os.path.relpath(args.profile, ROOT),
        "n_requests": len(by_key),
        "split_seed": args.split_seed,
        "n_fit": len(by_key) - len(held_keys),
        "n_held": len(held_keys),
        "n_served": len(served_keys),
        "actuator": actuator,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
        f"Python {platform.python_version()}",
        "held": held,
        "served_keys": served_keys,
        "load": load,
        "note": args.note,
        "profile_note": args.profile_note,
    }
    Path(args.out).write_text(render(plans, ctx))
    if args.runs_csv:
        write_runs(args.runs_csv, plans, served_keys, by_key)
    say(f"wrote {args.out} in {ctx['wall_min']:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
