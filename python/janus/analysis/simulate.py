"""`simulate` (split, fit, replay every policy) and `replay` (explicit policies)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from janus import _janus
from janus._janus import HintSet, NativeWorkflow, Profile, ReplayError
from janus.analysis.result import SimulationResult
from janus.workflow import Workflow, native_of

POLICY_KINDS = ("janus", "static", "maxsize", "stepconf", "oracle")
COUPLINGS = ("rank", "independent")


def _check_coupling(coupling: str) -> None:
    if coupling not in COUPLINGS:
        raise ReplayError(f"replay: unknown coupling {coupling!r} (use 'rank' or 'independent')")


def simulate(
    workflow: Workflow | NativeWorkflow,
    profile: Profile,
    *,
    runs: int = 20_000,
    seed: int = 0,
    split: float = 0.5,
    coupling: str = "rank",
    modes: Sequence[str] = ("stochastic", "percentile"),
    policies: Sequence[str] | None = None,
    buckets: int = 400,
    mix: bool = False,
) -> SimulationResult:
    """Replay ``runs`` executions under Janus and the baselines, on held-apart data.

    Each (function, size)'s samples are split in measurement order: the first
    ``split`` share fits the hint sets (one per synthesis mode in ``modes``),
    the static sizing and StepConf's means; executions are drawn from the
    rest. ``coupling`` says how one execution's latencies at different sizes
    relate: "rank" (one quantile per run and stage, comonotone across sizes)
    or "independent". ``policies`` keeps only these kinds (see POLICY_KINDS).
    ``mix`` synthesizes Janus hints with per-run mixtures (see
    ``janus.synthesize``); the replay passes each execution's run key.
    Deterministic for a fixed ``seed``; runs in parallel without the GIL.
    """
    _check_coupling(coupling)
    if policies is not None:
        unknown = [p for p in policies if p not in POLICY_KINDS]
        if unknown:
            raise ReplayError(
                f"replay: unknown policy kinds {unknown} (use {', '.join(POLICY_KINDS)})"
            )
    wf = native_of(workflow)
    raw = _janus.simulate(
        wf,
        profile,
        runs=int(runs),
        seed=int(seed),
        split=float(split),
        coupling=coupling,
        modes=list(modes),
        policies=list(policies) if policies is not None else None,
        buckets=int(buckets),
        mix=bool(mix),
    )
    return SimulationResult(raw, workflow=wf.name, split=float(split))


def replay(
    workflow: Workflow | NativeWorkflow,
    profile_fit: Profile,
    profile_replay: Profile,
    policies: Sequence[tuple[str, str, Any]] | Mapping[str, Any],
    *,
    runs: int = 20_000,
    seed: int = 0,
    coupling: str = "rank",
) -> SimulationResult:
    """Replay explicit policies on ``profile_replay``.

    ``policies``: ``(name, kind, arg)`` triples, or a dict name -> HintSet
    (Janus) / list or dict of sizes (static) / kind string ("maxsize",
    "stepconf", "oracle"). ``profile_fit`` is what the policies may know
    (StepConf plans from its means); pass the same profile twice to replay on
    the fit data itself.
    """
    _check_coupling(coupling)
    if isinstance(policies, Mapping):
        triples = []
        for name, arg in policies.items():
            if isinstance(arg, HintSet):
                triples.append((name, "janus", arg))
            elif isinstance(arg, str):
                triples.append((name, arg, None))
            else:
                triples.append((name, "static", arg))
    else:
        triples = [tuple(p) for p in policies]
    wf = native_of(workflow)
    raw = _janus.replay(
        wf, profile_fit, profile_replay, triples, runs=int(runs), seed=int(seed), coupling=coupling
    )
    return SimulationResult(raw, workflow=wf.name, split=None)
