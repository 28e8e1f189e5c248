"""`simulate` (split, fit, replay every policy) and `replay` (explicit policies).

Both forward to the Rust engine; names of policies, couplings and synthesis
options are checked there (one definition), and errors are ``ReplayError``
or ``SynthesisError`` naming the bad value. So are the defaults: an option
left at None is not passed, and the engine uses its own
(``janus._janus.SIMULATE_DEFAULTS``: 20000 runs, seed 0, split 0.5,
coupling "auto", both synthesis modes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from janus import _janus
from janus._janus import HintSet, NativeWorkflow, Profile
from janus.analysis.result import SimulationResult
from janus.workflow import Workflow, native_of


def simulate(
    workflow: Workflow | NativeWorkflow,
    profile: Profile,
    *,
    runs: int | None = None,
    seed: int | None = None,
    split: float | None = None,
    coupling: str | None = None,
    modes: Sequence[str] | None = None,
    policies: Sequence[str] | None = None,
    **synthesis: Any,
) -> SimulationResult:
    """Replay Janus and the baselines on held-out data.

    The profile is split at random (``seed``): by request when its samples
    are keyed, else each (function, size)'s samples on their own. The
    ``split`` share fits the hint sets (one per synthesis mode in ``modes``),
    the static sizing and StepConf's means; the rest is replayed.

    Executions (``coupling``): "auto" replays every held-out request of a
    keyed profile exactly (its own measured latency at every stage and size,
    its own features; ``runs`` is then ignored) and otherwise draws ``runs``
    executions with "rank" coupling across sizes; "keyed" insists on the
    former, "rank" / "independent" force draws. ``result.notes`` says which
    was used and why. ``policies`` keeps only these kinds (janus, static,
    maxsize, stepconf, oracle). Every ``janus.synthesize`` option (buckets,
    tolerance, max_rules, max_classes, min_class_samples, smoothing, late,
    min_gain, confidence, mix, crossfit, bands, lockstep, beyond) applies to the Janus
    policies.
    Deterministic for a fixed ``seed``; runs in parallel without the GIL.
    """
    wf = native_of(workflow)
    given = _given(runs=runs, seed=seed, split=split, coupling=coupling)
    if modes is not None:
        given["modes"] = list(modes)
    if policies is not None:
        given["policies"] = list(policies)
    raw = _janus.simulate(wf, profile, **given, **synthesis)
    used = _janus.SIMULATE_DEFAULTS["split"] if split is None else split
    return SimulationResult(raw, workflow=wf.name, split=float(used))


def replay(
    workflow: Workflow | NativeWorkflow,
    profile_fit: Profile,
    profile_replay: Profile,
    policies: Sequence[tuple[str, str, Any]] | Mapping[str, Any],
    *,
    runs: int | None = None,
    seed: int | None = None,
    coupling: str | None = None,
) -> SimulationResult:
    """Replay explicit policies on ``profile_replay``.

    ``policies``: ``(name, kind, arg)`` triples, or a dict name -> HintSet
    (Janus) / list or dict of sizes (static) / kind string ("maxsize",
    "stepconf", "oracle"). ``profile_fit`` is what the policies may know
    (StepConf plans from its means); pass the same profile twice to replay on
    the fit data itself. Executions as in ``simulate``.
    """
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
    given = _given(runs=runs, seed=seed, coupling=coupling)
    raw = _janus.replay(wf, profile_fit, profile_replay, triples, **given)
    return SimulationResult(raw, workflow=wf.name, split=None)


def _given(**options: Any) -> dict[str, Any]:
    """The options the caller gave (not None): the engine defaults the rest."""
    return {k: v for k, v in options.items() if v is not None}
