"""Regenerate docs/results.md: Janus against static sizing on held-out requests.

    python examples/results.py                # everything (about 45 minutes on 2 cores)
    python examples/results.py --quick        # fewer splits and family members (CI smoke)

Workloads (see docs/results.md for what each stands for):
- documented synthetic models with keyed profiles (python/janus/examples/workloads.py):
  ``pipeline``, ``graph``, ``noisy``, and five families of workloads that no one tuned
  Janus for (``random_workload``, ``random_dag_workload``, ``random_cold_workload``, and
  ``heavy_family.random_heavy_workload`` and ``varied_family.random_varied_workload``,
  written without Janus's synthesis code in view);
- profiles measured on real functions under real cgroups: the demo workflow
  (docs/demo-profile.json) and, when present, the graph workflow (docs/graph-profile.json);
- ORION's real Lambda traces, read in place ($JANUS_ORION_DIR, else ../shared/data/orion;
  never copied). They are not keyed by request, so their replay draws executions with rank
  coupling, and the tables say so.

Every number comes from ``janus.analysis.held_out``: random splits by request, hints and
static sizing fitted on one half, the other half replayed.
"""

from __future__ import annotations

import argparse
import itertools
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

import janus
from janus.analysis import (
    held_out,
    members_held_out,
    orion_dir,
    pooled,
    reference_latency,
    room_and_share,
    without_keys,
)
from janus.examples import heavy_family, varied_family, workloads

REPO = Path(__file__).resolve().parents[1]
# Multiples of the reference latency (every stage at its largest size, at the
# percentile). 1.0 is left out: there even the largest sizes meet the target
# only on the whole profile, so about half of all held-out halves miss it
# under any policy, and the SLO verdicts would measure the deadline, not Janus.
FACTORS = [1.1, 1.25, 1.5, 2.0]
MIN_ROOM = 0.10  # oracle room below which a share of it is noise
MAX_OVER = 0.005  # "never more than 0.5 % above static cost"
MIN_SHARE = 0.70  # "at least 70 % of the oracle's room where that room is 10 % or more"
# A policy whose attainment is exactly the target lies below a split's 95 %
# Wilson interval with probability about 2.5 %: over many splits some MISS by
# chance alone.
CHANCE_MISS = 0.025


def chance_misses(n: int, level: float = 0.95) -> int:
    """The most MISSED splits of `n` that chance alone gives a policy exactly at
    the target, at `level` (binomial quantile)."""
    k, cdf = 0, 0.0
    while True:
        cdf += math.comb(n, k) * CHANCE_MISS**k * (1 - CHANCE_MISS) ** (n - k)
        if cdf >= level:
            return k
        k += 1


def pct(v: float) -> str:
    return "-" if v is None or math.isnan(v) else f"{100 * v:.1f} %"


def workload_table(p) -> str:
    """One workload's pooled rows as markdown, with the done-means checks."""
    out = (
        "| deadline | Janus attainment: mean (worst) | splits MISSED: Janus / static / "
        "static, no margin | Janus cost / static: mean (worst) | oracle room | Janus share "
        "of room: mean (worst) | plans chosen |\n|---|---|---|---|---|---|---|\n"
    )
    for _, r in p.iterrows():
        out += (
            f"| {r['factor']:g}x | {r['janus_attainment']:.3f} ({r['janus_worst']:.3f}) | "
            f"{r['janus_missed']} / {r['static_missed']} / {r['plain_static_missed']} of "
            f"{r['splits']} | {r['cost_vs_static']:.3f} ({r['worst_cost_vs_static']:.3f}) | "
            f"{pct(r['room'])} | {pct(r['share'])} ({pct(r['worst_share'])}) | {r['chosen']} |\n"
        )
    return out


def checks(p) -> dict[str, bool]:
    """The issue's done-means, for one workload's pooled rows."""
    roomy = p[p["room"] >= MIN_ROOM]
    return {
        "slo": bool((p["janus_missed"] == 0).all()),
        "cost": bool((p["worst_cost_vs_static"] <= 1 + MAX_OVER).all()),
        "share": bool(roomy.empty or (roomy["share"] >= MIN_SHARE).all()),
    }


def mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


class Report:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.parts: list[str] = []
        self.summary: list[tuple[str, str, dict[str, bool], object]] = []
        self.evaluated: list[tuple[str, object, object, float, object]] = []
        self.t0 = time.time()

    def log(self, msg: str) -> None:
        print(f"[{time.time() - self.t0:6.0f} s] {msg}", file=sys.stderr, flush=True)

    def evaluate(self, name: str, about: str, wf, prof, ref: float) -> object:
        seeds = range(1, 1 + self.args.splits)
        self.log(f"{name}: {len(FACTORS)} deadlines x {self.args.splits} splits")
        trials = held_out(wf, prof, ref, FACTORS, seeds, runs=self.args.runs, confidence=0.9)
        p = pooled(trials, MIN_ROOM)
        coupling = ", ".join(sorted(set(trials["coupling"])))
        runs = int(trials["runs"].iloc[0])
        self.parts.append(
            f"## {name}\n\n{about}\n\nTarget p{100 * wf.percentile:g}; deadlines as multiples of "
            f"{ref:.0f} ms (the end-to-end latency at the percentile with every stage at its "
            f"largest size); {runs} held-out executions per split ({coupling}).\n\n"
            + workload_table(p)
            + "\n"
        )
        self.summary.append((name, coupling, checks(p), p))
        self.evaluated.append((name, wf, prof, ref, p))
        return trials


def bands_section(rep: Report) -> str:
    """Budget bands (the default) against `bands=False`, on the same splits (keyed profiles)."""
    out = (
        "## A run slow so far is slow ahead: budget bands\n\n"
        + BANDS_TEXT
        + "| workload | deadline | Janus: cost / static (attainment) | Janus, bands=False | "
        "share of room (default / bands=False) | splits MISSED (default / bands=False) |\n"
        "|---|---|---|---|---|---|\n"
    )
    for name, wf, prof, ref, p in rep.evaluated:
        if not name.startswith(("Synthetic", "Demo", "Graph")):
            continue  # unkeyed traces: nothing to band
        rep.log(f"bands: {name}")
        seeds = range(1, 1 + rep.args.splits)
        m = pooled(
            held_out(wf, prof, ref, FACTORS, seeds, runs=rep.args.runs, bands=False), MIN_ROOM
        )
        for (_, a), (_, b) in zip(p.iterrows(), m.iterrows()):
            out += (
                f"| {name} | {a['factor']:g}x | {a['cost_vs_static']:.3f} "
                f"({a['janus_attainment']:.3f}) | {b['cost_vs_static']:.3f} "
                f"({b['janus_attainment']:.3f}) | {pct(a['share'])} / {pct(b['share'])} | "
                f"{a['janus_missed']} / {b['janus_missed']} |\n"
            )
    for name, _, _, df in rep.summary:
        if not name.endswith(" family"):
            continue
        family = name.removesuffix(" family")
        rep.log(f"bands: {name}")
        off = family_cases(rep, family, rep.args.family, bands=False)
        big, big_off = df[df["room"] >= MIN_ROOM], off[off["room"] >= MIN_ROOM]
        out += (
            f"| {name} ({len(df)} cases, mean) | all | {df['cost_vs_static'].mean():.3f} "
            f"({df['janus_attainment'].mean():.3f}) | {off['cost_vs_static'].mean():.3f} "
            f"({off['janus_attainment'].mean():.3f}) | {pct(big['share'].mean())} / "
            f"{pct(big_off['share'].mean())} | {int(df['janus_missed'].sum())} / "
            f"{int(off['janus_missed'].sum())} |\n"
        )
    return out + "\n"


def mix_section(rep: Report) -> str:
    """Per-run mixtures (`mix=True`) against the default, on the same splits."""
    out = (
        "## Over-achievement and per-run mixtures\n\n"
        + MIX_TEXT
        + "| workload | deadline | Janus: cost / static (attainment) | Janus, mix=True | "
        "splits MISSED (default / mix) |\n|---|---|---|---|---|\n"
    )
    for name, wf, prof, ref, p in rep.evaluated:
        rep.log(f"mix: {name}")
        seeds = range(1, 1 + rep.args.splits)
        m = pooled(held_out(wf, prof, ref, FACTORS, seeds, runs=rep.args.runs, mix=True), MIN_ROOM)
        for (_, a), (_, b) in zip(p.iterrows(), m.iterrows()):
            out += (
                f"| {name} | {a['factor']:g}x | {a['cost_vs_static']:.3f} "
                f"({a['janus_attainment']:.3f}) | {b['cost_vs_static']:.3f} "
                f"({b['janus_attainment']:.3f}) | {a['janus_missed']} / {b['janus_missed']} |\n"
            )
    return out + "\n" + MIX_READING


FAMILIES = {
    "random": (
        "A family of workloads no one tuned for",
        (
            "`workloads.random_workload(seed)` for seeds 0-{last}: 2-5 stages, each with its own "
            "I/O share, work, dependence on the request feature (none to linear), parallelism and "
            "noise; one of three CPU grids; a lognormal feature of random spread; target p90, p95 "
            "or p99 at random. {requests} requests each"
        ),
        "results-family.png",
        lambda seed, requests: workloads.random_workload(seed, requests),
    ),
    "dag": (
        "A second family: DAGs, fan-out, thin profiles",
        (
            "`workloads.random_dag_workload(seed)` for seeds 0-{last}: head -> a parallel group "
            "of 2-3 stages (or one) with fan-out 1, 2 or 4 -> tail; two declared features, the second "
            "driving some stages weakly; a hidden per-run slowness shared by all stages; memory "
            "growing with CPU (priced); target p90, p95 or p99; profiles of 150, 300 or 1000 "
            "requests (so some plans rest on 75 fitted requests)"
        ),
        "results-dag-family.png",
        lambda seed, requests: workloads.random_dag_workload(seed),  # its own profile sizes
    ),
    "cold": (
        "A third family: cold starts, cache misses, Lambda sizes",
        (
            "`workloads.random_cold_workload(seed)` for seeds 0-{last}: chains of 2-7 stages; a "
            "cold start drawn per request and size (so one size's profile shows delays another's "
            "does not); a hidden cache miss that multiplies most stages' work for a share of "
            "requests; for half the members Lambda-style sizes (128-3008 MiB, CPU in proportion, "
            "memory priced); target p90, p95 or p99; profiles of 200, 400 or 1000 requests"
        ),
        "results-cold-family.png",
        lambda seed, requests: workloads.random_cold_workload(seed),  # its own profile sizes
    ),
    "heavy": (
        "A fourth family: memory thrash, spills, heavy tails, request types",
        (
            "`heavy_family.random_heavy_workload(seed)` for seeds 0-{last}, written without "
            "Janus's synthesis code in view: 2-6 stages of size-independent I/O, CPU work, "
            "memory-bound work that thrashes or is retried below an input-driven need, and work "
            "that spills past an input threshold; fan-out with uneven shares; Pareto or lognormal "
            "tails; a payload feature strongly, weakly or not informative, often with a request "
            "type; a noisy neighbour shared by a run's stages; Lambda or Kubernetes size grids; "
            "target p90, p95 or p99; profiles of 200, 400 or 1000 requests"
        ),
        "results-heavy-family.png",
        lambda seed, requests: heavy_family.random_heavy_workload(seed),  # its own profile sizes
    ),
    "varied": (
        "A fifth family: bigger can be cheaper, long and short chains, rich features",
        (
            "`varied_family.random_varied_workload(seed)` for seeds 0-{last}, written without "
            "Janus's synthesis code in view: chains of 6-10 small stages or 1-2 big ones; 12-20 "
            "sizes or 2-3 (Lambda memory priced alone, Kubernetes pods with a large priced memory, "
            "or a CPU x memory grid), so a larger size is often as cheap or cheaper; superlinear "
            "speed-ups, swapping below an input-driven working set and speed plateaus above a "
            "thread count; a request type with 5-10 values, an integer feature with heavy ties, or "
            "two interacting features; cache misses a declared flag predicts for 60-80 % of "
            "requests; a slow dependency with a Pareto wait on a few requests; target p90, p95 or "
            "p99; profiles of 150-1000 requests"
        ),
        "results-varied-family.png",
        lambda seed, requests: varied_family.random_varied_workload(seed),  # its own profile sizes
    ),
    # The same members with every cold start's delay left out (same draws
    # otherwise): how much of the family's room, and of what Janus leaves,
    # the cold starts account for. Reported inside the cold family's section.
    "cold-off": (
        "",
        "",
        "",
        lambda seed, requests: workloads.random_cold_workload(seed, cold_starts=False),
    ),
}


def family_cases(rep: Report, family: str, members: int, **synthesis) -> object:
    """Every member of a family at every deadline, pooled over its splits."""
    return members_held_out(
        lambda seed: FAMILIES[family][3](seed, rep.args.requests),
        range(members),
        FACTORS,
        range(1, 1 + rep.args.family_splits),
        min_room=MIN_ROOM,
        progress=lambda m: rep.log(f"{family} family of {members}, {m} {synthesis or ''}"),
        confidence=0.9,
        **synthesis,
    )


def family_lines(df) -> tuple[str, dict[str, bool]]:
    """The SLO, cost and room lines of one family's cases, and the done-means checks."""
    ok = checks(df)
    # Hundreds of splits: the SLO holds when no more of them MISS than chance
    # alone would give a policy exactly at the target.
    splits, janus_missed = int(df["splits"].sum()), int(df["janus_missed"].sum())
    ok["slo"] = janus_missed <= chance_misses(splits)
    roomy = df[df["room"] >= MIN_ROOM]
    over = df[df["worst_cost_vs_static"] > 1 + MAX_OVER]
    text = (
        f"- SLO: Janus MISSED in {janus_missed} of {splits} splits (static with the same "
        f"margin: {int(df['static_missed'].sum())}; static fitted without a margin: "
        f"{int(df['plain_static_missed'].sum())}). A policy exactly at the target MISSES about "
        f"{100 * CHANCE_MISS:g} % of splits by chance: up to {chance_misses(splits)} of {splits} "
        "(95 % binomial bound), the summary's limit for the family.\n"
        f"- Cost: Janus above static by more than 0.5 % in {len(over)} cases; mean cost / "
        f"static {df['cost_vs_static'].mean():.3f}, worst split "
        f"{df['worst_cost_vs_static'].max():.3f}.\n"
        f"- Room: {len(roomy)} cases with an oracle room of 10 % or more; Janus captured "
        f"{pct(roomy['share'].mean())} of it on average (median {pct(roomy['share'].median())}, "
        f"worst {pct(roomy['share'].min())}), at least 70 % in "
        f"{int((roomy['share'] >= MIN_SHARE).sum())} of them.\n"
    )
    return text, ok


def profile_size_table(df, off) -> str:
    """SLO and cost by how many requests the plans were fitted on, in units of
    `samples_needed(p)` (the runs that pin a miss rate of 1 - p to within half
    of itself: 36 for p90, 76 for p95, 396 for p99), with and without
    cross-fitting (`off`: the same cases with `crossfit=False`)."""
    need = df["target"].map(janus.samples_needed)
    ratio = df["runs"] / need  # held-out half = fitted half
    edges = [0, 1, 2, 4, 8, math.inf]
    out = (
        "By profile size (fitted requests over `janus.samples_needed(p)`), with and without "
        "cross-fitting:\n\n"
        "| fitted requests | splits | MISSED: Janus / Janus without cross-fitting / static | "
        "cost / static: Janus / without cross-fitting |\n|---|---|---|---|\n"
    )
    for lo, hi in itertools.pairwise(edges):
        sel = (ratio > lo) & (ratio <= hi)
        g, h = df[sel], off[sel]
        if g.empty:
            continue
        label = f"{lo}-{hi}x" if hi != math.inf else f"over {lo}x"
        out += (
            f"| {label} | {int(g['splits'].sum())} | {int(g['janus_missed'].sum())} / "
            f"{int(h['janus_missed'].sum())} / {int(g['static_missed'].sum())} | "
            f"{g['cost_vs_static'].mean():.3f} / {h['cost_vs_static'].mean():.3f} |\n"
        )
    return out


def large_section(rep: Report) -> str:
    """Large profiles: members drawn with 20 000 requests, fitted on half and
    held out on the other, with 8 input classes at most (the default below
    4 x samples_needed(p) requests per class) and with the default, which
    tries up to 16 where the profile carries them."""
    from janus.analysis.heldout import trial

    f, seeds = 1.25, (1, 2)
    out = (
        "### Large profiles: how many input classes\n\n"
        "Without `max_classes`, Janus tries one input class per 4 x `samples_needed(p)` keyed "
        "requests, from 8 to 16 (`src/synth/classes.rs`, `auto_max`): a class needs requests "
        "to carry its tail. The profiles above hold 150-1000 requests, so they get 8. Here "
        f"members are drawn with 20 000 requests, fitted on a random half and held out on the "
        f"other at {f}x (splits {', '.join(map(str, seeds))}), with at most 8 classes and with "
        "the default:\n\n"
        "| workload | classes tried by default | cost / static: 8 classes at most | cost / static: "
        "default | attainment: 8 at most / default (target) | splits MISSED: 8 / default | "
        "share: 8 / default |\n|---|---|---|---|---|---|---|\n"
    )
    members = [
        ("random0", lambda: workloads.random_workload(0, 20_000)),
        ("random29", lambda: workloads.random_workload(29, 20_000)),
        ("dag13", lambda: workloads.random_dag_workload(13, 20_000)),
    ]
    # A smoke run (--quick) keeps one: the section's code, not its numbers.
    for name, make in members[:1] if rep.args.quick else members:
        wl = make()
        rep.log(f"large profile: {name}")
        runs = {}
        for label, opts in (("8", {"max_classes": 8}), ("auto", {})):
            runs[label] = [
                trial(wl.workflow, wl.profile, f * wl.reference_ms, seed, confidence=0.9, **opts)
                for seed in seeds
            ]
        hints = janus.synthesize(wl.workflow.with_deadline(f * wl.reference_ms), wl.profile)
        tried = hints.provenance["synthesis"].split("max_classes=")[1].split()[0]

        def col(label: str, key: str, fmt: str = "{:.3f}", runs: dict = runs) -> str:
            return ", ".join(fmt.format(r[key]) for r in runs[label])

        def missed(label: str, runs: dict = runs) -> int:
            return sum(r["janus_slo"] == "MISSED" for r in runs[label])

        out += (
            f"| {name} (p{100 * wl.workflow.percentile:g}) | {tried} on 20 000 | "
            f"{col('8', 'cost_vs_static')} | {col('auto', 'cost_vs_static')} | "
            f"{col('8', 'janus_attainment')} / {col('auto', 'janus_attainment')} "
            f"({wl.workflow.percentile:g}) | {missed('8')} / {missed('auto')} | "
            f"{col('8', 'share', '{:.0%}')} / {col('auto', 'share', '{:.0%}')} |\n"
        )
    return out + (
        "\nOn profiles of 150-1000 requests, 16 classes moved the families' cost by at most 0.15 "
        "points and no MISSED count, at up to 3.5 times the synthesis time (measured with "
        "`examples/family_eval.py ... max_classes=16`), so they keep 8. A p99 target needs "
        "1584 requests per class: those members keep 8 below 25 000 requests.\n\n"
    )


def family_section(rep: Report, family: str, members: int) -> str:
    """One family: every member, every deadline, the SLO by profile size, a plot."""
    title, blurb, plot_name, _ = FAMILIES[family]
    df = family_cases(rep, family, members)
    lines, ok = family_lines(df)
    off = family_cases(rep, family, members, crossfit=False)
    text = (
        f"## {title}\n\n"
        + blurb.format(last=members - 1, requests=rep.args.requests)
        + f", {rep.args.family_splits} random splits per deadline, {len(df)} (member, deadline) "
        "cases.\n\n" + lines + "\n" + profile_size_table(df, off) + "\n"
    )
    plot = family_plot(df, rep.args.out, plot_name, title)
    if plot:
        text += f"![Janus saving against the oracle's room]({plot})\n\n"
    text += (
        "<details><summary>Every case</summary>\n\n"
        "| member | workload | deadline | Janus attainment (worst) | MISSED J/S/S0 | cost / "
        "static (worst) | room | share |\n|---|---|---|---|---|---|---|---|\n"
    )
    for _, r in df.iterrows():
        text += (
            f"| {r['member']} | {r['description']} | {r['factor']:g}x | "
            f"{r['janus_attainment']:.3f} ({r['janus_worst']:.3f}) | {r['janus_missed']}/"
            f"{r['static_missed']}/{r['plain_static_missed']} | {r['cost_vs_static']:.3f} "
            f"({r['worst_cost_vs_static']:.3f}) | {pct(r['room'])} | {pct(r['share'])} |\n"
        )
    text += "\n</details>\n\n"
    rep.summary.append((f"{family} family", "keyed", ok, df))
    return text


def cold_start_section(rep: Report, members: int) -> str:
    """The cold family's members again without their cold starts: the oracle
    knows which request starts cold at which size (drawn per request and
    size), which no online policy can; this measures what that is worth."""
    with_cold = next(df for n, _, _, df in rep.summary if n == "cold family")
    df = family_cases(rep, "cold-off", members)
    lines, _ = family_lines(df)

    def roomy(d):
        return d[d["room"] >= MIN_ROOM]

    return (
        "### The same members without cold starts\n\n"
        "`random_cold_workload(seed, cold_starts=False)`: every draw as above, every cold "
        "start's delay left out. The oracle's room is mean "
        f"{pct(df['room'].mean())} (with cold starts {pct(with_cold['room'].mean())}); "
        f"Janus's share of it {pct(roomy(df)['share'].mean())} (with cold starts "
        f"{pct(roomy(with_cold)['share'].mean())}), mean cost / static "
        f"{df['cost_vs_static'].mean():.3f} ({with_cold['cost_vs_static'].mean():.3f}). "
        + (
            "So the cold starts are part of the oracle's room, but not what keeps Janus's "
            "share of it low."
            if roomy(df)["share"].mean() < roomy(with_cold)["share"].mean() + 0.10
            else "So the cold starts, which only the oracle can see, are much of what Janus "
            "leaves of the room."
        )
        + "\n\n"
        + lines
        + "\n"
    )


def unkeyed_section(rep: Report, members: int) -> str:
    """Each family's members fitted on the fit half with and without its
    request keys (the same samples), both judged on the keyed held-out half."""
    from janus._janus import best_static, synthesize
    from janus.analysis.heldout import split_verdict
    from janus.analysis.simulate import replay

    out = (
        "### Unkeyed profiles\n\n"
        "A profile measured stage by stage (each stage on its own inputs, or a CSV without a "
        "`key` column) holds no request's latencies at every stage: synthesis must take the "
        "stages as independent, with no walk of the requests; it is cross-fitted on its "
        "samples instead (five parts per (stage, size); each part's plans walked on runs drawn "
        "from the samples they did not see, `src/synth/crossfit.rs`), which catches plans of "
        "many classes fitted to their classes' few samples. Where a "
        "run's stages are slow together, a plan made that way gambles: it starts a run small "
        "and counts on the next stages to make up for a slow start, and they are slow too. So "
        "every plan from an unkeyed profile of stages in sequence is also walked through runs "
        "whose stages are slow together (in full lockstep, each run one quantile of every "
        "stage, and in half lockstep, a Gaussian copula of correlation 0.5), and the runs it "
        "loses there that static keeps are added to static's modelled miss and held to the "
        "target (`lockstep=True`, the default; `src/synth/lockstep.rs`). Here each family "
        "member's fit half is given to Janus and to static sizing once as it is and once "
        "without its keys (`janus.analysis.without_keys`: the same samples and features), "
        "and all are judged on the same keyed held-out half (same splits and deadlines as "
        "above); `lockstep=False` is the plan taken as independent. The hints from an unkeyed "
        "profile of a workflow with stages in sequence say so in their warnings.\n\n"
        "| family | splits | MISSED: Janus keyed / unkeyed / unkeyed, lockstep=False | "
        "MISSED: static keyed / unkeyed | cost / static (keyed): Janus keyed / unkeyed / "
        "unkeyed, lockstep=False | attainment: Janus keyed / unkeyed / unkeyed, lockstep=False "
        "/ static unkeyed (mean target) |\n|---|---|---|---|---|---|\n"
    )
    for family in ("random", "dag", "cold"):
        rep.log(f"unkeyed profiles: {family} family")
        rows = []
        for seed in range(members):
            wl = FAMILIES[family][3](seed, rep.args.requests)
            for f in FACTORS:
                wf = wl.workflow.with_deadline(f * wl.reference_ms)
                for split in range(1, 1 + rep.args.family_splits):
                    fit, held = wl.profile.split(0.5, split)
                    bare = without_keys(fit)
                    policies = [
                        ("keyed", "janus", synthesize(wf, fit, confidence=0.9)),
                        ("unkeyed", "janus", synthesize(wf, bare, confidence=0.9)),
                        (
                            "independent",
                            "janus",
                            synthesize(wf, bare, confidence=0.9, lockstep=False),
                        ),
                        ("static", "static", best_static(wf, fit, confidence=0.9)["sizes"]),
                        ("static_u", "static", best_static(wf, bare, confidence=0.9)["sizes"]),
                    ]
                    s = replay(wf, fit, held, policies, seed=split).summary()
                    n = int(s.loc["keyed", "runs"])
                    row = {"target": wf.percentile}
                    for p in s.index:
                        att = float(s.loc[p, "attainment"])
                        row[p] = (
                            att,
                            float(s.loc[p, "cost"]),
                            split_verdict(att, n, wf.percentile),
                        )
                    rows.append(row)

        def missed(p: str, rows: list = rows) -> int:
            return sum(r[p][2] == "MISSED" for r in rows)

        def mean(fn, rows: list = rows) -> float:
            return float(np.mean([fn(r) for r in rows]))

        janus_kinds = ("keyed", "unkeyed", "independent")
        out += (
            f"| {family} (members 0-{members - 1}) | {len(rows)} | "
            + " / ".join(str(missed(p)) for p in janus_kinds)
            + f" | {missed('static')} / {missed('static_u')} | "
            + " / ".join(
                f"{mean(lambda r, p=p: r[p][1] / r['static'][1]):.3f}" for p in janus_kinds
            )
            + " | "
            + " / ".join(f"{mean(lambda r, p=p: r[p][0]):.3f}" for p in (*janus_kinds, "static_u"))
            + f" ({mean(lambda r: r['target']):.3f}) |\n"
        )
    return out + (
        "\nWhere a family's stages share nothing but the declared feature (random), taking them "
        "as independent within an input class is nearly right, and the lockstep check costs "
        "part of the saving for nothing. Where a run's stages share a hidden slowness (DAG) or "
        "a hidden cache miss (cold), the tail of their sum is fatter than independence says: "
        "plans taken as independent MISSED far more often than static sizing fitted the same "
        "way (which is exposed too, less so, having no allowance to spend where the model is "
        "wrong), and the lockstep check takes most of that back for a few points of the "
        "saving. What it cannot take back is a plan from a thin profile fitted to zero misses "
        "(p99 on 100 runs): runs slower than any profiled one miss it, in lockstep or not. "
        "Those are what the check on runs past the profile is for (`beyond=True`, the default; "
        "`src/synth/beyond.rs`): on a profile too thin for its percentile, a plan is also walked "
        "through runs one stage slower than any profiled, and the new runs it would lose there "
        "that static keeps count against the percentile (`python examples/family_eval.py cold "
        "0 20 --unkeyed beyond=false` for the plans without it). Profile whole requests: `janus "
        "profile` with `sample_requests`, or a `key` column in a CSV.\n\n"
    )


def in_sample(wf, prof, ref: float, f: float) -> tuple[float, float]:
    """Janus fitted and judged on the same requests, no margin: (share, room)."""
    from janus.analysis import replay

    w = wf.with_deadline(f * ref)
    hints = janus.synthesize(w, prof, confidence=0.5)
    static = janus.best_static(w, prof, confidence=0.5)
    policies = [("janus", "janus", hints), ("static", "static", static["sizes"])]
    c = replay(w, prof, prof, [*policies, ("oracle", "oracle", None)]).summary()["cost"]
    room, share = room_and_share(c["static"], c["janus"], c["oracle"])
    return share, room


def bound_section(rep: Report) -> str:
    """What limits the share: Janus fitted and judged on the same requests (no
    estimation error, no held-out gap) next to Janus on held-out halves."""
    f = 1.25
    out = (
        "### What limits the share of the oracle's room\n\n"
        "The oracle knows every latency of a run before it starts; Janus knows the request's "
        "features and, at each stage, the time already spent. To separate what Janus loses to "
        "its profile from what no online policy of its kind can have, Janus is fitted and "
        "judged on the same requests (no sampling error, no held-out gap, `confidence=0.5`): "
        "for a model, 20 000 fresh requests; for a measured profile, all its requests. At "
        f"{f}x:\n\n"
        "| workload | share, fitted and judged on the same requests | share, held-out | "
        "oracle room (same requests) |\n|---|---|---|---|\n"
    )
    models = (
        [("noisy", workloads.noisy)]
        + [(f"random{m}", lambda n, m=m: workloads.random_workload(m, n)) for m in (0, 5, 13, 29)]
        # The cold and DAG families' members held out on their own profile
        # sizes (cold: 200-1000 requests, DAG: 150-1000).
        + [
            (f"cold{m}", lambda n, m=m: workloads.random_cold_workload(m, n if n > 1000 else None))
            for m in (0, 5, 13, 19)
        ]
        + [
            (f"dag{m}", lambda n, m=m: workloads.random_dag_workload(m, n if n > 1000 else None))
            for m in (0, 5, 13, 19)
        ]
    )
    if rep.args.quick:
        # A smoke run keeps one of each kind: the section's code, not its numbers.
        models = [m for m in models if m[0] in ("noisy", "random0", "cold0", "dag0")]
    # Per family, (in-sample share, held-out share) of its members above.
    thin: dict[str, list[tuple[float, float]]] = {"cold": [], "dag": []}
    for name, make in models:
        rep.log(f"bound: {name}")
        big = make(20_000)
        share, room = in_sample(big.workflow, big.profile, big.reference_ms, f)
        small = make(rep.args.requests)
        p = pooled(held_out(small.workflow, small.profile, small.reference_ms, [f], range(1, 4)))
        out += f"| {name} (20 000) | {pct(share)} | {pct(p['share'].iloc[0])} | {pct(room)} |\n"
        family = name.rstrip("0123456789")
        if family in thin:
            thin[family].append((share, p["share"].iloc[0]))
    for name, wf, prof, ref, p in rep.evaluated:
        if "measured" not in name:
            continue
        rep.log(f"bound: {name}")
        share, room = in_sample(wf, prof, ref, f)
        held = p[p["factor"] == f]["share"]
        out += (
            f"| {name} (all {requests(wf, prof)}) | {pct(share)} | "
            f"{pct(held.iloc[0]) if len(held) else '-'} | {pct(room)} |\n"
        )
    thin_text = ""
    for family, (label, sizes) in {
        "cold": ("cold family", "100-500"),
        "dag": ("DAG family", "75-500"),
    }.items():
        pairs = [(i, h) for i, h in thin[family] if not (math.isnan(i) or math.isnan(h))]
        if not pairs:
            continue
        i, h = (sum(x) / len(pairs) for x in zip(*pairs))
        thin_text += (
            f"\nThe {label}'s members above (held out on their own profiles of {sizes} "
            f"fitted requests) average {pct(h)} of the room held out against {pct(i)} fitted "
            f"and judged on 20 000 requests: {pct(1 - i)} of the room is out of reach of "
            f"Janus's kind of policy even on 20 000 requests, and {pct(i - h)} more is lost to "
            "the small profiles (their sampling error, and the margin and cross-fitting's "
            "charges that keep the SLO on them).\n"
        )
    return (
        out
        + thin_text
        + (
            "\nWhere the two shares are close (the models: Janus on the profiled requests is "
            "within a few points of the same policy fitted on 20 000), what Janus leaves of the "
            "oracle's room is clairvoyance: each stage's own noise, which no feature predicts, "
            "and the spread of the feature inside a class. Where the in-sample share is well "
            "above the held-out one, the profile is the limit and more profiled requests would "
            "pay. On measured profiles the oracle also picks, per request, whichever size "
            "happened to run fast when it was measured (once per size, on a shared machine), "
            "and the stages of one request are often slow together for reasons the features do "
            "not capture (the graph workflow's residual log-latencies correlate 0.3-0.6 "
            "across stages, after the graph size is accounted for): the model of independent stages within a class underestimates "
            "that tail, and the walk of the profiled requests corrects it by holding the plan "
            "to a stricter trade-off, at a price. Budget bands (`bands`, on by default) model "
            "part of that dependence: each block's latencies are conditioned on the budget a "
            "run reaches it with, which under a given plan says how slow the run has been so "
            "far; where a run slow so far is slow ahead for a reason no feature declares "
            "(noisy), that plan is kept (see the section on budget bands). On noisy the "
            "held-out share is now above the in-sample one: fitted on 20 000 requests with no "
            "margin, the unbanded plan meets the target exactly and at 1.25x the banded one "
            "saves too little to be kept, while on 500-request halves the unbanded plan "
            "over-achieves (its miss jumps past the target in one step of the multiplier) and "
            "the banded one is kept; the two shares are also measured against different static "
            "plans (with and without the 90 % margin).\n\n"
        )
    )


def family_plot(df, out: str, name: str, title: str) -> str | None:
    """Saving over static against the oracle's, one dot per (member, deadline)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.5))
    room = 100 * df["room"].to_numpy()
    saving = 100 * (1 - df["cost_vs_static"].to_numpy())
    missed = df["janus_missed"].to_numpy() > 0
    ax.plot([0, room.max()], [0, room.max()], color="grey", lw=0.8, label="oracle (clairvoyant)")
    ax.plot([0, room.max()], [0, 0.7 * room.max()], color="grey", lw=0.8, ls="--", label="70 %")
    ax.scatter(room[~missed], saving[~missed], s=18, label="Janus, SLO met")
    if missed.any():
        ax.scatter(room[missed], saving[missed], s=30, marker="x", color="red", label="SLO missed")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("oracle saving over static (%)")
    ax.set_ylabel("Janus saving over static (%)")
    ax.set_title(f"Held-out requests. {title}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(Path(out).parent / name, dpi=110)
    plt.close(fig)
    return name


def requests(wf, prof) -> int:
    """Distinct request keys of the profile's first stage at its first size."""
    stage = wf.stages[0]
    return len(set(prof.keys(stage, wf.native.options(stage)[0]) or []))


def measured(rep: Report) -> None:
    """Profiles measured on real functions under real cgroups (each skipped when absent)."""
    from janus.examples import demo_workflow, graph_workflow

    cases = [
        (
            "Demo workflow (measured)",
            demo_workflow.workflow,
            "demo-profile.json",
            (
                "`janus demo`'s workflow (parse -> transform -> store, driven by the payload "
                "size `kb`), profiled under real cgroups on this machine"
            ),
        ),
        (
            "Graph workflow (measured)",
            graph_workflow.workflow,
            "graph-profile.json",
            (
                "Three real graph-analytics functions (python/janus/examples/graph_workflow.py) "
                "profiled under real cgroups"
            ),
        ),
    ]
    for name, wf, file, blurb in cases:
        path = REPO / "docs" / file
        if not path.exists():
            rep.log(f"skipping {name}: {path} is absent")
            continue
        prof = janus.Profile.load(str(path))
        rep.evaluate(
            name,
            f"{blurb}: `{path.relative_to(REPO)}`, {requests(wf, prof)} requests, every stage "
            "measured at every size on each.",
            wf,
            prof,
            reference_latency(wf, prof),
        )


def orion(rep: Report) -> None:
    for name in ("ml_pipeline", "chatbot"):
        try:
            path = orion_dir(name)
        except FileNotFoundError as e:
            rep.log(f"skipping ORION {name}: {e}")
            rep.parts.append(f"## ORION {name}\n\nNot measured in this run: {e}\n\n")
            continue
        wf, prof = janus.orion_workflow(path, deadline_ms=1e9)
        ref = reference_latency(wf, prof, runs=rep.args.runs)
        rep.evaluate(
            f"ORION {name} (real Lambda traces)",
            f"Stages {' -> '.join(wf.stages)}; four Lambda memory sizes, memory-only pricing. "
            "Runs were not measured at every size, so executions are drawn (rank coupling: a "
            "run slow at one size is slow at all).",
            wf,
            prof,
            ref,
        )


def summary_table(rep: Report) -> str:
    out = (
        "## Summary: the done-means of issue 7\n\n"
        "Per workload, over every deadline: no split MISSED the SLO (the target outside the "
        "split's 95 % interval; for a family's hundreds of splits, no more than "
        "chance gives a policy exactly at the target); Janus never more than 0.5 % above "
        "static cost in any split; at least 70 % of the oracle's room captured on average "
        "wherever that room is 10 % or more (for the family: in every such case).\n\n"
        "| workload | executions | SLO held | cost <= static + 0.5 % | >= 70 % of room |\n"
        "|---|---|---|---|---|\n"
    )
    for name, coupling, ok, _ in rep.summary:
        out += (
            f"| {name} | {coupling} | {mark(ok['slo'])} | {mark(ok['cost'])} | "
            f"{mark(ok['share'])} |\n"
        )
    return out + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "results.md"))
    ap.add_argument("--splits", type=int, default=5, help="random splits per deadline (5)")
    ap.add_argument("--requests", type=int, default=1000, help="requests per synthetic model")
    ap.add_argument("--family", type=int, default=20, help="random workloads (20)")
    ap.add_argument("--family-splits", type=int, default=3, help="splits per family member (3)")
    ap.add_argument("--runs", type=int, default=20_000, help="drawn executions (unkeyed only)")
    ap.add_argument("--quick", action="store_true", help="2 splits, 2 family members")
    ap.add_argument("--no-orion", action="store_true", help="skip the ORION traces")
    ap.add_argument("--no-mix", action="store_true", help="skip the mix=True comparison")
    args = ap.parse_args()
    if args.quick:
        args.splits, args.family, args.family_splits, args.requests = 2, 2, 2, 400
    rep = Report(args)
    for name in ("pipeline", "graph", "noisy"):
        wl = workloads.NAMED[name](args.requests)
        rep.evaluate(
            f"Synthetic: {name}",
            f"{wl.description} ({args.requests} requests; model in "
            "python/janus/examples/workloads.py).",
            wl.workflow,
            wl.profile,
            wl.reference_ms,
        )
    measured(rep)
    if not args.no_orion:
        orion(rep)
    mixes = mix_section(rep) if not args.no_mix else ""
    family = family_section(rep, "random", args.family) + bound_section(rep)
    family += large_section(rep)
    family += family_section(rep, "dag", args.family)
    family += family_section(rep, "cold", args.family) + cold_start_section(rep, args.family)
    family += family_section(rep, "heavy", args.family)
    family += family_section(rep, "varied", args.family)
    family += unkeyed_section(rep, args.family)
    bands = bands_section(rep)
    cmd = "python examples/results.py" + (" --quick" if args.quick else "")
    head = (
        "# Measured results: Janus against static sizing on held-out requests\n\n"
        f"Generated by `{cmd}` (janus {janus.__version__}, Python {platform.python_version()}, "
        f"{time.time() - rep.t0:.0f} s on this machine). Do not edit by hand: rerun it.\n\n"
        + METHOD
    )
    text = head + summary_table(rep) + "".join(rep.parts) + family + bands + mixes + READING
    Path(args.out).write_text(text)
    rep.log(f"wrote {args.out}")
    failed = [n for n, _, ok, _ in rep.summary if not all(ok.values())]
    print(summary_table(rep))
    if failed:
        print(f"done-means not met on: {', '.join(failed)}", file=sys.stderr)


BANDS_TEXT = """The DP models each stage's latency as independent of the stages before it (within an
input class). Stages of one request are rarely independent: a trait of the input nobody
declared, a slow machine or a cold cache makes them slow together. The rules read only the
remaining budget, and under a given plan the budget a run reaches a stage with says how slow
it has been. So, with a keyed profile, each level of classes is also
planned on budget bands (`bands=True`, the default; `src/synth/bands.rs`): the profiled
requests are walked through the level's plan, cut into 4 bands by the budget they reach each
later stage with, and that stage's latencies are taken per band (shrunk toward the class's);
the plan made on them is kept only when it meets the target on the same yardstick and saves
`min_gain`. The adapter is unchanged. Same splits, with and without (for a family, the
mean over its cases and the MISSED splits summed):

"""


METHOD = """## Method

For each workload and deadline, the profile is split at random **by request** into two
halves, several times (seeds 1, 2, ...). On the fit half, Janus synthesizes its hints with
its defaults plus `confidence=0.9`, and the best static sizing is found with the same
options: both are asked to meet the percentile with 90 % confidence on requests they have
not seen. The held-out half is then replayed: with a keyed profile every held-out request is
one execution, with its own measured latency at every stage and size and its own features
(the *honest replay*: it equals walking the `Adapter` along those requests, a test checks
it). Policies compared on the same executions:

- **Janus**: the hints, decided at every stage from the remaining budget and the request's
  features;
- **static**: the cheapest fixed size per stage meeting the percentile with the same 90 %
  confidence on the fit half;
- **static, no margin**: the cheapest fixed sizes meeting the percentile exactly on the fit
  half, what a developer sizing on their own profile gets; shown for its SLO record;
- **oracle**: clairvoyant per run (knows every latency of the run in advance) and meeting
  the percentile exactly on the held-out half: a bound no online policy reaches.

Columns: *attainment* is the share of held-out executions within the deadline (mean over
splits, worst split in brackets); a split **MISSED** the SLO when the target lies above its
95 % Wilson interval (a split below the target but within its interval is sampling error);
*cost / static* is Janus's expected cost over static's on the same executions (the
workflow's cost model; below 1 is a saving); *oracle room* is (static - oracle) / static and
*share* is the part of that room Janus captured, (static - Janus) / (static - oracle), shown
only where the room is at least 10 %.

"""

READING = """## Reading the results

- **Where the request drives every stage** (pipeline, the random family's input-driven
  members, the measured demo), Janus conditions on the request's features with one miss
  budget shared by all input classes; large requests get large sizes and small ones small
  sizes, which no static sizing can do. This is where the oracle's room is large and Janus
  takes most of it.
- **Where the feature predicts nothing** (noisy: an undeclared trait of the request drives
  every stage), conditioning on the feature cannot help; Janus keeps the unconditioned plan
  (it is a candidate, chosen on the aggregate) and saves by binding late. What the budget
  left says is more than "time left": under a given plan it says how slow the run has been,
  and here a run slow so far is slow ahead. With a keyed profile, each
  level is also planned on **budget bands** (`bands`, on by default; see the section on
  budget bands): the plan made on each later stage's latencies per band of the budget left
  is kept where it is cheaper at the target, and on noisy it is.
- **Where static is already near the oracle** (ORION, the graph model: single-threaded
  stages whose CPU-seconds do not depend on the size), there is little room and Janus ties
  static.
- **Late runs** follow what static sizing would pick (`late="static"`), so a run already lost
  never costs more than under static.
- **The margin.** Static fitted to meet the percentile exactly on its profile misses it on
  held-out requests in some splits; both Janus and the static baseline plan with a 90 %
  confidence bound on the miss probability (`confidence=0.9`, the default), which is what
  keeps the SLO on new requests. Its price is part of why attainment sits above the target.
- **Mixtures** (`mix=True`) are off by default: see the section above.
- **A margin static cannot afford.** When no static plan meets the percentile with the
  90 % margin (a tight deadline, or a profile too thin for it), static is held to the
  percentile itself. Janus's plans were too, so as not to force the dearest sizes on Janus
  alone. On a profile thin for the percentile (fewer requests than `samples_needed(p)`:
  396 for p99) a late-binding plan fitted to the percentile exactly spends its one or two
  allowed misses on the profile's noise: on the cold family without cold starts (below),
  8 of the 10 splits that MISSED were p99 plans on 100-200 requests, where static missed in
  one. There the late-binding plans are now still held to the margin, and static ships
  unless one meets it for less (the hint set's warning says so). Over seven evaluations
  (the three families' members 0-19, members drawn afresh, and the cold family without
  cold starts; 3 splits, 4 deadlines each; `python examples/family_eval.py FAMILY FIRST
  LAST` on each version) Janus's MISSED splits went from 35 to 26 of 1680 (static: 17), at 0.5-1.3 points more cost on the cold and DAG families and none on
  the random one, whose profiles hold the tail. Holding every plan to the margin, thin or
  not, cut more MISSED splits on the cold family but cost 2-3 points more on each family:
  where the profile holds the tail, the margin is out of reach because the deadline is
  tight, and plans at the percentile held on new requests.
- **What the profile flatters: cross-fitting.** Rules fitted to a profile's requests miss
  more on new requests than on those: they spend the miss allowance where the profile
  happens to show it is cheap, and the confidence margin covers the sampling error of a
  miss rate, not that selection. The DAG family, whose profiles go down to 75 fitted
  requests, showed it first; the cold-start family shows it on large profiles too (a
  cold start drawn per request and size makes each size look fast or slow by luck). So on
  every keyed profile of 40 requests or more, each level of classes is also fitted on four
  fifths of the requests and walked on the fifth it did not see, planned to the target
  less the excess of those misses, and charged the part of its saving over static that
  does not survive the unseen requests (the saving its plan claims on the whole profile
  over the unseen saving's lower confidence bound), so a flattered saving loses to static
  (`crossfit`, on by default). The tables show the same cases with `crossfit=False` next to
  the default. The charge was first taken from the parts' own in-sample saving; a plan
  fitted on every request can claim more than its parts did (cold member 118 at 1.5x: 4.7 %
  on the profile, -1.0 % in sample on the parts) and shipped at 1.14 of static's cost on
  the held-out half. Charged from the shipped plan's own claim, no split of cold members
  100-119 costs more than 0.5 % over static (1 before), at 0.925 of static's cost instead
  of 0.922.
  It was first done only below twice `samples_needed(p)`. Doing it on every keyed profile
  took the cold-start family's members 0-19 from 11 MISSED splits of 240 to 6 (static with
  the same margin: 3), at 0.925 of static's cost instead of 0.910; on members drawn afresh
  for the check (cold 100-119, random 40-59, DAG 100-119; 3 splits, 4 deadlines) the
  MISSED counts went 10 to 10, 1 to 1 and 3 to 4, the cost up by 1.2, 0.0 and 0.1 points.
  It makes synthesis slower (its price is in docs/benchmarks.md); starting each part's
  bisection from the level's multiplier on the whole profile and stopping it at 1 % made it
  1.5 times cheaper on the pipeline and moved six of those evaluations by at most one
  MISSED split and 0.1 points of cost. Synthesis still warns when a
  late-binding plan rests on fewer than 4 x `samples_needed(p)` requests. Kernel smoothing
  of the histograms (`smoothing=1`) was tried for the same purpose and kept off: it halved
  the MISSED splits on 30 DAG members but not on 30 drawn afresh.

"""

MIX_TEXT = """Issue 7 saw the chosen policy over-achieve at a loose deadline (0.979 against 0.95) and
`mix=True` produce no blend. Three things make attainment sit above the target:

1. **The margin for sampling error**, by design: plans are held to a miss probability below
   `1 - p` by a 90 % Wilson bound over the profile's runs (when the best static plan can
   afford it; otherwise static is held to the percentile itself, and so are Janus's plans
   unless the profile is thin for the percentile).
2. **Steps in the trade-off.** The miss probability of the Lagrangian DP's policy is a step
   function of the multiplier: with a few discrete sizes, and one decision that every run
   shares (the first stage of an unconditioned plan sees the same full budget on every
   run), lowering the multiplier a little flips that decision for all runs at once, from
   well under the target to over it. The bisection keeps the feasible side.
3. **Nothing cheaper to spend the allowance on**: at loose deadlines the cheapest sizes
   already meet the deadline on almost every run.

`mix=True` answers (2): a share of runs, chosen by run key, follows the policy just below
the target, so that the allowance is spent exactly on the fit data. **It formed no blend
because of a bug**, now fixed: the policy below the target was condensed into rules with
smoothing, which folds short runs of rules into their neighbours, and the two policies
differ exactly in such a short run near the tie, so smoothing turned the cheaper policy back
into the chosen one and the mixture was dropped as "no cheaper policy". It is now condensed
without smoothing (`tests/test_synthesis.py::test_mixture_forms_where_the_two_policies_differ_only_near_a_tie`
failed before the fix). On held-out requests, with the same splits:

"""

MIX_READING = """A mixture spends on the fit half exactly the allowance left by the margin: it saves a
little where the default over-achieves, and the margin still holds the SLO on new requests
in most splits. Over the random family (30 members, 4 deadlines, 3 splits) it captured
0.7 points more of the oracle's room on average and missed the SLO in one more split; the
gain is small against a second rule table per stage, so `mix` stays off by default, an
option for providers that replay their own traffic and want the last percent.

"""

if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
