"""The late-binding workflow runner: one machine, warm workers, sizes chosen per invocation.

    runner = Runner(wf, pool, adapter=janus.Adapter(hints))      # Janus
    runner = Runner(wf, pool, static_sizes={"parse": Size(...)})  # early binding
    report = runner.run(request)
    reports, summary = runner.serve(requests)

The DAG runs block by block (``workflow.native.blocks``). Root stages receive
the request; a stage with one predecessor receives its output, with several a
dict ``{predecessor: output}``; a fan-out stage runs ``fanout`` parallel calls
on the same input and outputs the list of their results. When a run starts,
the workflow's request features are computed from the request; before each
stage the adapter is asked for a size with the real time elapsed since the
run started and those features (the same at every stage); the size is applied
by the pool before dispatch and the latency observed afterwards. A failed call marks the run
failed; the runner itself keeps going. With a ``janus.Resynthesizer`` the
runner checks for drift after every run, and new hints are synthesised in the
background and swapped in.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from janus._janus import JanusError, Size, quantile, wilson_interval
from janus.runtime.errors import PoolError
from janus.runtime.pool import MAX_TIMEOUT_S, WorkerPool, check_timeout
from janus.runtime.progress import Bar
from janus.workflow import StageInputs

if TYPE_CHECKING:
    from typing_extensions import Self

log = logging.getLogger("janus.runtime")


@dataclass
class Invocation:
    """One call of one stage instance."""

    stage: str
    instance: int
    size: Size
    start_ms: float
    latency_ms: float
    cpu_ms: float = 0.0
    peak_mib: float = 0.0
    throttled_ms: float = 0.0
    worker: str = ""
    rule: int | None = None
    remaining_ms: float | None = None
    late: bool = False
    features: list[float] | None = None
    cost: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["size"] = {"cpu_millis": self.size.cpu_millis, "memory_mib": self.size.memory_mib}
        return d


@dataclass
class RunReport:
    """One run of the workflow.

    ``cost`` is the sum over invocations of ``cost_model.cost(size, latency)``;
    ``cpu_core_s`` and ``gib_s`` are the allocated core-seconds and GiB-seconds
    (size x latency), ``cpu_used_s`` the CPU time the workers really used.
    """

    run: int
    policy: str
    e2e_ms: float
    deadline_ms: float
    ok: bool
    invocations: list[Invocation] = field(default_factory=list)
    error: str | None = None
    cost: float = 0.0
    cpu_core_s: float = 0.0
    gib_s: float = 0.0
    cpu_used_s: float = 0.0

    @property
    def slo_met(self) -> bool:
        return self.ok and self.e2e_ms <= self.deadline_ms

    @property
    def sizes(self) -> dict[str, list[Size]]:
        """Per stage, the size of each of its invocations in this run."""
        out: dict[str, list[Size]] = {}
        for inv in self.invocations:
            out.setdefault(inv.stage, []).append(inv.size)
        return out

    def to_dict(self) -> dict:
        return {
            "run": self.run,
            "policy": self.policy,
            "e2e_ms": self.e2e_ms,
            "deadline_ms": self.deadline_ms,
            "ok": self.ok,
            "slo_met": self.slo_met,
            "error": self.error,
            "cost": self.cost,
            "cpu_core_s": self.cpu_core_s,
            "gib_s": self.gib_s,
            "cpu_used_s": self.cpu_used_s,
            "invocations": [i.to_dict() for i in self.invocations],
        }


def summarize(reports: list[RunReport]) -> dict:
    """SLO attainment, latency percentiles and resource use of a list of runs."""
    n = len(reports)
    e2e = [r.e2e_ms for r in reports if r.ok]
    met = sum(r.slo_met for r in reports)
    lo, hi = wilson_interval(met, n)
    return {
        "policy": reports[0].policy if reports else "",
        "runs": n,
        "failed": sum(not r.ok for r in reports),
        "slo_attainment": met / n if n else math.nan,
        "attainment_lo": lo,
        "attainment_hi": hi,
        "deadline_ms": reports[0].deadline_ms if reports else math.nan,
        "p50_ms": quantile(e2e, 0.5),
        "p95_ms": quantile(e2e, 0.95),
        "mean_ms": statistics.fmean(e2e) if e2e else math.nan,
        "cost": sum(r.cost for r in reports),
        "cost_per_run": sum(r.cost for r in reports) / n if n else math.nan,
        "cpu_core_s": sum(r.cpu_core_s for r in reports),
        "gib_s": sum(r.gib_s for r in reports),
        "cpu_used_s": sum(r.cpu_used_s for r in reports),
        "late": sum(i.late for r in reports for i in r.invocations),
    }


class Runner:
    """Runs a workflow on a ``WorkerPool`` with an adapter (late binding) or static sizes."""

    def __init__(
        self,
        workflow: Any,
        pool: WorkerPool,
        adapter: Any = None,
        static_sizes: Mapping[str, Size] | None = None,
        *,
        timeout_s: float | None = None,
        observe: bool = True,
        policy: str | None = None,
        resynthesizer: Any = None,
    ) -> None:
        if (adapter is None) == (static_sizes is None):
            raise PoolError("give the Runner either an adapter (late binding) or static_sizes")
        self.workflow = workflow
        self.native = workflow.native
        self.pool = pool
        self.adapter = adapter
        self.static = dict(static_sizes) if static_sizes is not None else None
        if self.static is not None:
            if isinstance(self.static.get("sizes"), Mapping):  # janus.best_static's dict
                self.static = dict(self.static["sizes"])
            missing = [s for s in self.native.stages if s not in self.static]
            if missing:
                raise PoolError(f"static_sizes has no size for {', '.join(missing)}")
            for s, size in self.static.items():
                self.static[s] = pool.check_size(size)
        missing = [s for s in self.native.stages if s not in pool.functions]
        if missing:
            raise PoolError(f"the pool has no function for stage(s) {', '.join(missing)}")
        if adapter is not None and adapter.hints.workflow.digest != self.native.digest:
            hw = adapter.hints.workflow
            raise PoolError(
                f"the adapter's hints are for another workflow: '{hw.name}' "
                f"(deadline {hw.deadline_ms:g} ms, stages {hw.stages}) vs '{self.native.name}' "
                f"(deadline {self.native.deadline_ms:g} ms, stages {self.native.stages}); "
                "synthesize hints for this workflow"
            )
        self.policy = policy or ("janus" if adapter is not None else "static")
        self.observe = observe
        # a janus.online.Resynthesizer watching this runner's adapter, or None
        self.resynthesizer = resynthesizer
        self.deadline_ms = float(self.native.deadline_ms)
        # a generous default: a call never waits forever, but a slow one is not cut short
        # (capped at the longest wait the pool supports: deadlines of days are legal)
        self.timeout_s = (
            check_timeout(timeout_s)
            if timeout_s is not None
            else min(MAX_TIMEOUT_S, max(30.0, self.deadline_ms / 100))
        )
        self.cost_model = workflow.cost_model
        self._input_of = StageInputs(self.native)
        width = max(sum(self.native.fanout(s) for s in blk) for blk in self.native.blocks)
        self._exec = ThreadPoolExecutor(
            max_workers=max(1, width), thread_name_prefix="janus-runner"
        )
        self._runs = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self._exec.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sizing ----------------------------------------------------------------
    def _choose(
        self, stage: str, elapsed_ms: float, features: list[float] | None, run_key: int | str
    ) -> tuple:
        if self.static is not None:
            return self.static[stage], None, None, False
        # one run key for all the run's stages: a hint set mixing two
        # policies per run then picks one for this run, the same at every stage
        d = self.adapter.decide(stage, elapsed_ms, features=features, run_key=run_key)
        return d.size, d.rule, d.remaining_ms, bool(d.late)

    # -- one run -----------------------------------------------------------------
    def run(self, request: Any, run_key: int | str | None = None) -> RunReport:
        """One run of ``request``. ``run_key``: the adapter's run key (a str,
        as a request or activation id, or an int in 0..2**64), the same for
        every stage; default the run's sequence number. A replay of a keyed
        profile uses ``f"{request key}#{repetition}"``: give that key to
        serve its requests with the same mixture draws."""
        with self._lock:
            run_id = self._runs
            self._runs += 1
        rep = RunReport(run_id, self.policy, 0.0, self.deadline_ms, True)
        outputs: dict[str, Any] = {}
        t0 = time.perf_counter()
        try:
            # Request features are known from the start, for every stage.
            features = self.workflow.request_features(request)
            for block in self.native.blocks:
                futures = []
                for stage in block:
                    arg = self._input_of(stage, request, outputs)
                    elapsed = (time.perf_counter() - t0) * 1000
                    size, rule, remaining, late = self._choose(
                        stage, elapsed, features, run_id if run_key is None else run_key
                    )
                    for k in range(self.native.fanout(stage)):
                        inv = Invocation(
                            stage,
                            k,
                            size,
                            elapsed,
                            0.0,
                            rule=rule,
                            remaining_ms=remaining,
                            late=late,
                            features=features,
                        )
                        futures.append(
                            (stage, inv, self._exec.submit(self._invoke, stage, arg, inv, t0))
                        )
                results: dict[str, list] = {}
                for stage, inv, fut in futures:
                    value = fut.result()  # _invoke never raises for a failed call
                    rep.invocations.append(inv)
                    results.setdefault(stage, []).append(value)
                failed = [i for i in rep.invocations if i.error]
                if failed:
                    rep.ok = False
                    rep.error = f"{failed[0].stage}[{failed[0].instance}]: {failed[0].error}"
                    break
                for stage, vals in results.items():
                    outputs[stage] = vals if self.native.fanout(stage) > 1 else vals[0]
        except JanusError as e:  # adapter or feature errors: the run fails, the runner lives
            rep.ok = False
            rep.error = f"{type(e).__name__}: {e}"
        except Exception as e:  # noqa: BLE001 - a feature callable of the user may raise anything
            rep.ok = False
            rep.error = f"{type(e).__name__}: {e}"
        rep.e2e_ms = (time.perf_counter() - t0) * 1000
        for inv in rep.invocations:
            rep.cost += inv.cost
            rep.cpu_core_s += inv.size.cpu_millis / 1000 * inv.latency_ms / 1000
            rep.gib_s += inv.size.memory_mib / 1024 * inv.latency_ms / 1000
            rep.cpu_used_s += inv.cpu_ms / 1000
        if self.resynthesizer is not None:
            self.resynthesizer.check()  # re-synthesises in the background on drift
        return rep

    def _invoke(self, stage: str, arg: Any, inv: Invocation, t0: float) -> Any:
        inv.start_ms = (time.perf_counter() - t0) * 1000
        try:
            r = self.pool.call(stage, arg, inv.size, timeout_s=self.timeout_s)
        except JanusError as e:
            inv.latency_ms = (time.perf_counter() - t0) * 1000 - inv.start_ms
            inv.error = f"{type(e).__name__}: {str(e).splitlines()[0]}"
            inv.cost = self.cost_model.cost(inv.size, inv.latency_ms)
            log.warning("run: %s", inv.error)
            return None
        inv.latency_ms, inv.cpu_ms, inv.peak_mib = r.latency_ms, r.cpu_ms, r.peak_mib
        inv.throttled_ms, inv.worker = r.throttled, r.worker
        inv.cost = self.cost_model.cost(inv.size, inv.latency_ms)
        if self.adapter is not None and self.observe:
            try:
                self.adapter.observe(stage, inv.size, inv.latency_ms)
            except JanusError as e:
                log.warning("adapter.observe(%s): %s", stage, e)
        return r.value

    # -- a stream -------------------------------------------------------------
    def serve(
        self, requests: Iterable[Any], progress: bool = False, label: str | None = None
    ) -> tuple[list[RunReport], dict]:
        """Run requests one after the other; returns the reports and their summary."""
        requests = list(requests)
        bar = Bar(len(requests), label or f"serving ({self.policy})", enabled=progress)
        reports = []
        try:
            for req in requests:
                r = self.run(req)
                reports.append(r)
                bar.update(1, f"{r.e2e_ms:6.0f} ms {'ok' if r.slo_met else 'MISS'}")
        finally:
            bar.close()
        return reports, summarize(reports)
