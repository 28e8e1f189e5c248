"""OpenWhisk glue through the real OpenWhisk Python launcher (used in place,
from ../shared/vendor/openwhisk-runtime-python): activations carry
``deadline`` and ``activation_id`` like the runtime sends them; a conductor
built with the glue, driven step by step, routes to the variants the
adapter chose."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import shared_path
from serve_support import TESTS, ServeProcess, feature_workflow, write_inputs

import janus
from janus.openwhisk import (
    activation,
    parse_variant,
    step,
    variant_name,
    wsk_commands,
    wsk_script,
)


@pytest.fixture
def launcher() -> Path:
    """The real launcher, in place: $JANUS_OPENWHISK_LAUNCHER or ../shared/vendor."""
    p = shared_path("JANUS_OPENWHISK_LAUNCHER", "vendor/openwhisk-runtime-python/launcher.py")
    if p is None:
        pytest.skip(
            "the OpenWhisk launcher is not in ../shared/vendor (set JANUS_OPENWHISK_LAUNCHER)"
        )
    return p


class Launcher:
    """One action container's process: the launcher with the action as module
    ``main__``, answers on file descriptor 3, one JSON line per activation."""

    def __init__(self, launcher: Path, code_dir: Path, env: dict[str, str]):
        r, w = os.pipe()
        # The runtime's proxy hands the launcher a pipe as fd 3; so do we.
        boot = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.execv(sys.executable, [sys.executable, sys.argv[2]])"
        path = os.pathsep.join([str(code_dir), str(TESTS), os.environ.get("PYTHONPATH", "")])
        self.log = code_dir / "stderr.log"
        self._err = open(self.log, "ab")  # noqa: SIM115 (open while the process runs)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", boot, str(w), str(launcher)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err,
            pass_fds=(w,), cwd=code_dir,
            env={**os.environ, **env, "PYTHONPATH": path, "__OW_WAIT_FOR_ACK": "1"},
        )  # fmt: skip
        os.close(w)
        self.out = os.fdopen(r, "rb")
        assert self._line(30) == {"ok": True}, self.log.read_text()

    def _line(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.out], [], [], timeout)
        assert ready, f"no answer from the launcher: {self.log.read_text()}"
        return json.loads(self.out.readline())

    def run(self, value: dict, *, activation_id: str, action_name: str, deadline_ms: float) -> dict:
        msg = {
            "value": value,
            "activation_id": activation_id,
            "action_name": action_name,
            "namespace": "guest",
            "deadline": str(int(deadline_ms)),  # the runtime sends strings
            "api_key": "not-a-key",
        }
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()
        return self._line(30)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # the launcher ends at EOF
        self.proc.wait(10)
        self.out.close()
        self._err.close()


def action_dir(tmp: Path, name: str, code: str) -> Path:
    d = tmp / name
    d.mkdir()
    (d / "main__.py").write_text(textwrap.dedent(code))
    return d


STEP = """
import os
import janus
from janus.openwhisk import activation, step

@step(janus.AdapterClient(os.environ["JANUS_URL"], "feat"), "{fn}")
def main(args):
    a = activation()
    return {{**args, "ran": "{fn}", "seen": {{"activation_id": a.activation_id,
            "deadline_ms": a.deadline_ms, "action_name": a.action_name}}}}
"""

CONDUCTOR = """
import os
import janus
from janus.openwhisk import conductor
from serve_support import feature_workflow

wf, _ = feature_workflow()

@conductor(wf, janus.AdapterClient(os.environ["JANUS_URL"], "feat"))
def main(result):
    return {"done": True, "ran": result.get("ran"), "bytes": result["bytes"]}
"""


@contextmanager
def served_step_b(tmp_path: Path, launcher: Path):
    """`janus serve` with the feature workflow's hints, and step `b` in the
    real launcher reporting to it: (service, launcher), both stopped after."""
    h, _, _ = write_inputs(tmp_path)
    s = ServeProcess(tmp_path / "data", "--hints", str(h))
    la = None
    try:
        la = Launcher(
            launcher, action_dir(tmp_path, "b", STEP.format(fn="b")), {"JANUS_URL": s.url}
        )
        yield s, la
    finally:
        if la:
            la.close()
        assert s.stop() == 0


def test_a_wrapped_action_reads_its_activation_and_reports_its_latency(tmp_path, launcher):
    with served_step_b(tmp_path, launcher) as (s, la):
        deadline = time.time() * 1000 + 60_000
        out = la.run({"bytes": 1}, activation_id="0a1b2c", action_name="/guest/b@8000m-512Mi",
                     deadline_ms=deadline)  # fmt: skip
        assert out["ran"] == "b"
        assert out["seen"] == {"activation_id": "0a1b2c", "deadline_ms": float(int(deadline)),
                               "action_name": "/guest/b@8000m-512Mi"}  # fmt: skip
        obs = s.client()._request("GET", "/v1/workflows/feat/observations")
        assert [(w["function"], w["size"]["cpu_millis"], w["count"]) for w in obs["windows"]] == [
            ("b", 8000, 1)
        ]


def test_a_conductor_routes_each_step_to_the_variant_the_adapter_chose(tmp_path, launcher):
    h, _, hints = write_inputs(tmp_path)
    s = ServeProcess(tmp_path / "data", "--hints", str(h))
    env = {"JANUS_URL": s.url}
    cond = la_a = la_b = None
    try:
        cond = Launcher(launcher, action_dir(tmp_path, "conductor", CONDUCTOR), env)
        steps = {
            "a": (la_a := Launcher(launcher, action_dir(tmp_path, "a", STEP.format(fn="a")), env)),
            "b": (la_b := Launcher(launcher, action_dir(tmp_path, "b", STEP.format(fn="b")), env)),
        }
        local = janus.Adapter(hints)
        routes = []
        # A fresh small request, and a large one that arrives with most of its deadline spent.
        for run, (bytes_, spent) in enumerate([(1, 0.0), (12, 700.0)]):
            value = {"bytes": bytes_, "janus_start_ms": time.time() * 1000 - spent}
            deadline = time.time() * 1000 + 60_000
            out = cond.run(
                value, activation_id=f"run{run}", action_name="/guest/feat", deadline_ms=deadline
            )
            for i, fn in enumerate(["a", "b"]):
                st = out["state"]["$janus"]
                assert st["function"] == fn and st["run"]["run_key"] == f"run{run}"
                want = local.decide(fn, st["elapsed_ms"], [float(bytes_)], None, f"run{run}")
                assert out["action"] == f"/guest/{variant_name(fn, want.size)}", (run, fn, st)
                routes.append(out["action"])
                result = steps[fn].run(out["params"], activation_id=f"run{run}-{fn}",
                                       action_name=out["action"], deadline_ms=deadline)  # fmt: skip
                assert "$janus" not in result and result["ran"] == fn
                # OpenWhisk reactivates the conductor on the result with the state added.
                out = cond.run({**result, **out["state"]}, activation_id=f"run{run}-c{i}",
                               action_name="/guest/feat", deadline_ms=deadline)  # fmt: skip
            assert out == {"params": {"done": True, "ran": "b", "bytes": bytes_}}
        assert len(set(routes)) >= 3, f"the runs took different variants: {routes}"
        windows = s.client()._request("GET", "/v1/workflows/feat/observations")["windows"]
        assert sum(w["count"] for w in windows) == 4, "every step reported its latency"
        by_run = {(w["function"], w["size"]["cpu_millis"]) for w in windows}
        assert by_run == {(parse_variant(r)[0], parse_variant(r)[1].cpu_millis) for r in routes}
    finally:
        for la in (cond, la_a, la_b):
            if la:
                la.close()
        assert s.stop() == 0


def test_wsk_commands_create_every_variant_and_the_conductor():
    wf, _ = feature_workflow()
    cmds = wsk_commands(wf, step_files={"a": "a.py", "b": "b.py"}, conductor_name="feat",
                        conductor_file="conductor.py", package="janus", timeout_ms=60_000)  # fmt: skip
    names = [c[3] for c in cmds if c[:3] == ["wsk", "action", "update"]]
    assert names == ["janus/a@1000m-512Mi", "janus/a@8000m-512Mi", "janus/b@1000m-512Mi",
                     "janus/b@8000m-512Mi", "janus/feat"]  # fmt: skip
    a1 = cmds[1]
    assert a1[a1.index("--memory") + 1] == "512" and a1[a1.index("--timeout") + 1] == "60000"
    assert cmds[-1][-2:] == ["conductor", "true"]
    assert wsk_script(cmds).startswith("#!/bin/sh\nset -e\nwsk package update janus\n")
    assert parse_variant("/guest/janus/a@1000m-512Mi") == ("a", janus.Size(1000, 512))
    with pytest.raises(janus.JanusError, match="no code file"):
        wsk_commands(wf, step_files={"a": "a.py"}, conductor_name="c", conductor_file="c.py")


def test_bad_activation_variables_are_named():
    with pytest.raises(janus.JanusError, match="__OW_DEADLINE"):
        activation({"__OW_DEADLINE": "tomorrow"})
    a = activation({"__OW_DEADLINE": "1700000000000", "__OW_ACTIVATION_ID": "x"})
    assert (a.activation_id, a.deadline_ms) == ("x", 1.7e12)


def test_a_carried_run_start_over_a_day_ago_is_named():
    from janus.glue import GlueError, RunContext, now_ms

    where = "step params $janus.run"
    with pytest.raises(GlueError, match=r"\$janus.run: start_ms must be the run's start .* got 0"):
        RunContext.from_dict({"start_ms": 0, "run_key": "k"}, where)
    ctx = RunContext.from_dict({"start_ms": now_ms() - 60_000, "run_key": "k"}, where)
    assert 60_000 <= ctx.elapsed_ms() < 120_000


def test_a_malformed_size_to_report_is_logged_and_the_result_kept(tmp_path, launcher):
    with served_step_b(tmp_path, launcher) as (s, la):
        run = {"start_ms": time.time() * 1000, "run_key": "r"}
        for n, (size, says) in enumerate(
            [
                ({"cpu_millis": "lots", "memory_mib": 512}, "must be integers"),
                ({"cpu_millis": 8000}, "has no memory_mib"),
            ]
        ):
            params = {"bytes": 1, "$janus": {"run": run, "function": "b", "size": size}}
            out = la.run(params, activation_id="0a1b2c", action_name="/guest/b@8000m-512Mi",
                         deadline_ms=time.time() * 1000 + 60_000)  # fmt: skip
            assert out["ran"] == "b" and out["bytes"] == 1, out
            # One line, naming what was malformed; no traceback.
            lines = la.log.read_text().splitlines()
            assert [ln for ln in lines if "could not report" in ln][n:] == [lines[-1]], lines
            assert lines[-1].startswith("janus: could not report the latency of b: ")
            assert "step params $janus.size" in lines[-1] and says in lines[-1], lines[-1]
        windows = s.client()._request("GET", "/v1/workflows/feat/observations")["windows"]
        assert sum(w["count"] for w in windows) == 0


def test_a_step_keeps_its_result_whatever_its_report_meets(tmp_path, caplog):
    """In process (no launcher needed): every malformed size is one warning,
    the result is returned; the function's own errors still propagate."""
    _, _, hints = write_inputs(tmp_path)
    ran = step(janus.Adapter(hints), "b")(lambda p: {"ran": p["x"]})
    run = {"start_ms": time.time() * 1000, "run_key": "r"}
    for size in ["8000m", {"memory_mib": 512}, {"cpu_millis": None, "memory_mib": 512}, {}]:
        caplog.clear()
        assert ran({"x": 1, "$janus": {"run": run, "function": "b", "size": size}}) == {"ran": 1}
        assert len(caplog.records) == 1, caplog.text
        assert "could not report the latency of b: step params $janus.size" in caplog.text
    with pytest.raises(KeyError, match="x"):
        ran({"$janus": {"run": run, "function": "b", "size": {"cpu_millis": 8000}}})
