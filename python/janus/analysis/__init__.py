"""Evaluation: replay traces under Janus and the baselines (docs/design.md, "Evaluation").

    import janus
    wf, prof = janus.orion_workflow(janus.analysis.orion_dir("ml_pipeline"), deadline_ms=160_000)
    res = janus.simulate(wf, prof, runs=20_000)
    res.summary()          # one row per policy: cost, attainment, p95, oracle share...
    res.plot()
    janus.sweep(wf, prof, factors=[1.0, 1.2, 1.5, 2.0])

Needs the ``analysis`` extra (pandas, matplotlib).
"""

from janus.analysis.heldout import (
    held_out,
    members_held_out,
    pooled,
    room_and_share,
    trial,
    without_keys,
)
from janus.analysis.hints_plot import plot_hints
from janus.analysis.plot import plot_sweep
from janus.analysis.result import SimulationResult
from janus.analysis.simulate import replay, simulate
from janus.analysis.sweep import reference_latency, sweep
from janus.traces import orion_dir  # re-exported: the notebook and examples use it here

__all__ = [
    "SimulationResult",
    "held_out",
    "members_held_out",
    "orion_dir",
    "plot_hints",
    "plot_sweep",
    "pooled",
    "reference_latency",
    "replay",
    "room_and_share",
    "simulate",
    "sweep",
    "trial",
    "without_keys",
]
