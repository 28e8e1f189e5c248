"""The Python-side benchmarks of issue 11, and the table of every target.

    python benches/bench.py [--criterion target/criterion] [--markdown FILE]

Measures, in this process and in one run (ratios only mean something when
both sides are timed on the same machine at the same time):

- ``Adapter.decide`` and the pre-bound ``FunctionAdapter.decide`` against a
  plain-Python implementation of the same lookup (``plain_adapter.py``);
- ``decide_many`` in ns per decision (batches of 10 000 and 1 000 000);
- ``janus.synthesize`` against the same DP in NumPy (``numpy_dp.py``) on the
  same inputs, after checking that both reach the same multiplier, cost and
  miss probability;
- what budget bands and cross-fitting add to a synthesis on a keyed profile;
- the hint-set size per stage, and what ``max_rules`` costs in a replay.

With ``--criterion`` it also reads the criterion estimates of ``cargo bench``
(``benches/synth.rs``, ``adapter.rs``, ``replay.rs``) for the Rust-side
ratios. ``scripts/bench.sh`` runs both and prints the whole table. The
machine's load is printed with the table: on a shared machine absolute
times move, ratios measured side by side much less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy_dp
from plain_adapter import PlainAdapter
from workload import workload

import janus


@dataclass
class Row:
    case: str
    target: str
    measured: str
    ratio: float | None = None
    met: bool | None = None


def best_time(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """The least mean time per call over ``repeat`` rounds of ``number`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t) / number)
    return best


def interleaved(
    fns: dict[str, Callable[[], object]], number: int, repeat: int = 7
) -> dict[str, float]:
    """``best_time`` of several functions, their rounds interleaved (same machine state)."""
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            best[k] = min(best[k], best_time(fn, number, 1))
    return best


def ns(x: float) -> str:
    return f"{x * 1e9:.0f} ns" if x * 1e9 >= 20 else f"{x * 1e9:.1f} ns"


def ms(x: float) -> str:
    return f"{x * 1e3:.0f} ms" if x >= 0.1 else f"{x * 1e3:.1f} ms"


# -- adapter ------------------------------------------------------------------


def bench_decide(rows: list[Row]) -> None:
    w = workload(10)
    hints = janus.synthesize(w.workflow, w.profile)
    ad = janus.Adapter(hints)
    handle = ad.function("f5")
    plain = PlainAdapter(hints)
    rng = np.random.default_rng(1)
    # The same elapsed times for every contender, spread over the budget.
    el = [float(x) for x in rng.uniform(0, w.deadline_ms * 1.05, 4096)]
    it = {"i": 0}

    def nxt() -> float:
        it["i"] = (it["i"] + 1) & 4095
        return el[it["i"]]

    t = interleaved(
        {
            "janus": lambda: ad.decide("f5", nxt()),
            "handle": lambda: handle.decide(nxt()),
            "plain": lambda: plain.decide("f5", nxt()),
            "loop": lambda: nxt(),
        },
        number=20_000,
    )
    # The harness (a lambda call and the next elapsed time) is the same for all: take it out.
    base = t["loop"]
    j, h, p = t["janus"] - base, t["handle"] - base, t["plain"] - base
    rows.append(
        Row(
            "`Adapter.decide` from Python vs plain Python (bisect, ranked sizes, capacity check, result object)",
            ">= 3x faster",
            f"{ns(j)} vs {ns(p)}",
            p / j,
            p / j >= 3,
        )
    )
    rows.append(
        Row(
            "`FunctionAdapter.decide` (pre-bound handle) vs plain Python",
            ">= 3x faster",
            f"{ns(h)} vs {ns(p)}",
            p / h,
            p / h >= 3,
        )
    )
    for n, target in ((10_000, True), (1_000_000, False)):
        arr = rng.uniform(0, w.deadline_ms * 1.05, n)
        per = best_time(lambda: ad.decide_many("f5", arr), max(1, 200_000 // n), 7) / n  # noqa: B023
        rows.append(
            Row(
                f"`decide_many`, batches of {n:,}",
                "<= 15 ns per decision" if target else "(first touch of 34 MB of output)",
                ns(per) + " per decision",
                None,
                per * 1e9 <= 15 if target else None,
            )
        )


# -- synthesis against NumPy ----------------------------------------------------


def provenance_of(hints: janus.HintSet) -> tuple[float, float, float]:
    """(lambda, cost, miss) of the unconditioned DP plan, from the provenance."""
    m = re.search(
        r"\[unconditioned: lambda=(\S+) dp_feasible=\S+ dp_passes=\d+ policy_cost=(\S+) "
        r"\(model \S+\) policy_miss=(\S+)",
        hints.provenance["synthesis"],
    )
    if m is None:
        raise RuntimeError("no unconditioned DP plan in the provenance")
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


# What the NumPy reference computes: the DP on raw histograms, no margin for
# sampling error, the cheapest size as the late fallback, no classes.
SAME_INPUTS = {
    "confidence": 0.5,
    "late": "cheapest",
    "max_classes": 1,
    "smoothing": 0.0,
    # The NumPy DP plans the stages as independent, with no lockstep check.
    "lockstep": False,
}


def bench_numpy(rows: list[Row]) -> None:
    numpy_case(rows, 10, 400, direct=True)
    numpy_case(rows, 10, 1600, direct=False)


def numpy_case(rows: list[Row], stages: int, buckets: int, direct: bool) -> None:
    """Janus against the NumPy DP on one workload; with ``direct``, also against np.convolve only."""
    w = workload(stages)

    def run_janus() -> janus.HintSet:
        return janus.synthesize(w.workflow, w.profile, buckets=buckets, **SAME_INPUTS)

    def run_numpy(conv: str = "auto") -> numpy_dp.Solved:
        return numpy_dp.synthesize(
            w.stages, w.sizes, w.samples, w.deadline_ms, w.percentile, buckets, conv=conv
        )

    hints, ref = run_janus(), run_numpy()
    lam, cost, miss = provenance_of(hints)
    agree = (
        abs(lam - ref.lam) <= 1e-6 * max(abs(lam), 1e-12)
        and abs(cost - ref.cost) <= 1e-6 * cost
        and abs(miss - ref.miss) <= 1e-6
    )
    fns: dict[str, Callable[[], object]] = {"janus": run_janus, "numpy": run_numpy}
    if direct:
        fns["direct"] = lambda: run_numpy("direct")
    t = interleaved(fns, number=1, repeat=7)
    ratio = t["numpy"] / t["janus"]
    shape = f"synthesis, {stages} stages x 8 sizes x {buckets} buckets"
    rows.append(
        Row(
            f"{shape}: `janus.synthesize` vs the same DP in NumPy (FFT for long histograms, as Janus)",
            ">= 20x faster",
            f"{ms(t['janus'])} vs {ms(t['numpy'])}; same result: {'yes' if agree else 'NO'} "
            f"(lambda {lam:.6g}, cost {cost:.6f}, miss {miss:.6f})",
            ratio,
            ratio >= 20 and agree,
        )
    )
    if direct:
        r = t["direct"] / t["janus"]
        rows.append(
            Row(
                f"{shape}: vs NumPy with direct convolutions only (`np.convolve`)",
                "(for reference)",
                f"{ms(t['janus'])} vs {ms(t['direct'])}",
                r,
                None,
            )
        )


# -- hint sets -----------------------------------------------------------------


def bench_hint_size(rows: list[Row], table: list[str]) -> None:
    table.append("| stages | bytes (compact JSON) | bytes per stage | rules |")
    table.append("|---:|---:|---:|---:|")
    for stages in (5, 10, 20, 40):
        w = workload(stages)
        hints = janus.synthesize(w.workflow, w.profile)
        size = hints.size_bytes
        table.append(f"| {stages} | {size:,} | {size / stages:,.0f} | {hints.rule_count} |")
        if stages == 10:
            rows.append(
                Row(
                    "hint set, 10 stages x 8 sizes (400 buckets)",
                    "< 8 KiB",
                    f"{size:,} B ({hints.rule_count} rules)",
                    None,
                    size < 8192,
                )
            )


def bench_max_rules(rows: list[Row], table: list[str]) -> None:
    """Fit on half of the samples, replay 20 000 draws from the other half.

    "exact" is the same plan with ``tolerance=0``: no ranked alternatives,
    one rule wherever the DP's size changes (the plain step function). The
    default hint set condenses the ranked lists into fewer rules; with free
    capacity the adapter takes the first size of a rule, so the replay shows
    whether condensing changed any decision.
    """
    w = workload(10)
    fit, held = w.profile.split(0.5, seed=3)
    hints = {
        "exact": janus.synthesize(w.workflow, fit, tolerance=0.0),
        "none": janus.synthesize(w.workflow, fit),
    }
    for cap in (8, 4, 2, 1):
        hints[str(cap)] = janus.synthesize(w.workflow, fit, max_rules=cap)
    res = janus.replay(
        w.workflow, fit, held, {f"max_rules={k}": h for k, h in hints.items()}, runs=20_000
    )
    s = res.summary()
    exact = s.loc["max_rules=exact"]
    table.append(
        "| max_rules | bytes | rules | replay cost | vs exact | attainment (target 0.95) |"
    )
    table.append("|---|---:|---:|---:|---:|---:|")
    for k, h in hints.items():
        r = s.loc[f"max_rules={k}"]
        name = "none, tolerance=0 (exact)" if k == "exact" else k
        table.append(
            f"| {name} | {h.size_bytes:,} | {h.rule_count} | {r['cost']:.4f} | "
            f"{(r['cost'] / exact['cost'] - 1) * 100:+.2f} % | {r['attainment']:.4f} |"
        )
    exact_size = hints["exact"].size_bytes
    rows.append(
        Row(
            "10-stage hint set (fit on half the profile) at no loss: the exact rules (every size the DP "
            "chose, `tolerance=0`: nothing merged, nothing smoothed)",
            "< 8 KiB",
            f"{exact_size:,} B, replay cost {exact['cost']:.4f}, attainment {exact['attainment']:.4f}",
            None,
            exact_size < 8192,
        )
    )
    r = s.loc["max_rules=none"]
    dc, da = r["cost"] / exact["cost"] - 1, r["attainment"] - exact["attainment"]
    rows.append(
        Row(
            "the default hint set (ranked alternatives for capacity, short runs smoothed) against the "
            "exact rules, same 20 000 held-out draws",
            "(for reference)",
            f"{hints['none'].size_bytes:,} B; cost {dc * 100:+.2f} %, attainment {da * 100:+.2f} points",
        )
    )


def bench_keyed_options(rows: list[Row]) -> None:
    """What budget bands (src/synth/bands.rs) and cross-fitting
    (src/synth/crossfit.rs) each add to a synthesis on a keyed profile, and
    the lockstep check (src/synth/lockstep.rs) on an unkeyed one."""
    from janus.examples import workloads

    for name, shape in (("noisy", "3 stages x 5 sizes"), ("pipeline", "3 stages x 8 sizes")):
        wl = workloads.NAMED[name](1000)
        fit, _ = wl.profile.split(0.5, 1)
        wf = wl.workflow.with_deadline(1.25 * wl.reference_ms)
        for option, what in (("bands", "budget bands"), ("crossfit", "cross-fitting")):
            t = interleaved(
                {
                    "on": lambda wf=wf, fit=fit: janus.synthesize(wf, fit),
                    "off": lambda wf=wf, fit=fit, o=option: janus.synthesize(wf, fit, **{o: False}),
                },
                number=3,
            )
            rows.append(
                Row(
                    f"synthesis on a keyed profile ({name} model, 500 requests, {shape}, up "
                    f"to 8 classes): {what} on vs off",
                    "(for reference)",
                    f"{ms(t['on'])} vs {ms(t['off'])}",
                    t["on"] / t["off"],
                )
            )
    # The pipeline's profile without its keys (measured stage by stage):
    # cross-fitting parts each (stage, size)'s samples instead of requests
    # and walks each part's plans on runs drawn from the samples it did not see.
    from janus.analysis import without_keys

    wl = workloads.NAMED["pipeline"](1000)
    fit = without_keys(wl.profile.split(0.5, 1)[0])
    wf = wl.workflow.with_deadline(1.25 * wl.reference_ms)
    t = interleaved(
        {
            "on": lambda: janus.synthesize(wf, fit),
            "off": lambda: janus.synthesize(wf, fit, crossfit=False),
        },
        number=3,
    )
    rows.append(
        Row(
            "synthesis on an unkeyed profile (the pipeline model's 500 requests without their keys, "
            "3 stages x 8 sizes, up to 8 classes): cross-fitting on vs off",
            "(for reference)",
            f"{ms(t['on'])} vs {ms(t['off'])}",
            t["on"] / t["off"],
        )
    )
    # An unkeyed profile: every plan is also walked through runs in lockstep
    # (src/synth/lockstep.rs).
    w = workload(10)
    t = interleaved(
        {
            "on": lambda: janus.synthesize(w.workflow, w.profile),
            "off": lambda: janus.synthesize(w.workflow, w.profile, lockstep=False),
        },
        number=3,
    )
    rows.append(
        Row(
            "synthesis on an unkeyed profile (10 stages x 8 sizes x 400 buckets): the lockstep "
            "check on vs off",
            "(for reference)",
            f"{ms(t['on'])} vs {ms(t['off'])}",
            t["on"] / t["off"],
        )
    )


# -- criterion -----------------------------------------------------------------


def criterion_rows(root: Path, rows: list[Row], table: list[str]) -> None:
    def est(group: str, bench: str) -> float | None:
        p = root / group / bench / "new" / "estimates.json"
        if not p.exists():
            return None
        return json.loads(p.read_text())["median"]["point_estimate"] * 1e-9

    b = {k: est("synth_buckets", f"b{k}") for k in (400, 800, 1600, 3200)}
    for lo, hi in ((400, 800), (800, 1600), (1600, 3200)):
        if b[lo] and b[hi]:
            r = b[hi] / b[lo]
            rows.append(
                Row(
                    f"synthesis, 10 stages x 8 sizes, buckets {lo} -> {hi}",
                    "<= 2.2x the time",
                    f"{ms(b[lo])} -> {ms(b[hi])}",
                    r,
                    r <= 2.2,
                )
            )
    t1, t2 = est("synth_threads", "t1"), est("synth_threads", "t2")
    c1, c2 = est("synth_threads", "control_t1"), est("synth_threads", "control_t2")
    if c1 and c2:
        rows.append(
            Row(
                "control: two independent halves of arithmetic, 1 thread vs 2 (what the machine "
                "gives a perfectly parallel job now; 2x when idle)",
                "(for reference)",
                f"{ms(c1)} vs {ms(c2)}",
                c1 / c2,
            )
        )
    if t1 and t2:
        rows.append(
            Row(
                "synthesis, 20 stages x 8 sizes x 4000 buckets (2 threads)",
                "< 1 s",
                ms(t2),
                None,
                t2 < 1,
            )
        )
        rows.append(
            Row(
                "synthesis, 20 stages x 8 sizes x 4000 buckets: 1 thread vs 2",
                ">= 1.7x faster on 2",
                f"{ms(t1)} vs {ms(t2)}",
                t1 / t2,
                t1 / t2 >= 1.7,
            )
        )
    r1, r2 = est("replay", "t1"), est("replay", "t2")
    if r1 and r2:
        runs = 20_000
        rows.append(
            Row(
                "replay, 10 stages, 3 policies (janus, static, max size), 20 000 executions",
                "executions/s with 1 and 2 threads, stated",
                f"{runs / r1:,.0f}/s (1 thread), {runs / r2:,.0f}/s (2 threads)",
                r1 / r2,
                None,
            )
        )
    for name, what in (
        ("decide", "by name"),
        ("decide_at", "by index"),
        ("decide_free", "by name, free capacity"),
    ):
        v = est("adapter", name)
        if v:
            rows.append(Row(f"Rust `Adapter::decide` ({what})", "(for reference)", ns(v)))
    v = est("adapter", "decide_many")
    if v:
        rows.append(
            Row(
                "Rust `Adapter::decide_many`, 10 000 decisions",
                "(for reference)",
                ns(v / 10_000) + " per decision",
            )
        )
    table.append("| case | time (criterion median) |")
    table.append("|---|---:|")
    for group, ids in (
        ("synth_stages", [f"n{k}" for k in (5, 10, 20, 40)]),
        ("synth_buckets", [f"b{k}" for k in (400, 800, 1600, 3200)]),
        ("synth_sizes", [f"s{k}" for k in (2, 4, 8)]),
        ("synth_threads", ["t1", "t2"]),
    ):
        for i in ids:
            v = est(group, i)
            if v:
                table.append(f"| {group}/{i} | {ms(v)} |")


# -- report --------------------------------------------------------------------


def render(rows: list[Row]) -> str:
    out = ["| case | target | measured | ratio | met? |", "|---|---|---|---:|:---:|"]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        out.append(f"| {r.case} | {r.target} | {r.measured} | {ratio} | {met} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criterion", type=Path, help="criterion's output folder (target/criterion)")
    ap.add_argument("--markdown", type=Path, help="also write the tables here (markdown)")
    args = ap.parse_args(argv)
    load = os.getloadavg()
    header = (
        f"janus {janus.__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)"
    )
    print(header, flush=True)
    rows: list[Row] = []
    quality = "max_rules: size and replay quality (10 stages, fit on half, 20 000 draws from the other half)"
    extra: dict[str, list[str]] = {
        "Synthesis time by shape (criterion)": [],
        "Hint-set size per stage": [],
        quality: [],
    }
    if args.criterion is not None:
        criterion_rows(args.criterion, rows, extra["Synthesis time by shape (criterion)"])
    for step in (bench_decide, bench_numpy, bench_keyed_options):
        print(f"... {step.__name__}", flush=True)
        step(rows)
    print("... bench_hint_size", flush=True)
    bench_hint_size(rows, extra["Hint-set size per stage"])
    print("... bench_max_rules", flush=True)
    bench_max_rules(rows, extra[quality])
    text = [render(rows)]
    for title, lines in extra.items():
        if lines:
            text += ["", f"**{title}**", "", *lines]
    report = "\n".join(text)
    print()
    print(report)
    missed = [r.case for r in rows if r.met is False]
    print(f"\n{len(missed)} target(s) missed" + (": " + "; ".join(missed) if missed else ""))
    if args.markdown is not None:
        args.markdown.write_text(header + "\n\n" + report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
