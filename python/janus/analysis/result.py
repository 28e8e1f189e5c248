"""The outcome of a replay, as DataFrames and plots."""

from __future__ import annotations

from typing import Any

import numpy as np

SUMMARY_COLUMNS = [
    "kind",
    "cost",
    "cpu_core_s",
    "gib_s",
    "attainment",
    "attainment_lo",
    "attainment_hi",
    "target",
    "slo",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "saving_vs_static",
    "oracle_share",
    "decisions_per_s",
    "hint_bytes",
    "deadline_ms",
    "runs",
    "coupling",
]


def slo_verdict(attainment: float, upper: float, target: float) -> str:
    """Whether the SLO was met: "met", "within error" (below the target but
    the target is inside the 95 % interval of the attainment) or "MISSED"."""
    if attainment >= target:
        return "met"
    return "within error" if upper >= target else "MISSED"


class SimulationResult:
    """Every policy on the same drawn executions.

    ``to_pandas()`` is tidy: one row per (policy, run) with the run's
    end-to-end ``latency_ms``, resource use (``cost`` in the workflow's cost
    units, ``cpu_core_s``, ``gib_s``) and ``met`` (deadline met). Run ``i`` is
    the same drawn execution for every policy. ``summary()`` has one row per
    policy. ``coupling`` states how latencies at different sizes were coupled.
    """

    def __init__(self, raw: dict, workflow: str, split: float | None) -> None:
        self._raw = raw
        self.workflow = workflow
        self.split = split
        self.coupling: str = raw["coupling"]
        self.runs: int = raw["runs"]
        self.seed: int = raw["seed"]
        self.deadline_ms: float = raw["deadline_ms"]
        self.percentile: float = raw["percentile"]
        self.notes: list[str] = list(raw["notes"])
        self.policies: list[str] = [s["policy"] for s in raw["summary"]]
        self.kinds: list[str] = [s["kind"] for s in raw["summary"]]

    def to_pandas(self) -> Any:
        import pandas as pd

        c = self._raw["columns"]
        idx = np.asarray(c["policy_index"], dtype=np.int64)
        return pd.DataFrame(
            {
                "policy": pd.Categorical.from_codes(idx, categories=self.policies),
                "kind": np.asarray(self.kinds, dtype=object)[idx],
                "run": c["run"],
                "latency_ms": c["latency_ms"],
                "cost": c["cost"],
                "cpu_core_s": c["cpu_core_s"],
                "gib_s": c["gib_s"],
                "met": c["met"],
                "execution": np.asarray(c["execution"], dtype=object)[
                    np.asarray(c["run"], dtype=np.int64)
                ],
                "run_key": np.asarray(c["run_key"], dtype=np.uint64)[
                    np.asarray(c["run"], dtype=np.int64)
                ],
            }
        )

    def summary(self) -> Any:
        """One row per policy (index: policy name).

        cost / cpu_core_s / gib_s: mean per run; attainment: share of runs
        within the deadline (target: the SLO percentile), with its sampling
        error as a 95 % Wilson interval (attainment_lo, attainment_hi); p50/p95/p99_ms:
        end-to-end latency; saving_vs_static: (static - policy) / static;
        oracle_share: (static - policy) / (static - oracle), NaN when the
        oracle saves next to nothing over static; decisions_per_s: adapter
        decide calls per second of decide time (Janus only); hint_bytes: JSON
        size of the hint set (Janus only).
        """
        import pandas as pd

        rows = []
        for s in self._raw["summary"]:
            r = {k: (np.nan if v is None else v) for k, v in s.items() if k != "attainment_ci"}
            r["attainment_lo"], r["attainment_hi"] = s["attainment_ci"]
            r["slo"] = slo_verdict(s["attainment"], r["attainment_hi"], self.percentile)
            r.update(
                target=self.percentile,
                deadline_ms=self.deadline_ms,
                coupling=self.coupling,
            )
            rows.append(r)
        df = pd.DataFrame(rows).set_index("policy")
        return df[SUMMARY_COLUMNS]

    def table(self) -> str:
        """A plain-text summary for terminals."""
        df = self.summary()
        cols = [
            "cost",
            "attainment",
            "slo",
            "p95_ms",
            "saving_vs_static",
            "oracle_share",
            "decisions_per_s",
        ]
        return (
            f"{self.workflow}: deadline {self.deadline_ms:.0f} ms at p{self.percentile * 100:g}, "
            f"{self.runs} runs, coupling={self.coupling}\n"
            + df[cols].to_string(float_format=lambda x: f"{x:.4g}")
        )

    def plot(self, ax: Any = None) -> Any:
        """Cost per policy and the end-to-end latency CDFs; returns the Figure."""
        from janus.analysis.plot import plot_result

        return plot_result(self, ax=ax)

    def __repr__(self) -> str:
        return (
            f"SimulationResult({self.workflow!r}, policies={self.policies}, runs={self.runs}, "
            f"coupling={self.coupling!r}, deadline_ms={self.deadline_ms:g})"
        )

    def _repr_html_(self) -> str:
        head = f"<p>{self!r}</p>"
        notes = "".join(f"<p><i>note: {n}</i></p>" for n in self.notes)
        return head + notes + self.summary().to_html(float_format=lambda x: f"{x:.4g}")
