"""Profiling: each function at each of its size options, N times over sample inputs.

    profile = profile_workflow(wf, {"parse": [small, large], "work": [x]}, repetitions=10)

Wall latencies (and the stage's feature value, when it declares one) go into
a ``janus.Profile`` for the synthesizer; CPU time, peak memory and throttling
go into a ``ProfileReport`` side table (pass ``report=ProfileReport()``).
Sizes are interleaved within each repetition so that a slow spell of the
machine spreads over all sizes instead of biasing one. A fan-out stage is
profiled as one instance (the synthesizer composes the fan-out).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from janus._janus import Profile, Size
from janus.runtime.errors import PoolError, WorkerError
from janus.runtime.pool import WorkerPool
from janus.runtime.progress import Bar

log = logging.getLogger("janus.runtime")


@dataclass
class ProfileRow:
    function: str
    cpu_millis: int
    memory_mib: int
    repetition: int
    sample: int
    latency_ms: float | None
    cpu_ms: float | None
    peak_mib: float | None
    throttled_ms: float | None
    feature: float | None
    error: str | None = None


@dataclass
class ProfileReport:
    """Everything measured while profiling, one row per call (failures included)."""

    rows: list[ProfileRow] = field(default_factory=list)
    actuator: str = ""

    def to_rows(self) -> list[dict]:
        return [asdict(r) for r in self.rows]

    @property
    def failures(self) -> list[ProfileRow]:
        return [r for r in self.rows if r.error]

    def summary(self) -> list[dict]:
        """Per (function, size): count, median latency, CPU and peak memory."""
        groups: dict[tuple, list[ProfileRow]] = {}
        for r in self.rows:
            groups.setdefault((r.function, r.cpu_millis, r.memory_mib), []).append(r)
        out = []
        for (fn, c, m), rs in groups.items():
            ok = [r for r in rs if r.error is None]

            def med(xs: list) -> float | None:
                xs = sorted(x for x in xs if x is not None)
                return xs[len(xs) // 2] if xs else None

            out.append(
                {
                    "function": fn,
                    "cpu_millis": c,
                    "memory_mib": m,
                    "n": len(ok),
                    "failed": len(rs) - len(ok),
                    "p50_ms": med([r.latency_ms for r in ok]),
                    "cpu_ms_p50": med([r.cpu_ms for r in ok]),
                    "peak_mib_p50": med([r.peak_mib for r in ok]),
                }
            )
        return out


def _samples(inputs: Mapping[str, list] | Callable[[str], list], stage: str) -> list:
    if callable(inputs):
        xs = inputs(stage)
    else:
        if stage not in inputs:
            raise PoolError(f"no sample inputs for stage {stage!r} (given: {', '.join(inputs)})")
        xs = inputs[stage]
    xs = list(xs)
    if not xs:
        raise PoolError(f"sample inputs of stage {stage!r} are empty")
    return xs


def profile_workflow(
    workflow: Any,
    inputs: Mapping[str, list] | Callable[[str], list],
    repetitions: int = 5,
    pool: WorkerPool | None = None,
    progress: bool = True,
    *,
    report: ProfileReport | None = None,
    stages: list[str] | None = None,
    timeout_s: float = 300.0,
    warmup: bool = True,
    dry_run: bool = False,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
) -> Profile:
    """Run every stage at each size option ``repetitions`` times over its sample inputs.

    Uses ``pool`` if given (its workers must hold the workflow's functions),
    else a one-worker pool made for the occasion: one call at a time, so that
    measurements do not compete for the machine. Failed calls (timeouts, OOM
    kills, exceptions) are recorded in ``report`` and left out of the profile.

    ``checkpoint``: a file the profile is saved to (atomically) after every
    stage, so a crash or Ctrl-C loses at most the stage in progress. With
    ``resume``, stages already complete in that file are not measured again.
    """
    if not isinstance(repetitions, int) or repetitions < 1:
        raise PoolError(f"repetitions must be a positive int, got {repetitions!r}")
    report = report if report is not None else ProfileReport()
    names = stages or list(workflow.stages)
    plan = []
    for st in names:
        spec = workflow.stage(st)
        if spec.fn is None:
            raise PoolError(f"stage {st!r} has no function to profile")
        plan.append((st, spec, _samples(inputs, st)))
    own = pool is None
    if own:
        pool = WorkerPool(workflow, size=1, pool_name=None, dry_run=dry_run)
    report.actuator = pool.kind
    total = sum(len(spec.options) * len(xs) * repetitions for _, spec, xs in plan)
    prof = Profile()
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        prof = Profile.load(checkpoint)
        done = {st for st, spec, _ in plan if all(s in prof.sizes(st) for s in spec.options)}
        if done:
            log.info("profile: resuming, %s already in %s", ", ".join(sorted(done)), checkpoint)
        total -= sum(
            len(spec.options) * len(xs) * repetitions for st, spec, xs in plan if st in done
        )
        plan = [p for p in plan if p[0] not in done]
    bar = Bar(total, "profiling", enabled=progress)
    try:
        for st, spec, xs in plan:
            feats = [float(spec.feature(x)) if spec.feature else None for x in xs]
            if warmup:  # first call of a function pays for imports and caches
                try:
                    pool.call(
                        st,
                        xs[0],
                        max(spec.options, key=lambda s: s.cpu_millis),
                        timeout_s=timeout_s,
                    )
                except WorkerError as e:
                    log.warning("warm-up of %s failed: %s", st, e)
            lat: dict[Size, list[float]] = {s: [] for s in spec.options}
            fv: dict[Size, list[float]] = {s: [] for s in spec.options}
            for rep in range(repetitions):
                for i, x in enumerate(xs):
                    for size in spec.options:
                        row = ProfileRow(
                            st,
                            size.cpu_millis,
                            size.memory_mib,
                            rep,
                            i,
                            None,
                            None,
                            None,
                            None,
                            feats[i],
                        )
                        try:
                            r = pool.call(st, x, size, timeout_s=timeout_s)
                        except WorkerError as e:
                            row.error = f"{type(e).__name__}: {str(e).splitlines()[0]}"
                        else:
                            row.latency_ms, row.cpu_ms = r.latency_ms, r.cpu_ms
                            row.peak_mib, row.throttled_ms = r.peak_mib, r.throttled
                            lat[size].append(r.latency_ms)
                            if feats[i] is not None:
                                fv[size].append(feats[i])
                        report.rows.append(row)
                        bar.update(1, f"{st} @ {size}")
            for size in spec.options:
                if not lat[size]:
                    log.warning("profile: every call of %s at %s failed; size left out", st, size)
                    continue
                prof.add(st, size, lat[size], fv[size] if spec.feature else None)
            if checkpoint is not None:
                prof.save(checkpoint)
    finally:
        bar.close()
        if own:
            pool.close()
    if report.failures:
        log.warning(
            "profile: %d of %d calls failed (see the report)",
            len(report.failures),
            len(report.rows),
        )
    return prof
