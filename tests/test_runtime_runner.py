"""The profiler and the late-binding runner on real cgroups: a small workflow
with a request feature and a fan-out, profiled request by request (keyed),
run with hints synthesized from that real profile and with static sizes."""

from __future__ import annotations

import time

import pytest
from runtime_support import PREFIX, cgroups_or_skip

import janus
from janus.runtime import ProfileReport, Runner, WorkerPool, profile_workflow

S250, S500, S1000 = janus.Size(250, 256), janus.Size(500, 256), janus.Size(1000, 256)


def spin(ms: float) -> None:
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass


def prep(req: dict) -> dict:
    if req.get("explode"):
        raise RuntimeError("bad request")
    spin(req["work"])
    return {"n": req["work"]}


def fan(doc: dict) -> int:
    time.sleep(0.03)
    spin(10)
    return doc["n"]


def merge(parts: list) -> int:
    spin(5)
    return sum(parts)


def make_workflow(deadline_ms: float = 400) -> janus.Workflow:
    wf = janus.Workflow("rt", deadline_ms=deadline_ms, percentile=0.9)
    wf.feature("work", lambda r: r["work"])
    wf.add("prep", [S500, S1000], fn=prep)
    wf.add("fan", [S250, S1000], fn=fan, fanout=2)
    wf.add("merge", [S250, S500], fn=merge)
    wf.chain("prep", "fan", "merge")
    return wf


REQUESTS = [{"work": 20}, {"work": 60}]
SAMPLES = {"prep": REQUESTS, "fan": [{"n": 1}], "merge": [[1, 2]]}


class Recording:
    """An actuator wrapper that logs every apply (worker, cpu, memory)."""

    def __init__(self, inner):
        self.inner = inner
        self.log = []

    def apply(self, worker, cpu, mem):
        self.inner.apply(worker, cpu, mem)
        self.log.append((worker, cpu, mem))

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def pool():
    cgroups_or_skip(PREFIX + "probe")
    wf = make_workflow()
    act = Recording(janus._janus.Actuator.cgroup(pool=PREFIX + "runner"))
    with WorkerPool(wf, actuator=act) as p:
        assert p.size == 2  # the widest block: fan-out 2
        yield p


@pytest.fixture(scope="module")
def profiled(pool):
    wf = make_workflow()
    report = ProfileReport()
    prof = profile_workflow(wf, REQUESTS, repetitions=3, pool=pool, progress=False, report=report)
    return wf, prof, report


def test_profile_measures_every_request_at_every_stage_and_size(profiled):
    wf, prof, report = profiled
    prof.check_covers(wf.native)
    assert prof.is_keyed and prof.feature_names == ["work"]
    for st in wf.stages:
        assert {(s.cpu_millis, s.memory_mib) for s in prof.sizes(st)} == {
            (s.cpu_millis, s.memory_mib) for s in wf.stage(st).options
        }
        for size in wf.stage(st).options:
            # 2 requests x 3 repetitions, every sample with its request's key and feature
            assert sorted(prof.keys(st, size)) == ["r0"] * 3 + ["r1"] * 3
            assert sorted(prof.features(st, size)[:, 0].tolist()) == [20.0] * 3 + [60.0] * 3
    rows = report.to_rows()
    assert len(rows) == 2 * 3 * (2 + 2 + 2) and not report.failures
    assert all(r["cpu_ms"] is not None and r["cpu_ms"] > 0 for r in rows)
    # the 60 ms request is ~3x the 20 ms one (CPU time, robust to load)
    cpu = {r["key"]: r["cpu_ms"] for r in rows if r["function"] == "prep"}
    assert cpu["r1"] > 2 * cpu["r0"]
    # the fan-out stage got prep's real output for each request
    fan_rows = [r for r in rows if r["function"] == "fan"]
    assert {r["key"] for r in fan_rows} == {"r0", "r1"}


def check_report(rep, wf, pool, log_before):
    assert rep.ok, rep.error
    assert [i.stage for i in rep.invocations] == ["prep", "fan", "fan", "merge"]
    applied = pool.actuator.log[log_before:]
    cm = wf.cost_model
    cost = 0.0
    for inv in rep.invocations:
        assert inv.size in wf.stage(inv.stage).options
        # the size reported is the size the actuator applied to that worker for that call
        assert (inv.worker, inv.size.cpu_millis, inv.size.memory_mib) in applied
        cost += cm.cost(inv.size, inv.latency_ms)
    assert rep.cost == pytest.approx(cost)
    assert rep.cpu_core_s == pytest.approx(
        sum(i.size.cpu_millis / 1000 * i.latency_ms / 1000 for i in rep.invocations)
    )
    assert rep.gib_s == pytest.approx(
        sum(i.size.memory_mib / 1024 * i.latency_ms / 1000 for i in rep.invocations)
    )
    assert rep.e2e_ms >= max(i.start_ms + i.latency_ms for i in rep.invocations) - 1


def test_runner_with_synthesized_hints(profiled, pool):
    wf, prof, _ = profiled
    hints = janus.synthesize(wf, prof, min_class_samples=3, confidence=0.5)
    adapter = janus.Adapter(hints)
    with Runner(wf, pool, adapter=adapter) as runner:
        reqs = [{"work": 20}, {"work": 60}, {"work": 20}, {"work": 60}]
        reports = []
        for req in reqs:
            before = len(pool.actuator.log)
            rep = runner.run(req)
            check_report(rep, wf, pool, before)
            # the request's features reach every stage
            assert [i.features for i in rep.invocations] == [[req["work"]]] * 4
            # every size is the adapter's answer to (stage, elapsed, the request's
            # features, the run as run key): the query the replay makes too
            # (src/replay/policy.rs), so both executors share one semantics
            for i in rep.invocations:
                elapsed = wf.deadline_ms - i.remaining_ms
                d = adapter.decide(i.stage, elapsed, features=i.features, run_key=rep.run)
                assert (d.size, d.rule) == (i.size, i.rule), i
            reports.append(rep)
        assert reports[0].invocations[-1].remaining_ms is not None
        # the two fan-out instances ran in parallel, on different workers, at one size
        fan = [i for i in reports[0].invocations if i.stage == "fan"]
        assert fan[0].worker != fan[1].worker and fan[0].size == fan[1].size
        assert abs(fan[0].start_ms - fan[1].start_ms) < 25
    assert adapter.observed == 4 * len(reqs)
    _, summary = Runner(wf, pool, adapter=adapter).serve([{"work": 20}] * 2)
    assert summary["runs"] == 2 and summary["failed"] == 0
    assert summary["policy"] == "janus"


class KeyLog:
    """A real adapter that logs the run key of every decision."""

    def __init__(self, adapter):
        self.inner, self.hints, self.keys = adapter, adapter.hints, []

    def decide(self, stage, elapsed_ms, **kw):
        self.keys.append((stage, kw.get("run_key")))
        return self.inner.decide(stage, elapsed_ms, **kw)

    def observe(self, *a):
        self.inner.observe(*a)


def test_runner_gives_the_run_key_to_every_stage(profiled, pool):
    wf, prof, _ = profiled
    log = KeyLog(janus.Adapter(janus.synthesize(wf, prof, confidence=0.5)))
    with Runner(wf, pool, adapter=log) as runner:
        assert runner.run({"work": 20}, run_key="r7#0").ok
        assert runner.run({"work": 20}).ok  # default: the run's sequence number
        bad = runner.run({"work": 20}, run_key=-1)
    # one decision per stage (not per fan-out instance), the key given or the run id
    assert log.keys[:6] == [("prep", "r7#0"), ("fan", "r7#0"), ("merge", "r7#0")] + [
        ("prep", 1),
        ("fan", 1),
        ("merge", 1),
    ]
    assert not bad.ok and "run_key" in bad.error and not bad.invocations


def test_runner_with_static_sizes(profiled, pool):
    wf, prof, _ = profiled
    static = janus.best_static(wf, prof, confidence=0.5)
    with Runner(wf, pool, static_sizes=static) as runner:  # best_static's dict is accepted
        before = len(pool.actuator.log)
        rep = runner.run({"work": 20})
        check_report(rep, wf, pool, before)
        assert rep.sizes == {s: [static["sizes"][s]] * wf.native.fanout(s) for s in wf.stages}
    fixed = {"prep": S1000, "fan": S250, "merge": S500}
    reports, summary = Runner(wf, pool, static_sizes=fixed).serve([{"work": 20}, {"work": 40}])
    assert all(r.sizes["fan"] == [S250, S250] for r in reports)
    assert summary["slo_attainment"] == sum(r.slo_met for r in reports) / 2
    assert summary["cost"] == pytest.approx(sum(r.cost for r in reports))


def test_failed_call_marks_run_failed_and_runner_goes_on(pool):
    wf = make_workflow()
    fixed = {"prep": S1000, "fan": S250, "merge": S500}
    reports, summary = Runner(wf, pool, static_sizes=fixed).serve(
        [{"work": 10, "explode": True}, {"work": 10}]
    )
    bad, good = reports
    assert not bad.ok and not bad.slo_met and "bad request" in bad.error
    assert [i.stage for i in bad.invocations] == ["prep"]
    assert good.ok and summary["failed"] == 1


def test_runner_rejects_bad_configuration(pool):
    wf = make_workflow()
    with pytest.raises(janus.JanusError, match="either an adapter"):
        Runner(wf, pool)
    with pytest.raises(janus.JanusError, match="no size for"):
        Runner(wf, pool, static_sizes={"prep": S1000})
    with pytest.raises(janus.JanusError, match="at least 10"):
        Runner(wf, pool, static_sizes={"prep": S1000, "fan": janus.Size(0, 256), "merge": S500})


def test_runner_refuses_hints_of_another_workflow(profiled, pool):
    wf, prof, _ = profiled
    hints = janus.synthesize(wf, prof, confidence=0.5)
    # Same name and stages, another deadline: the hints were planned for another SLO.
    with pytest.raises(janus.JanusError, match="another workflow"):
        Runner(make_workflow(deadline_ms=300), pool, adapter=janus.Adapter(hints))


def alloc(mib: int) -> int:
    b = bytearray(mib * 1024 * 1024)
    for i in range(0, len(b), 4096):
        b[i] = 1
    return mib


def test_profiler_records_failures_and_leaves_them_out():
    cgroups_or_skip(PREFIX + "probe")
    wf = janus.Workflow("oomy", deadline_ms=1000)
    tiny, roomy = janus.Size(500, 64), janus.Size(500, 256)
    wf.add("alloc", [tiny, roomy], fn=alloc)
    report = ProfileReport()
    with WorkerPool(wf, size=1, pool_name=PREFIX + "oomy") as pool:
        prof = profile_workflow(
            wf,
            {"alloc": [120]},
            repetitions=2,
            pool=pool,
            progress=False,
            report=report,
            warmup=False,
        )
        assert pool.kind == report.actuator
    assert [(s.cpu_millis, s.memory_mib) for s in prof.sizes("alloc")] == [(500, 256)]
    fails = report.failures
    assert len(fails) == 2 and all(f.error.startswith("WorkerOOMKilled") for f in fails)
    assert {r["memory_mib"] for r in report.summary() if r["failed"]} == {64}


def test_profile_checkpoints_every_request_and_resumes(tmp_path):
    wf = make_workflow()
    ck = tmp_path / "keyed.json"
    first = ProfileReport()
    profile_workflow(wf, REQUESTS[:1], progress=False, report=first, checkpoint=ck, dry_run=True)
    saved = janus.Profile.load(ck)  # what a crash after the first request would leave
    assert saved.keys("prep", S500) == ["r0"]
    again = ProfileReport()
    prof = profile_workflow(
        wf, REQUESTS, progress=False, report=again, checkpoint=ck, resume=True, dry_run=True
    )
    assert {r.key for r in again.rows} == {"r1"}  # r0 was not measured again
    assert sorted(prof.keys("merge", S250)) == ["r0", "r1"]
    assert janus.Profile.load(ck).digest == prof.digest


def test_profile_checkpoints_every_stage_and_resumes(tmp_path):
    wf = make_workflow()
    ck = tmp_path / "profile.json"
    first = ProfileReport()
    profile_workflow(
        wf,
        SAMPLES,
        repetitions=1,
        progress=False,
        report=first,
        stages=["prep"],
        checkpoint=ck,
        dry_run=True,
    )
    saved = janus.Profile.load(ck)  # what a crash after the first stage would leave
    assert saved.functions == ["prep"]
    again = ProfileReport()
    prof = profile_workflow(
        wf,
        SAMPLES,
        repetitions=1,
        progress=False,
        report=again,
        checkpoint=ck,
        resume=True,
        dry_run=True,
    )
    assert {r.function for r in again.rows} == {"fan", "merge"}  # prep was not measured again
    assert sorted(prof.functions) == ["fan", "merge", "prep"]
    assert prof.latencies("prep", S500).tolist() == saved.latencies("prep", S500).tolist()
    assert sorted(janus.Profile.load(ck).functions) == ["fan", "merge", "prep"]
    assert not prof.is_keyed  # per-stage inputs: no requests to key them by


def test_profile_refuses_requests_that_are_not_iterable():
    with pytest.raises(
        janus.runtime.PoolError, match="list \\(or iterable\\) of requests, got int"
    ):
        profile_workflow(make_workflow(), 5, progress=False, dry_run=True)


def test_profile_does_not_resume_another_workflows_profile(tmp_path):
    """--resume on a file of another workflow (or another version of this one)
    is refused before measuring, naming the file and what differs; measuring
    on top of it would save a mix that synthesis refuses."""
    wf = make_workflow()
    ck = tmp_path / "other.json"
    other = janus.Profile(["mib"])
    other.add("prep", janus.Size(2000, 256), [1.0], keys=["r0"], features=[[1.0]])
    other.add("zz", S500, [1.0], keys=["r0"], features=[[1.0]])
    other.save(ck)
    report = ProfileReport()
    with pytest.raises(janus.ProfileError) as e:
        profile_workflow(
            wf, REQUESTS, progress=False, report=report, checkpoint=ck, resume=True, dry_run=True
        )
    msg = str(e.value)
    assert f"cannot resume {ck}" in msg and "'rt'" in msg
    assert "functions zz are not stages (prep, fan, merge)" in msg
    assert "prep has sizes 2000m/256Mi that are not its options" in msg
    assert "features [mib] are not the workflow's [work]" in msg
    assert report.rows == [] and janus.Profile.load(ck).digest == other.digest


def test_profile_failures_are_named_without_a_report_to_see(caplog):
    """The warning names the first error itself: `janus profile` without
    --report keeps no report to "see"."""
    requests = [{"work": 1, "explode": True}, {"work": 1}]
    with caplog.at_level("WARNING", logger="janus.runtime"):
        profile_workflow(make_workflow(), requests, progress=False, warmup=False, dry_run=True)
    (line,) = [r.getMessage() for r in caplog.records if "calls failed" in r.getMessage()]
    assert "see the report" not in line
    assert "2 of 8 calls failed" in line and "RuntimeError: bad request" in line, line
