"""A hint set as a picture: for each function, the size chosen (CPU and
memory) as a step function of the remaining budget, one line per input class."""

from __future__ import annotations

from typing import Any

from janus._janus import HintSet
from janus.hints_text import table_keys, table_label


def plot_hints(hints: HintSet, functions: list[str] | None = None, ax: Any = None) -> Any:
    """One panel per function: the first-ranked CPU (solid) over the
    remaining budget, and memory (dashed, right axis) when the function's
    options differ in memory. Lines of input classes are drawn thick to thin
    so that equal ones stay visible. The shaded region is below every rule
    (a late run: the adapter gives it the hint set's late fallback)."""
    import matplotlib.pyplot as plt

    wf = hints.workflow
    names = functions or wf.stages
    tables = table_keys(hints)
    if ax is None:
        fig, axes = plt.subplots(
            len(names), 1, figsize=(8, 2.2 * len(names) + 0.6), sharex=True, squeeze=False
        )
        axes = axes[:, 0]
    else:
        axes = ax if isinstance(ax, (list, tuple)) else [ax]
        fig = axes[0].figure
    deadline = wf.deadline_ms
    for a, fn in zip(axes, names):
        opts = wf.options(fn)
        a2 = a.twinx() if len({o.memory_mib for o in opts}) > 1 else None
        lowest = deadline
        for k, t in enumerate(tables):
            rules = hints.rules(fn, t)
            if not rules:
                continue
            lowest = min(lowest, rules[0][0])
            xs = [ms for ms, _ in rules] + [deadline]
            cpu = [sizes[0].cpu_millis for _, sizes in rules]
            mem = [sizes[0].memory_mib for _, sizes in rules]
            label = table_label(hints, t)
            width = 3.5 - 2.5 * k / max(1, len(tables) - 1)
            line = a.step(xs, cpu + cpu[-1:], where="post", label=label, linewidth=width)[0]
            if a2 is not None:
                a2.step(
                    xs,
                    mem + mem[-1:],
                    where="post",
                    linestyle="--",
                    color=line.get_color(),
                    linewidth=width,
                    alpha=0.6,
                )
        a.axvspan(0, lowest, color="0.9", zorder=0)
        a.set_ylabel(f"{fn}\nCPU (m)")
        a.set_yticks(sorted({o.cpu_millis for o in opts}))
        if a2 is not None:
            a2.set_ylabel("memory (MiB)")
            a2.set_yticks(sorted({o.memory_mib for o in opts}))
        a.set_xlim(0, deadline)
    axes[0].legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("remaining budget (ms)")
    fig.suptitle(
        f"hints of '{wf.name}': size by remaining budget (deadline {deadline:.0f} ms, "
        f"p{100 * wf.percentile:g})"
    )
    fig.tight_layout()
    return fig
