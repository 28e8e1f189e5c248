"""What ``janus demo`` prints after serving: Janus and static sizing side by
side, with the sampling error of each SLO attainment, and the sizes each
policy chose per input class of the request."""

from __future__ import annotations

from collections.abc import Callable

import janus
from janus.analysis.result import slo_verdict
from janus.runtime.runner import RunReport


def say(msg: str = "") -> None:
    """One line of the demo's output (flushed: the demo runs for minutes)."""
    print(msg, flush=True)


def verdict(s: dict, target: float) -> str:
    """met / within error / MISSED, from the attainment's Wilson interval."""
    return slo_verdict(s["slo_attainment"], s["attainment_hi"], target)


def print_table(
    summaries: dict[str, dict], deadline: float, target: float, *, enforced: bool = True
) -> None:
    """The summaries of both policies (``janus.runtime.summarize``) as one table,
    then the saving, never without the SLO verdicts beside it; on a dry run
    (sizes not enforced), with the warning that it measures nothing."""
    j, st = summaries["janus"], summaries["static"]
    rows: list[tuple[str, Callable[[dict], str]]] = [
        ("runs (failed)", lambda x: f"{x['runs']} ({x['failed']})"),
        (f"SLO attainment (<= {deadline:.0f} ms)", lambda x: f"{x['slo_attainment'] * 100:.1f} %"),
        (
            "  95 % interval",
            lambda x: f"{x['attainment_lo'] * 100:.0f}-{x['attainment_hi'] * 100:.0f} %",
        ),
        (f"  SLO (p{target * 100:g})", lambda x: verdict(x, target)),
        ("p50 latency", lambda x: f"{x['p50_ms']:.0f} ms"),
        ("p95 latency", lambda x: f"{x['p95_ms']:.0f} ms"),
        ("resource use (cost units)", lambda x: f"{x['cost']:.3f}"),
        ("cost units per run", lambda x: f"{x['cost_per_run']:.4f}"),
        ("CPU-core-s allocated", lambda x: f"{x['cpu_core_s']:.2f}"),
        ("GiB-s allocated", lambda x: f"{x['gib_s']:.2f}"),
        ("CPU-s used", lambda x: f"{x['cpu_used_s']:.2f}"),
        ("late decisions", lambda x: f"{x['late']}"),
    ]
    w = max(len(label) for label, _ in rows)
    say(f"{'':<{w}}  {'janus':>12}  {'static':>12}")
    for label, cell in rows:
        say(f"{label:<{w}}  {cell(j):>12}  {cell(st):>12}")
    if st["cost"] > 0:
        saving = (1 - j["cost"] / st["cost"]) * 100
        say(
            f"{'janus saving vs static':<{w}}  {saving:>11.1f} %  "
            f"(SLO: janus {verdict(j, target)}, static {verdict(st, target)}; "
            f"{j['runs']} runs each cannot tell attainments closer than the intervals above)"
        )
        if not enforced:
            # Latencies ignored the sizes: the saving above is priced on sizes
            # that changed no run, and the attainments are the machine's.
            say(
                "DRY RUN: sizes were not enforced, so this compares bookkeeping, not sizing; "
                "run as root with writable cgroups for a real comparison"
            )


def print_sizes(runs: dict[str, list[RunReport]], requests: list, hints: janus.HintSet) -> None:
    """Per policy and input class of the hints: how many runs got each size, per stage."""
    say("\nsizes chosen (runs per size), by the hints' input class of the request:")
    c = hints.classes
    labels = {None: "all"} if c is None else {x["class"]: x["description"] for x in c["classes"]}
    for policy, reps in runs.items():
        for cls, label in labels.items():
            counts: dict[str, dict[str, int]] = {}
            for rep, req in zip(reps, requests):
                if c is not None and hints.class_of([float(req["kb"])]) != cls:
                    continue
                for stage, sizes in rep.sizes.items():
                    per_size = counts.setdefault(stage, {})
                    per_size[str(sizes[0])] = per_size.get(str(sizes[0]), 0) + 1
            desc = "; ".join(
                f"{stage}: " + ", ".join(f"{size} x{n}" for size, n in per_size.items())
                for stage, per_size in counts.items()
            )
            say(f"  {policy:<6} {label:<24} {desc}")
