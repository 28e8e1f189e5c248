"""``janus serve`` as a real process on a loopback port, driven from another
process: answers equal the in-process adapter's, bad input is a JSON 4xx
and leaves the service healthy, acknowledged observations survive kill -9."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from serve_support import BIG, SMALL, TESTS, ServeProcess, run_py, start_failure, write_inputs

import janus
from janus import AdapterError, ServeError


@pytest.fixture
def served(tmp_path):
    h, p, hints = write_inputs(tmp_path)
    s = ServeProcess(tmp_path / "data", "--hints", str(h), "--profile", str(p))
    yield s, hints, tmp_path
    if s.proc.poll() is None:
        assert s.stop() == 0, s.stderr()


def in_process(adapter: janus.Adapter, op: dict) -> dict:
    """What the in-process adapter answers for the same call."""
    free = op.get("free") and janus.Size(*op["free"])
    d = adapter.decide(
        op["function"], op["elapsed_ms"], op.get("features"), free, op.get("run_key")
    )
    return {"size": [d.size.cpu_millis, d.size.memory_mib], "rule": d.rule,
            "remaining_ms": d.remaining_ms, "late": d.late, "fits": d.fits,
            "input_class": d.input_class}  # fmt: skip


def test_concurrent_load_from_another_process_equals_the_in_process_adapter(served):
    s, hints, tmp = served
    rng = np.random.default_rng(11)
    ops = []
    for i in range(1500):
        op = {"op": "decide", "function": str(rng.choice(["a", "b"])),
              "elapsed_ms": float(rng.uniform(0, 1300))}  # fmt: skip
        x = float(rng.choice([1.0, 2.0, 11.0, 12.0]))
        op["features"] = {"bytes": x} if i % 3 == 0 else ([x] if i % 3 == 1 else None)
        if i % 4 == 0:
            op["run_key"] = f"activation-{i}"
        elif i % 4 == 1:
            op["run_key"] = i
        if i % 5 == 0:
            op["free"] = [int(rng.choice([500, 2000, 9000])), 4096]
        ops.append(op)
    n_obs = 200
    ops += [{"op": "observe", "function": "b", "size": [SMALL.cpu_millis, SMALL.memory_mib],
             "latency_ms": 400.0 + i, "features": {"bytes": 1.0}} for i in range(n_obs)]  # fmt: skip
    el = rng.uniform(0, 1300, 50)
    fx = rng.choice([1.0, 12.0], 50)
    ops.append(
        {"op": "decide_many", "function": "a", "elapsed_ms": el.tolist(), "features": fx.tolist()}
    )
    calls = tmp / "calls.json"
    calls.write_text(json.dumps(ops))
    out = run_py(
        TESTS / "load_client.py", s.url, "feat", str(calls), "--threads", "16", "--seconds", "90"
    )
    results = out["results"]
    errors = [r for r in results if "error" in r]
    assert errors == [], errors[:5]
    a = janus.Adapter(hints)
    for op, got in zip(ops, results):
        if op["op"] == "decide":
            assert got == in_process(a, op), op
    many = results[-1]
    want = a.decide_many("a", el, features=fx)
    # The client's batch answers what the in-process one does, key for key.
    assert set(many) == set(want)
    for k in want:
        assert many[k] == want[k].tolist(), k
    c = s.client()
    assert c.observed == n_obs, "every acknowledged observation is in the windows"
    assert len({tuple(r["size"]) for op, r in zip(ops, results) if op["op"] == "decide"}) == 2
    metrics = http_get(s.url, "/metrics")[1]
    total = sum(
        float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
        if line.startswith("janus_decisions_total{")
    )  # fmt: skip
    assert total == 1500 + 50
    assert (
        'janus_observed_latency_ms_count{workflow="feat",function="b",size="1000m/512Mi"} 200'
        in metrics
    )


def http_get(url: str, path: str) -> tuple[int, str]:
    return http_raw(url, "GET", path, b"")


def http_raw(
    url: str, method: str, path: str, body: bytes, headers: dict | None = None
) -> tuple[int, str]:
    host, port = url.removeprefix("http://").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


D = "/v1/workflows/feat/decide"
BAD = [
    # (what, method, path, body, status, error kind, part of the message)
    ("malformed JSON", "POST", D, b'{"function": "a", ', 400, "bad_request", "malformed JSON"),
    ("wrong type", "POST", D, b'{"function": "a", "elapsed_ms": "late"}', 400, "bad_request", "elapsed_ms"),
    ("unknown field", "POST", D, b'{"function": "a", "elapsed": 3}', 400, "bad_request", "unknown field"),
    ("unknown workflow", "POST", "/v1/workflows/nope/decide", b'{"function": "a", "elapsed_ms": 1}', 404,
     "unknown_workflow", "unknown workflow 'nope'"),
    ("unknown function", "POST", D, b'{"function": "zz", "elapsed_ms": 1}', 400, "adapter", "unknown function 'zz'"),
    ("NaN", "POST", D, b'{"function": "a", "elapsed_ms": NaN}', 400, "bad_request", "malformed JSON"),
    ("infinity", "POST", D, b'{"function": "a", "elapsed_ms": 1e999}', 400, "bad_request", "out of range"),
    ("negative time", "POST", D, b'{"function": "a", "elapsed_ms": -4}', 400, "adapter", "elapsed_ms"),
    ("absurd time", "POST", D, b'{"function": "a", "elapsed_ms": 1e15}', 400, "bad_request", "one day"),
    ("absurd latency", "POST", "/v1/workflows/feat/observe",
     b'{"function": "a", "size": {"cpu_millis": 1000, "memory_mib": 512}, "latency_ms": 9e12}', 400,
     "bad_request", "one day"),
    ("bad features", "POST", D, b'{"function": "a", "elapsed_ms": 1, "features": {"size": 1}}', 400,
     "bad_request", "unknown feature 'size'"),
    ("negative run key", "POST", D, b'{"function": "a", "elapsed_ms": 1, "run_key": -1}', 400,
     "bad_request", "negative"),
    ("oversized body", "POST", D, b'{"function": "a", "elapsed_ms": 1, "pad": "' + b"x" * (2 << 20) + b'"}',
     413, "too_large", "larger than"),
    ("oversized batch", "POST", "/v1/workflows/feat/decide_batch",
     json.dumps({"requests": [{"function": "a", "elapsed_ms": 1}] * 10001}).encode(), 413, "too_large",
     "at most 10000"),
    ("empty body", "POST", D, b"", 400, "bad_request", "empty"),
    ("unknown size field", "POST", "/v1/workflows/feat/observe",
     b'{"function": "a", "size": {"cpu_millis": 1000, "memory_mib": 512, "gpu": 1}, "latency_ms": 9}', 400,
     "bad_request", "unknown field `gpu`"),
    ("trailing garbage", "POST", D, b'{"function": "a", "elapsed_ms": 1} {"x": 2}', 400, "bad_request",
     "trailing characters"),
    ("bad hint set", "PUT", "/v1/workflows/feat/hints", b'{"schema_version": 2, "hints": []}', 400, "hints",
     "not a valid hint set"),
    ("wrong method", "DELETE", D, b"", 405, "method_not_allowed", "DELETE"),
    ("no such route", "GET", "/v2/anything", b"", 404, "not_found", "/v2/anything"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_a_json_4xx_and_the_service_stays_healthy(served, case):
    s, _, _ = served
    _, method, path, body, status, kind, msg = case
    got, text = http_raw(s.url, method, path, body)
    err = json.loads(text)["error"]
    assert (got, err["kind"]) == (status, kind), text
    assert msg in err["message"], text
    assert http_get(s.url, "/health")[0] == 200


def test_hostile_clients_burst_and_slowloris_leave_it_serving(tmp_path):
    h, _, _ = write_inputs(tmp_path)
    s = ServeProcess(tmp_path / "data", "--hints", str(h), "--read-timeout", "1")
    try:
        rss0 = rss_kib(s.pid)
        # Slow clients: partial headers, then nothing.
        slow = [
            socket.create_connection(("127.0.0.1", int(s.url.rsplit(":", 1)[1]))) for _ in range(20)
        ]
        for c in slow:
            c.sendall(b"POST /v1/workflows/feat/decide HTTP/1.1\r\nhost: x\r\n")
        # A burst of concurrent requests, half of them bad, some oversized.
        body_ok = b'{"function": "a", "elapsed_ms": 10, "features": [1]}'
        bodies = [body_ok, b"{bad", b'{"function": "a", "elapsed_ms": -1}', b"x" * (2 << 20)]
        statuses: list[int] = []
        cut: list[int] = []  # oversized uploads the service hung up on before reading them all
        lock = threading.Lock()

        def hit(i: int) -> None:
            body = bodies[i % len(bodies)]
            try:
                st, _ = http_raw(s.url, "POST", D, body)
            except (BrokenPipeError, ConnectionResetError):
                # The 413 can come (and the socket close) while the client is
                # still sending 2 MiB: a refusal too, but only for that body.
                with lock:
                    cut.append(len(body))
                return
            with lock:
                statuses.append(st)

        threads = [threading.Thread(target=hit, args=(i,)) for i in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(statuses) + len(cut) == len(threads), "every request answered or refused"
        assert set(cut) <= {len(bodies[3])}, "only oversized uploads may be cut off"
        assert sorted(set(statuses)) == [200, 400, 413], set(statuses)
        assert statuses.count(200) == 50
        assert http_get(s.url, "/health")[0] == 200, "served while slow clients hang"
        t0 = time.monotonic()
        for c in slow:
            c.settimeout(10)
            assert c.recv(4096) is not None  # EOF or a 408: the service hung up
            c.close()
        assert time.monotonic() - t0 < 10, "slow clients are cut off after --read-timeout"
        grown = rss_kib(s.pid) - rss0
        assert grown < 64 * 1024, f"memory grew by {grown} KiB under the burst"
    finally:
        assert s.stop() == 0


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_kill_9_after_acknowledged_observations_loses_none(tmp_path):
    h, _, _ = write_inputs(tmp_path)
    data = tmp_path / "data"
    s = ServeProcess(data, "--hints", str(h))
    acked = tmp_path / "acked.txt"
    acked.touch()
    load = subprocess.Popen(
        [sys.executable, str(TESTS / "load_client.py"), s.url, "feat", "--observe-until-error",
         str(acked), "100000"], stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    t0 = time.monotonic()
    while len(acked.read_text().split()) < 300 and time.monotonic() - t0 < 60:
        time.sleep(0.02)
    s.kill()  # kill -9 while observations are in flight
    out, _ = load.communicate(timeout=60)
    n = json.loads(out)["acknowledged"]
    assert n >= 300
    s2 = ServeProcess(data, "--hints", str(h))
    try:
        assert "observations restored from the log" in s2.stderr()
        restored = s2.client().observed_profile()
        have = set(restored.latencies("b", SMALL).tolist()) | set(
            restored.latencies("b", BIG).tolist()
        )
        lost = [i for i in map(int, acked.read_text().split()) if 300.0 + i / 1000.0 not in have]
        assert lost == [], f"{len(lost)} acknowledged observations lost, e.g. {lost[:5]}"
    finally:
        assert s2.stop() == 0


def test_the_client_has_the_adapters_methods(served):
    s, hints, _ = served
    c = s.client()
    local = janus.Adapter(hints)
    d = c.decide("a", 100.0, features={"bytes": 12.0}, free=(2000, 1024), run_key="r-1")
    want = local.decide("a", 100.0, [12.0], janus.Size(2000, 1024), "r-1")
    assert (d.size, d.rule, d.late, d.fits, d.input_class) == (
        want.size, want.rule, want.late, want.fits, want.input_class)  # fmt: skip
    assert c.hints == hints
    for x in (800.0, 820.0, 840.0):
        c.observe("b", SMALL, x)
        local.observe("b", SMALL, x)
    assert c.observed == local.observed == 3
    prof = janus.Profile.from_samples({("b", SMALL): [410.0]})
    assert c.drift(prof, 3) == local.drift(prof, 3)
    assert c.drift_by_function(prof, 3) == pytest.approx(local.drift_by_function(prof, 3))
    assert c.observed_profile().latencies("b", SMALL).tolist() == [800.0, 820.0, 840.0]
    with pytest.raises(AdapterError, match="unknown function 'zz'"):
        c.decide("zz", 1.0)
    with pytest.raises(AdapterError, match="NaN or infinity"):
        c.decide("a", float("nan"))
    with pytest.raises(AdapterError, match="run_key"):
        c.decide("a", 1.0, run_key=-3)
    # A swap through the client: new generation, windows emptied.
    wf, prof2 = _slower_b()
    new = janus.synthesize(wf, prof2, buckets=200)
    c.swap(new)
    assert c.hints == new and c.observed == 0

    # The same hint set again (a retried PUT) changes nothing: the windows stay.
    def generation() -> int:
        return json.loads(http_get(s.url, "/v1/workflows")[1])["workflows"][0]["generation"]

    c.observe("b", SMALL, 800.0)
    before = generation()
    c.swap(new)
    assert c.observed == 1 and generation() == before
    with pytest.raises(AdapterError, match="for workflow 'other'"):
        c.swap(_other_workflow_hints())
    with pytest.raises(ServeError, match="unknown workflow"):
        janus.AdapterClient(s.url, "nope").decide("a", 1.0)
    with pytest.raises(ServeError, match="Connection refused|connect"):
        janus.AdapterClient("http://127.0.0.1:9", "feat", timeout=2).decide("a", 1.0)


def _slower_b():
    from serve_support import feature_workflow

    wf, prof = feature_workflow()
    return wf, prof.scaled({"b": 1.5})


def _other_workflow_hints() -> janus.HintSet:
    wf = janus.Workflow("other", deadline_ms=500, percentile=0.9)
    wf.add("x", [SMALL])
    return janus.synthesize(
        wf, janus.Profile.from_samples({("x", SMALL): [10.0, 12.0]}), buckets=50
    )


def test_a_baseline_put_over_the_api_is_kept_across_restarts_and_must_fit(tmp_path):
    """A new user's finding: a baseline PUT to /profile was acknowledged and
    written, then dropped at the next start (only a profile whose digest the
    hints name was kept); another workflow's profile was taken as a baseline
    (and as a drift query) and drift read "none" ever after."""
    h, p, hints = write_inputs(tmp_path)
    data = tmp_path / "data"
    baseline = janus.Profile.load(p).scaled({"b": 1.1})  # not the hints' own profile
    other = janus.Profile.from_samples({("x", SMALL): [10.0, 12.0]})
    s = ServeProcess(data, "--hints", str(h))
    try:
        assert not json.loads(http_get(s.url, "/v1/workflows")[1])["workflows"][0][
            "has_baseline_profile"
        ]
        put = "/v1/workflows/feat/profile"
        status, body = http_raw(s.url, "PUT", put, other.to_json().encode())
        assert status == 400 and "not a baseline for workflow 'feat'" in body, body
        assert "function 'x' is not a stage" in body, body
        status, body = http_raw(
            s.url,
            "POST",
            "/v1/workflows/feat/drift",
            json.dumps({"profile": json.loads(other.to_json())}).encode(),
        )
        assert status == 400 and "function 'x' is not a stage" in body, body
        with pytest.raises(janus.ProfileError, match="function 'x' is not a stage"):
            janus.Adapter(hints).drift(other)
        status, body = http_raw(s.url, "PUT", put, baseline.to_json().encode())
        assert status == 200 and json.loads(body)["profile_digest"] == baseline.digest, body
    finally:
        assert s.stop() == 0, s.stderr()
    s = ServeProcess(data, "--hints", str(h))
    try:
        status, body = http_get(s.url, "/v1/workflows/feat/profile")
        assert status == 200 and janus.Profile.from_json(body).digest == baseline.digest
    finally:
        assert s.stop() == 0, s.stderr()
    # A --profile no hint set was synthesized from is said to be unused.
    other.save(tmp_path / "other.json")
    s = ServeProcess(tmp_path / "d2", "--hints", str(h), "--profile", str(tmp_path / "other.json"))
    try:
        assert "other.json: no hint set served was synthesized from it" in s.stderr()
    finally:
        assert s.stop() == 0, s.stderr()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_it_cleanly(tmp_path, sig):
    h, _, _ = write_inputs(tmp_path)
    s = ServeProcess(tmp_path / "data", "--hints", str(h))
    c = s.client()
    c.observe("b", SMALL, 400.0)
    assert s.stop(sig) == 0
    assert "stopping" in s.stderr()
    # The data folder's lock went with it: it starts again on the same folder.
    s2 = ServeProcess(tmp_path / "data", "--hints", str(h))
    assert s2.client().observed == 1
    assert s2.stop() == 0


def test_it_refuses_to_start_on_bad_settings_and_never_follows_symlinks(tmp_path):
    h, _, _ = write_inputs(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    os.symlink(outside / "victim.log", data / "observations.log")
    rc, err = start_failure(data, "--hints", str(h))
    assert rc == 1 and "symlink" in err, err
    assert not (outside / "victim.log").exists(), "nothing written through the link"
    os.unlink(data / "observations.log")
    os.rmdir(data / "hints")
    os.symlink(outside, data / "hints")
    rc, err = start_failure(data, "--hints", str(h))
    assert rc == 1 and "symlink" in err, err
    assert list(outside.iterdir()) == []
    rc, err = start_failure(tmp_path / "d2", "--hints", str(tmp_path / "feat.profile.json"))
    assert rc == 1 and "HintError" in err and "schema_version" in err, err
    rc, err = start_failure(tmp_path / "d3")
    assert rc == 1 and "no hint set" in err, err
    # A setting out of range is a bad command line (exit 2) naming its flag.
    rc, err = start_failure(tmp_path / "d4", "--hints", str(h), "--window", "0")
    assert rc == 2 and "argument --window: must be at least 1, got 0" in err, err
    # A thread count no machine gives was spawned until the OS refused (a
    # new user's typo took the whole machine's thread limit); a negative one
    # was pyo3's OverflowError.
    rc, err = start_failure(tmp_path / "d4", "--hints", str(h), "--threads", "100000")
    assert rc == 2 and "argument --threads: must be in 1..=1024, got 100000" in err, err
    rc, err = start_failure(tmp_path / "d4", "--hints", str(h), "--threads", "-1")
    assert rc == 2 and "argument --threads: must be at least 1, got -1" in err, err
    for flag in ("--drift-every", "--read-timeout"):
        rc, err = start_failure(tmp_path / "d4", "--hints", str(h), flag, "0")
        assert rc == 2 and f"argument {flag}: must be a positive number of seconds" in err, err
    rc, err = start_failure(tmp_path / "d4", "--hints", str(h), "--resynth", "--threshold", "1")
    assert rc == 2 and "argument --threshold: must be a ratio > 1, got 1.0" in err, err
    rc, err = start_failure(tmp_path / "d4", "--hints", str(h), "--listen", "localhost")
    assert rc == 2 and "argument --listen: must be HOST:PORT with an IP address" in err, err
    # From Python the setting is an attribute (None on every other ServeError).
    for kw, name in [({"threads": 0}, "threads"), ({"drift_every_s": -1.0}, "drift_every")]:
        with pytest.raises(ServeError, match=f"serve: {name} must be") as e:
            janus._janus.serve([str(h)], str(tmp_path / "d6"), **kw)
        assert e.value.setting == name
    with pytest.raises(ServeError, match="no hint set") as e:
        janus._janus.serve([], str(tmp_path / "d7"))
    assert e.value.setting is None
    # One service per data folder.
    s = ServeProcess(tmp_path / "d5", "--hints", str(h))
    try:
        rc, err = start_failure(tmp_path / "d5", "--hints", str(h))
        assert rc == 1 and "in use by another janus serve" in err, err
    finally:
        assert s.stop() == 0
