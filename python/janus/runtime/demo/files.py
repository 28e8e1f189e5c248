"""The files ``janus demo`` leaves for later analysis: ``runs.csv`` (one row
per served request and policy) and ``summary.json`` (the summaries printed
in the table, the deadline, the static sizing, the hints' plan, timings)."""

from __future__ import annotations

import csv
import json
import os
from typing import Any

import janus
from janus.runtime.runner import RunReport

RUN_COLUMNS = [
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


def write_runs_csv(path: str, runs: dict[str, list[RunReport]], requests: list) -> None:
    """One row per (policy, request), in serving order; ``sizes`` lists every
    invocation as ``stage[instance]=size``."""
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(RUN_COLUMNS)
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


def write_summary_json(
    path: str,
    summaries: dict[str, dict],
    *,
    pool_kind: str,
    deadline: float,
    static: dict,
    hints: janus.HintSet,
    t_prof: float,
    t_serve: float,
) -> None:
    """The summaries with what produced them (sizes as strings such as ``500m/256Mi``)."""
    doc: dict[str, Any] = {
        "summaries": summaries,
        "pool_kind": pool_kind,
        "deadline": deadline,
        "static": {
            "sizes": {k: str(v) for k, v in static["sizes"].items()},
            "feasible": static["feasible"],
            "expected_cost": static["expected_cost"],
            "miss_probability": static["miss_probability"],
        },
        "t_prof": t_prof,
        "t_serve": t_serve,
        "hints_plan": hints.plan,
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, default=str)


def write_all(out: str, runs: dict[str, list[RunReport]], requests: list, **summary: Any) -> None:
    """``runs.csv`` and ``summary.json`` in the folder ``out``."""
    write_runs_csv(os.path.join(out, "runs.csv"), runs, requests)
    write_summary_json(os.path.join(out, "summary.json"), **summary)
