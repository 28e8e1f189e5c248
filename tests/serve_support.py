"""Helpers for the tests of ``janus serve`` and the platform glue: a small
workflow with a request feature, and the service run as a real process on a
loopback port (ended by pid)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import janus

SMALL, BIG = janus.Size(1000, 512), janus.Size(8000, 512)
TESTS = Path(__file__).resolve().parent


def feature_workflow() -> tuple[janus.Workflow, janus.Profile]:
    """Workflow "feat": `a` then `b`, deadline 1000 ms at p90, request feature
    "bytes" (the payload's). `a`'s run time depends on it (1-2: ~100 ms at
    SMALL, 11-12: ~950 ms); `b` takes ~400 ms at SMALL, ~100 ms at BIG. 200
    requests, each measured at every stage and size (a keyed profile)."""
    wf = janus.Workflow("feat", deadline_ms=1000, percentile=0.9)
    wf.feature("bytes", lambda p: p["bytes"])
    wf.add("a", [SMALL, BIG])
    wf.add("b", [SMALL, BIG])
    wf.chain("a", "b")
    rng = np.random.default_rng(3)
    x = rng.choice([1.0, 2.0, 11.0, 12.0], 200)
    keys = [f"r{i}" for i in range(200)]
    small = np.where(x < 5, 100.0, 950.0) + rng.uniform(0, 10, 200)
    prof = janus.Profile(["bytes"])
    prof.add("a", SMALL, small, keys=keys, features=x)
    prof.add("a", BIG, small / 3, keys=keys, features=x)
    prof.add("b", SMALL, 400 + rng.uniform(0, 10, 200), keys=keys, features=x)
    prof.add("b", BIG, 100 + rng.uniform(0, 5, 200), keys=keys, features=x)
    return wf, prof


def write_inputs(dir: Path) -> tuple[Path, Path, janus.HintSet]:
    """Save the hint set and its profile; returns (hints file, profile file, hints)."""
    wf, prof = feature_workflow()
    hints = janus.synthesize(wf, prof, buckets=200)
    h, p = dir / "feat.hints.json", dir / "feat.profile.json"
    hints.save(h)
    prof.save(p)
    return h, p, hints


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """``janus serve`` as a child process on 127.0.0.1 (a free port)."""

    def __init__(self, data: Path, *args: str, log: Path | None = None, timeout: float = 30.0):
        self.log = log or data.with_suffix(".stderr")
        self._err = open(self.log, "ab")  # noqa: SIM115 (open while the process runs)
        cmd = [sys.executable, "-m", "janus", "serve", "--data", str(data),
               "--listen", "127.0.0.1:0", *args]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err)
        self.pid = self.proc.pid
        line = self._readline(timeout)
        if "listening on http://" not in line:
            self.kill()
            raise RuntimeError(f"janus serve did not start: {line!r}\n{self.stderr()}")
        self.url = line.split("listening on ")[1].split()[0]

    def _readline(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return ""
        return self.proc.stdout.readline().decode()

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.log.read_text()

    def client(self, workflow: str = "feat") -> janus.AdapterClient:
        return janus.AdapterClient(self.url, workflow)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the service (by pid) and wait for it to exit."""
        os.kill(self.pid, sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._err.close()

    def kill(self) -> None:
        """kill -9, by pid."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._err.close()


def start_failure(data: Path, *args: str, timeout: float = 30.0) -> tuple[int, str]:
    """Run ``janus serve`` expecting it to refuse to start: (exit code, stderr)."""
    cmd = [
        sys.executable,
        "-m",
        "janus",
        "serve",
        "--data",
        str(data),
        "--listen",
        "127.0.0.1:0",
        *args,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    return r.returncode, r.stderr


def wait_http(url: str, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers 200 (bounded)."""
    import urllib.request

    t = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() - t > timeout:
            raise RuntimeError(f"{url} did not come up within {timeout} s")
        time.sleep(0.1)


def run_py(script: Path, *args: str, timeout: float = 120.0, env: dict | None = None) -> dict:
    """Run a helper script in another process; it prints one JSON object."""
    r = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, check=False,
    )  # fmt: skip
    if r.returncode != 0:
        raise RuntimeError(f"{script.name} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout)
