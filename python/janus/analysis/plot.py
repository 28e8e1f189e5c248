"""Matplotlib figures for replays and sweeps (optional extra)."""

from __future__ import annotations

from typing import Any

import numpy as np

# One colour per policy kind, stable across figures.
COLOURS = {
    "janus": "#1f77b4",
    "static": "#ff7f0e",
    "maxsize": "#7f7f7f",
    "stepconf": "#2ca02c",
    "oracle": "#000000",
}


def _colour(kind: str, i: int) -> str:
    base = COLOURS.get(kind, "#9467bd")
    return base if i == 0 else ["#17becf", "#9467bd", "#8c564b"][i % 3]


def plot_result(res: Any, ax: Any = None) -> Any:
    """Bar chart of mean cost per policy and the latency CDFs with the deadline."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    else:
        a1, a2 = ax
        fig = a1.figure
    s = res.summary()
    df = res.to_pandas()
    seen: dict[str, int] = {}
    for i, (name, row) in enumerate(s.iterrows()):
        k = row["kind"]
        c = _colour(k, seen.get(k, 0))
        seen[k] = seen.get(k, 0) + 1
        a1.bar(i, row["cost"], color=c)
        a1.text(i, row["cost"], f"{row['attainment']:.3f}", ha="center", va="bottom", fontsize=8)
        lat = np.sort(df.loc[df["policy"] == name, "latency_ms"].to_numpy())
        a2.plot(lat / 1000.0, np.arange(1, len(lat) + 1) / len(lat), label=name, color=c)
    a1.set_xticks(range(len(s)))
    a1.set_xticklabels(s.index, rotation=30, ha="right")
    a1.set_ylabel("mean cost per run (cost units)")
    a1.set_title("resource use (labels: SLO attainment)")
    a2.axvline(res.deadline_ms / 1000.0, color="red", ls="--", lw=1, label="deadline")
    a2.axhline(res.percentile, color="red", ls=":", lw=1)
    a2.set_xlabel("end-to-end latency (s)")
    a2.set_ylabel("CDF")
    a2.set_title(f"{res.workflow}, coupling={res.coupling}")
    a2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_sweep(df: Any, ax: Any = None, relative_to: str = "static") -> Any:
    """Cost relative to ``relative_to`` and SLO attainment over the deadline.

    Shaded: deadlines where the best Janus policy saves more than 1 % over
    static at the target attainment (late binding pays off); elsewhere it
    does not (too tight: only the fastest sizes fit; too loose: the cheapest
    sizes fit everything).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    else:
        a1, a2 = ax
        fig = a1.figure
    x = "deadline_ms"
    base = df[df["policy"] == relative_to].set_index(x)["cost"]
    seen: dict[str, int] = {}
    for name, g in df.groupby("policy", sort=False):
        k = g["kind"].iloc[0]
        c = _colour(k, seen.get(k, 0))
        seen[k] = seen.get(k, 0) + 1
        g = g.sort_values(x)
        rel = g["cost"].to_numpy() / base.reindex(g[x]).to_numpy()
        a1.plot(g[x] / 1000.0, rel, marker="o", label=name, color=c)
        a2.plot(g[x] / 1000.0, g["attainment"], marker="o", label=name, color=c)
    janus = df[(df["kind"] == "janus") & (df["attainment"] >= df["target"])]
    if len(janus):
        best = janus.groupby(x)["cost"].min()
        pays = [d for d, v in best.items() if d in base.index and v < 0.99 * base[d]]
        for d in pays:
            a1.axvspan(d / 1000.0 * 0.985, d / 1000.0 * 1.015, color="#1f77b4", alpha=0.12)
    a1.axhline(1.0, color="#ff7f0e", lw=0.8, ls=":")
    a1.set_ylabel(f"cost relative to {relative_to}")
    a1.set_title("where late binding pays off (shaded: Janus saves > 1% at the target)")
    a1.legend(fontsize=8)
    a2.axhline(df["target"].iloc[0], color="red", ls="--", lw=1, label="target")
    a2.set_ylabel("SLO attainment")
    a2.set_xlabel("deadline (s)")
    fig.tight_layout()
    return fig
