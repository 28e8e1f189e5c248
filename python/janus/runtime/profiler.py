"""Profiling: each function at each of its size options, over sample inputs.

Two ways to give the inputs:

- **Requests** (a list; recommended): each request runs through the whole
  workflow, block by block, and every stage is measured at every size on
  the input that request gives it. Every sample is keyed by the request
  (``request_key(request, i)``, default ``"r<i>"``) and carries the
  request's features (``Workflow.feature``), so synthesis sees how one
  request drives every stage and a replay can walk held-out requests
  exactly. A stage's output for its successors is the value of its last
  call (functions are expected to be deterministic in their input).

      profile = profile_workflow(wf, requests, repetitions=1)

- **Per-stage inputs** (a dict stage -> list, or a callable stage -> list):
  each stage on its own sample arguments. Samples carry no keys and no
  request features.

Wall latencies go into a ``janus.Profile``; CPU time, peak memory and
throttling into a ``ProfileReport`` side table (pass ``report=ProfileReport()``).
The order of sizes rotates from one measurement to the next so that a slow
spell of the machine spreads over all sizes instead of biasing one. A fan-out
stage is profiled as one instance (the synthesizer composes the fan-out).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from janus._janus import Profile, ProfileError, Size, quantile
from janus.runtime.errors import PoolError, WorkerError
from janus.runtime.pool import WorkerPool
from janus.runtime.progress import Bar
from janus.workflow import StageInputs

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
    key: str | None = None
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
                xs = [x for x in xs if x is not None]
                return quantile(xs, 0.5) if xs else None

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


class _Measure:
    """One call at one size, recorded in the report; returns the result or None."""

    def __init__(self, pool: WorkerPool, report: ProfileReport, bar: Bar, timeout_s: float):
        self.pool, self.report, self.bar, self.timeout_s = pool, report, bar, timeout_s

    def __call__(
        self, stage: str, arg: Any, size: Size, rep: int, sample: int, key: str | None
    ) -> Any:
        row = ProfileRow(
            stage, size.cpu_millis, size.memory_mib, rep, sample, None, None, None, None, key
        )
        try:
            r = self.pool.call(stage, arg, size, timeout_s=self.timeout_s)
        except WorkerError as e:
            row.error = f"{type(e).__name__}: {str(e).splitlines()[0]}"
            r = None
        else:
            row.latency_ms, row.cpu_ms = r.latency_ms, r.cpu_ms
            row.peak_mib, row.throttled_ms = r.peak_mib, r.throttled
        self.report.rows.append(row)
        self.bar.update(1, f"{stage} @ {size}")
        return r

    def warm(self, stage: str, arg: Any, options: Sequence[Size]) -> None:
        """The first call of a function pays for imports and caches: not measured."""
        try:
            self.pool.call(
                stage, arg, max(options, key=lambda s: s.cpu_millis), timeout_s=self.timeout_s
            )
        except WorkerError as e:
            log.warning("warm-up of %s failed: %s", stage, e)


def _rotated(options: Sequence[Size], k: int) -> list[Size]:
    k %= len(options)
    return list(options[k:]) + list(options[:k])


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
    inputs: Sequence[Any] | Mapping[str, list] | Callable[[str], list],
    repetitions: int = 1,
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
    request_key: Callable[[Any, int], str] | None = None,
) -> Profile:
    """Measure every stage at each size option ``repetitions`` times.

    ``inputs``: a list of requests (keyed profiling, see the module notes) or
    per-stage inputs. Uses ``pool`` if given (its workers must hold the
    workflow's functions), else a one-worker pool made for the occasion: one
    call at a time, so that measurements do not compete for the machine.
    Failed calls (timeouts, OOM kills, exceptions) are recorded in
    ``report`` and left out of the profile; a request whose stage failed at
    every size stops there (its later stages have no input).

    ``checkpoint``: a file the profile is saved to (atomically) after every
    request (or stage, per-stage mode), so a crash or Ctrl-C loses at most
    the one in progress. With ``resume``, what that file already holds is not
    measured again.
    """
    if not isinstance(repetitions, int) or isinstance(repetitions, bool) or repetitions < 1:
        raise PoolError(f"repetitions must be a positive int, got {repetitions!r}")
    report = report if report is not None else ProfileReport()
    keyed = not isinstance(inputs, Mapping) and not callable(inputs)
    if keyed and stages is not None:
        raise PoolError("stages= selects stages of per-stage inputs; requests run every stage")
    requests = request_list(inputs) if keyed else []
    names = stages or list(workflow.stages)
    for st in names:
        if workflow.stage(st).fn is None:
            raise PoolError(f"stage {st!r} has no function to profile")
    # Everything that can be refused is, before a worker starts.
    prof = Profile(workflow.features) if keyed else Profile()
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        prof = resumable_profile(checkpoint, workflow, keyed)
    own = pool is None
    if own:
        pool = WorkerPool(workflow, size=1, pool_name=None, dry_run=dry_run)
    report.actuator = pool.kind
    try:
        if keyed:
            _profile_requests(
                workflow, requests, repetitions, pool, progress, report, timeout_s, warmup,
                checkpoint, prof, request_key or (lambda _r, i: f"r{i}"),
            )  # fmt: skip
        else:
            _profile_stages(
                workflow, inputs, names, repetitions, pool, progress, report, timeout_s, warmup,
                checkpoint, prof,
            )  # fmt: skip
    finally:
        if own:
            pool.close()
    if report.failures:
        # The caller may keep no report (janus profile without --report), so
        # the first error (it names the function and size) is shown here.
        log.warning(
            "profile: %d of %d calls failed and are left out of the profile; the first: %s",
            len(report.failures),
            len(report.rows),
            report.failures[0].error,
        )
    return prof


def request_list(requests: Any, name: str = "inputs") -> list:
    """``requests`` (any iterable) as a list; anything else is refused by
    ``name``, rather than by a bare ``TypeError`` from deep in the profiler."""
    try:
        return list(requests)
    except TypeError:
        raise PoolError(
            f"{name} must be a list (or iterable) of requests, got {type(requests).__name__}"
        ) from None


def resumable_profile(path: str | os.PathLike, workflow: Any, keyed: bool) -> Profile:
    """The profile at ``path``, if it can be resumed for ``workflow``: only its
    stages at their size options, its features, keyed as ``keyed`` says.
    Anything else is another workflow's (or an older version's) profile;
    measuring on top of it would save a mix that synthesis then refuses."""
    prof = Profile.load(path)
    stages = list(workflow.stages)
    wrong: list[str] = []
    others = [f for f in prof.functions if f not in stages]
    if others:
        wrong.append(f"functions {', '.join(others)} are not stages ({', '.join(stages)})")
    for f in prof.functions:
        if f in stages:
            options = workflow.stage(f).options
            extra = [str(s) for s in prof.sizes(f) if s not in options]
            if extra:
                wrong.append(f"{f} has sizes {', '.join(extra)} that are not its options")
    if keyed and prof.feature_names != list(workflow.features):
        wrong.append(
            f"features [{', '.join(prof.feature_names)}] are not the workflow's "
            f"[{', '.join(workflow.features)}]"
        )
    if prof.functions and prof.is_keyed != keyed:
        wrong.append(
            "its samples are keyed by request, not per-stage"
            if prof.is_keyed
            else "its samples are per-stage, not keyed by request"
        )
    if wrong:
        raise ProfileError(
            f"cannot resume {os.fspath(path)}: not a profile of workflow {workflow.name!r}: "
            + "; ".join(wrong)
        )
    return prof


def _profile_requests(
    workflow: Any,
    requests: list,
    repetitions: int,
    pool: WorkerPool,
    progress: bool,
    report: ProfileReport,
    timeout_s: float,
    warmup: bool,
    checkpoint: str | os.PathLike | None,
    prof: Profile,
    request_key: Callable[[Any, int], str],
) -> None:
    if not requests:
        raise PoolError("no requests to profile")
    native = workflow.native
    input_of = StageInputs(native)
    keys = [str(request_key(r, i)) for i, r in enumerate(requests)]
    if len(set(keys)) != len(keys):
        raise PoolError("request keys must be unique (see request_key)")
    done = _keys_done(prof, workflow)
    todo = [(i, r) for i, r in enumerate(requests) if keys[i] not in done]
    if done:
        log.info("profile: resuming, %d of %d requests already measured", len(done), len(keys))
    per_request = sum(len(workflow.stage(s).options) for s in native.stages) * repetitions
    bar = Bar(per_request * len(todo), "profiling", enabled=progress)
    measure = _Measure(pool, report, bar, timeout_s)
    warmed: set[str] = set()
    try:
        for n, (i, req) in enumerate(todo):
            key = keys[i]
            features = workflow.request_features(req)
            lat: dict[tuple[str, Size], list[float]] = {}
            outputs: dict[str, Any] = {}
            complete = True
            for block in native.blocks:
                for stage in block:
                    arg = input_of(stage, req, outputs)
                    spec = workflow.stage(stage)
                    if warmup and stage not in warmed:
                        measure.warm(stage, arg, spec.options)
                        warmed.add(stage)
                    value, got = None, False
                    for rep in range(repetitions):
                        for size in _rotated(spec.options, n + rep):
                            r = measure(stage, arg, size, rep, i, key)
                            if r is not None:
                                lat.setdefault((stage, size), []).append(r.latency_ms)
                                value, got = r.value, True
                    if not got:
                        log.warning(
                            "profile: request %s: every call of %s failed; stopping it", key, stage
                        )
                        complete = False
                        break
                    outputs[stage] = [value] * spec.fanout if spec.fanout > 1 else value
                if not complete:
                    break
            for (stage, size), xs in lat.items():
                prof.add(
                    stage,
                    size,
                    xs,
                    keys=[key] * len(xs),
                    features=None if features is None else [features] * len(xs),
                )
            if checkpoint is not None:
                prof.save(checkpoint)
    finally:
        bar.close()


def _keys_done(prof: Profile, workflow: Any) -> set[str]:
    """Requests already measured at every stage and size of ``prof``."""
    done: set[str] | None = None
    for st in workflow.stages:
        for size in workflow.stage(st).options:
            if size not in prof.sizes(st):
                return set()
            ks = set(prof.keys(st, size) or ())
            done = ks if done is None else done & ks
    return done or set()


def _profile_stages(
    workflow: Any,
    inputs: Mapping[str, list] | Callable[[str], list],
    names: list[str],
    repetitions: int,
    pool: WorkerPool,
    progress: bool,
    report: ProfileReport,
    timeout_s: float,
    warmup: bool,
    checkpoint: str | os.PathLike | None,
    prof: Profile,
) -> None:
    plan = [(st, workflow.stage(st), _samples(inputs, st)) for st in names]
    done = {st for st, spec, _ in plan if all(s in prof.sizes(st) for s in spec.options)}
    if done:
        log.info("profile: resuming, %s already in %s", ", ".join(sorted(done)), checkpoint)
    plan = [p for p in plan if p[0] not in done]
    total = sum(len(spec.options) * len(xs) * repetitions for _, spec, xs in plan)
    bar = Bar(total, "profiling", enabled=progress)
    measure = _Measure(pool, report, bar, timeout_s)
    try:
        for st, spec, xs in plan:
            if warmup:
                measure.warm(st, xs[0], spec.options)
            lat: dict[Size, list[float]] = {s: [] for s in spec.options}
            for rep in range(repetitions):
                for i, x in enumerate(xs):
                    for size in _rotated(spec.options, rep * len(xs) + i):
                        r = measure(st, x, size, rep, i, None)
                        if r is not None:
                            lat[size].append(r.latency_ms)
            for size in spec.options:
                if not lat[size]:
                    log.warning("profile: every call of %s at %s failed; size left out", st, size)
                    continue
                prof.add(st, size, lat[size])
            if checkpoint is not None:
                prof.save(checkpoint)
    finally:
        bar.close()
