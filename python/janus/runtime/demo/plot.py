"""``demo.png``: latency per run against the deadline, and cumulative
resource use, for both policies of ``janus demo``."""

from __future__ import annotations

import os
import sys

import numpy as np

from janus.runtime.runner import RunReport

COLORS = {"janus": "tab:blue", "static": "tab:orange"}


def plot_runs(out: str, runs: dict[str, list[RunReport]], deadline: float, kind: str) -> str | None:
    """Save ``out/demo.png`` and return its path; None (with a note on stderr)
    when matplotlib is not installed: the plot is optional, the table is not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for policy, reps in runs.items():
        ax1.plot(
            [r.run for r in reps],
            [r.e2e_ms for r in reps],
            "o-",
            ms=3,
            lw=1,
            color=COLORS.get(policy),
            label=policy,
        )
        ax2.plot(
            [r.run for r in reps],
            np.cumsum([r.cost for r in reps]),
            "-",
            color=COLORS.get(policy),
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
