"""Knative glue on the real func-python middleware: a Janus router and a
target function, each served by the middleware on a loopback port;
CloudEvents built with the cloudevents SDK go in; the target receives the
run's attributes and the reply carries them on."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from serve_support import TESTS, ServeProcess, feature_workflow, free_port, wait_http, write_inputs

import janus
from janus.glue import GlueError
from janus.knative import pod_of, service_name, services
from janus.kubernetes import validate

pytest.importorskip("func_python", reason="the providers extra (func-python) is not installed")
from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event
from cloudevents.core.v1.event import CloudEvent


class Func:
    """A func-python function process on 127.0.0.1 (ended by pid)."""

    def __init__(self, script: str, env: dict[str, str], log):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(TESTS / script)], stdout=log, stderr=log,
            env={**os.environ, **env, "LISTEN_ADDRESS": f"127.0.0.1:{self.port}",
                 "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])},
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{self.port}/health/readiness")

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def knative(tmp_path):
    h, _, hints = write_inputs(tmp_path)
    s = ServeProcess(tmp_path / "data", "--hints", str(h))
    log = open(tmp_path / "funcs.log", "ab")  # noqa: SIM115 (open while the processes run)
    target = router = None
    try:
        target = Func("knative_target.py", {}, log)
        router = Func("knative_router.py", {"JANUS_URL": s.url,
                                            "TARGET_BASE": f"http://127.0.0.1:{target.port}"}, log)  # fmt: skip
        yield router.port, s, hints
    finally:
        for f in (router, target):
            if f:
                f.stop()
        log.close()
        assert s.stop() == 0


def post(port: int, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", "/", body=body, headers=headers)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def steady_size(
    adapter: janus.Adapter, bytes_: float, key: str, lo: float, hi: float
) -> janus.Size:
    """The adapter's size for `a` anywhere in [lo, hi] ms elapsed (asserted constant)."""
    sizes = {adapter.decide("a", e, [bytes_], None, key).size for e in range(int(lo), int(hi), 5)}
    assert len(sizes) == 1, f"the test needs a budget away from rule boundaries: {sizes}"
    return sizes.pop()


def test_cloudevents_are_routed_to_the_chosen_variant_with_the_run_attributes(knative):
    port, s, hints = knative
    local = janus.Adapter(hints)
    paths = []
    # A large request that already spent 1.2 s (late: fastest size), and a fresh small one.
    for i, (bytes_, spent) in enumerate([(12.0, 1200.0), (1.0, None)]):
        attrs = {"type": "dev.janus.test", "source": "/client", "id": f"ev-{i}"}
        start = None
        if spent is not None:
            start = int(time.time() * 1000 - spent)
            attrs.update({"janusstart": str(start), "janusrunkey": f"run-{i}"})
        msg = to_binary_event(CloudEvent(attributes=attrs, data={"bytes": bytes_}))
        status, headers, body = post(port, dict(msg.headers), msg.body)
        assert status == 200, body
        reply = from_http_event(HTTPMessage(headers=headers, body=body))
        got = reply.get_data()
        ev = got["event"]
        key = f"run-{i}" if spent is not None else f"ev-{i}"
        assert ev["id"] == f"ev-{i}" and ev["janusrunkey"] == key
        assert json.loads(ev["janusfeatures"]) == {"bytes": bytes_}
        if start is not None:
            assert ev["janusstart"] == str(start)
            size = steady_size(local, bytes_, key, spent, spent + 5000)
        else:
            assert abs(int(ev["janusstart"]) - time.time() * 1000) < 30_000
            size = steady_size(local, bytes_, key, 0, 300)
        assert got["path"] == "/" + service_name("a", size)
        assert headers["janus-size"] == f"{size.cpu_millis}m/{size.memory_mib}Mi"
        # The reply carries the run on to the next step.
        ra = reply.get_attributes()
        assert ra["janusrunkey"] == key and ra["janusstart"] == ev["janusstart"]
        paths.append(got["path"])
    assert len(set(paths)) == 2, f"the two requests took different variants: {paths}"
    windows = s.client()._request("GET", "/v1/workflows/feat/observations")["windows"]
    assert sum(w["count"] for w in windows if w["function"] == "a") == 2, "latency reported"


def test_plain_http_carries_the_run_in_headers(knative):
    port, _, hints = knative
    start = int(time.time() * 1000 - 50)
    status, headers, body = post(
        port,
        {"content-type": "application/json", "janus-start-ms": str(start), "janus-run-key": "r-9"},
        json.dumps({"bytes": 1}).encode(),
    )
    assert status == 200, body
    got = from_http_event(HTTPMessage(headers=headers, body=body)).get_data()
    h = got["headers"]
    assert (h["janus-start-ms"], h["janus-run-key"]) == (str(start), "r-9")
    assert json.loads(h["janus-features"]) == {"bytes": 1.0}
    assert json.loads(got["body"]) == {"bytes": 1}
    size = steady_size(janus.Adapter(hints), 1.0, "r-9", 50, 300)
    assert got["path"] == "/" + service_name("a", size)


def test_a_malformed_run_attribute_is_a_clear_error(knative):
    port, _, _ = knative
    msg = to_binary_event(CloudEvent(
        attributes={"type": "t", "source": "/c", "id": "x", "janusstart": "yesterday"}, data={"bytes": 1}))  # fmt: skip
    status, _, body = post(port, dict(msg.headers), msg.body)
    assert status == 400
    assert "janusstart must be epoch milliseconds" in json.loads(body)["error"]["message"]


def test_variant_services_are_valid_kubernetes_pods():
    wf, _ = feature_workflow()
    svcs = services(wf, "registry.example/feat-{fn}:1".format(fn="x"), namespace="fns")
    assert [s["metadata"]["name"] for s in svcs] == [
        "a-1000m-512mi", "a-8000m-512mi", "b-1000m-512mi", "b-8000m-512mi"]  # fmt: skip
    for svc in svcs:
        assert svc["spec"]["template"]["spec"]["containerConcurrency"] == 1
        assert validate(pod_of(svc)) == "1.35"
    assert service_name("Big_Step.v2", janus.Size(250, 128)) == "big-step-v2-250m-128mi"


def test_without_an_adapter_the_router_uses_its_fallback_or_says_503(tmp_path):
    import asyncio

    from serve_support import BIG

    from janus.knative import Router

    with open(tmp_path / "target.log", "ab") as log:
        target = Func("knative_target.py", {}, log)
        try:
            gone = janus.AdapterClient(
                "http://127.0.0.1:9", "feat", timeout=2
            )  # nothing listens there
            base = f"http://127.0.0.1:{target.port}/{{service}}"

            async def call(router: Router) -> tuple[int, dict, bytes]:
                sent: list[dict] = []
                body = [{"type": "http.request", "body": b'{"bytes": 1}', "more_body": False}]

                async def receive() -> dict:
                    return body.pop(0)

                async def send(m: dict) -> None:
                    sent.append(m)

                scope = {"type": "http", "headers": [(b"content-type", b"application/json")]}
                await router.handle(scope, receive, send)
                return (
                    sent[0]["status"],
                    {k.decode(): v.decode() for k, v in sent[0]["headers"]},
                    sent[1]["body"],
                )

            status, headers, _ = asyncio.run(call(Router("a", gone, base, fallback=BIG)))
            assert (status, headers["janus-size"]) == (200, "8000m/512Mi")
            status, _, body = asyncio.run(call(Router("a", gone, base)))
            assert status == 503 and "ServeError" in json.loads(body)["error"]["kind"]
            # The router's own targets are its fault, not the caller's: a 500.
            ftp = Router("a", gone, lambda size: "ftp://x/", fallback=BIG)
            status, _, body = asyncio.run(call(ftp))
            err = json.loads(body)["error"]
            assert status == 500 and err["kind"] == "TargetError", err
            assert "must be http://HOST[:PORT]/..., got 'ftp://x/'" in err["message"], err
        finally:
            target.stop()


def test_a_caller_body_the_features_cannot_be_read_from_is_a_400_naming_it(knative):
    port, _, _ = knative
    j = {"content-type": "application/json"}
    ce = {"ce-specversion": "1.0", "ce-id": "e1", "ce-source": "/c", "ce-type": "t"}
    for headers, body, says in [
        (j, b'{"size": 1}', "the body has no 'bytes'"),  # the router's extractor reads "bytes"
        ({"content-type": "text/plain"}, b"hello", "the body is not JSON"),
        (j, b"", "the body is empty"),
        ({**j, **ce}, b'{"size": 1}', "CloudEvent e1: the body has no 'bytes'"),
        ({**j, "ce-specversion": "1.0", "ce-id": "e2"}, b"{}", "not a valid CloudEvent"),
        # The SDK would make an id up, and the run key falls back to it.
        (
            {**j, "ce-specversion": "1.0", "ce-source": "/c", "ce-type": "t"},
            b'{"bytes": 1}',
            "a CloudEvent must have an id",
        ),
        (
            {"content-type": "application/cloudevents+json"},
            json.dumps({"specversion": "1.0", "source": "/c", "type": "t", "data": {"bytes": 1}}),
            "a CloudEvent must have an id",
        ),
    ]:
        status, h, out = post(port, headers, body)
        assert (status, h["content-type"]) == (400, "application/json"), (body, out)
        err = json.loads(out)["error"]
        assert err["kind"] == "GlueError" and says in err["message"], err
    # The router is still serving: the errors were answers, not crashes.
    status, _, out = post(port, j, json.dumps({"bytes": 1}).encode())
    assert status == 200, out


def test_plain_http_errors_name_the_header_the_caller_sent(knative):
    port, _, _ = knative
    j = {"content-type": "application/json"}
    for header, value in [
        ("janus-start-ms", "yesterday"),
        ("janus-start-ms", "0"),  # 1970: not this run's start (was the adapter's wording)
        ("janus-features", "{bytes:1"),
    ]:
        status, _, out = post(port, {**j, header: value}, b'{"bytes": 1}')
        message = json.loads(out)["error"]["message"]
        assert status == 400 and message.startswith(f"request: {header} "), message
        assert "janusstart" not in message and "janusfeatures" not in message


def test_a_variant_that_cannot_be_reached_is_a_502(tmp_path):
    h, _, _ = write_inputs(tmp_path)
    s = ServeProcess(tmp_path / "data", "--hints", str(h))
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    try:
        with open(tmp_path / "router.log", "ab") as log:
            router = Func("knative_router.py", {"JANUS_URL": s.url, "TARGET_BASE": nobody}, log)
            try:
                status, headers, out = post(
                    router.port, {"content-type": "application/json"}, b'{"bytes": 1}'
                )
            finally:
                router.stop()
        assert (status, headers["content-type"]) == (502, "application/json"), out
        err = json.loads(out)["error"]
        assert err["kind"] == "VariantError", err
        assert f"the variant at {nobody}/a-" in err["message"], err
        assert "could not be reached: ConnectionRefusedError" in err["message"], err
        windows = s.client()._request("GET", "/v1/workflows/feat/observations")["windows"]
        assert sum(w["count"] for w in windows) == 0, "no latency was reported"
    finally:
        assert s.stop() == 0


def test_a_router_with_unusable_targets_is_refused_when_made():
    from janus.knative import Router, TargetError

    for targets, says in [
        ("ftp://{service}/", "must be http://HOST[:PORT]/..., got 'ftp://a-1000m-512mi/'"),
        ("http://{servce}/", "cannot be filled (KeyError: 'servce')"),
        ({janus.Size(1000, 512): "localhost:8080"}, "got 'localhost:8080'"),
    ]:
        with pytest.raises(TargetError, match=re.escape(says)):
            Router("a", None, targets)


def test_services_refuse_two_steps_that_would_share_a_service_name():
    wf = janus.Workflow("x", deadline_ms=1000, percentile=0.9)
    wf.add("load_data", [janus.Size(500, 256)])
    wf.add("load-data", [janus.Size(500, 256)])
    wf.chain("load_data", "load-data")
    with pytest.raises(GlueError, match="'load_data' and 'load-data'.*'load-data-500m-256mi'"):
        services(wf, "img")
