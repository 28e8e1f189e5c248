"""A second process that drives ``janus serve`` through ``janus.AdapterClient``
(used by tests/test_serve.py; bounded in count and time, loopback only).

    load_client.py URL WORKFLOW calls.json [--threads N] [--seconds S]
        run every call (decide, decide_many, observe) concurrently; print the
        results as JSON, in the order of the calls
    load_client.py URL WORKFLOW --observe-until-error acked.txt N
        observe N distinct latencies one by one, appending the index of each
        acknowledged one to acked.txt (flushed), until N or the first failure
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import janus


def call(c: janus.AdapterClient, op: dict) -> dict:
    try:
        if op["op"] == "decide":
            d = c.decide(op["function"], op["elapsed_ms"], features=op.get("features"),
                         free=op.get("free") and tuple(op["free"]), run_key=op.get("run_key"))  # fmt: skip
            return {"size": [d.size.cpu_millis, d.size.memory_mib], "rule": d.rule,
                    "remaining_ms": d.remaining_ms, "late": d.late, "fits": d.fits,
                    "input_class": d.input_class}  # fmt: skip
        if op["op"] == "decide_many":
            out = c.decide_many(op["function"], np.array(op["elapsed_ms"]),
                                features=np.array(op["features"]))  # fmt: skip
            return {k: v.tolist() for k, v in out.items()}
        if op["op"] == "observe":
            c.observe(
                op["function"], tuple(op["size"]), op["latency_ms"], features=op.get("features")
            )
            return {"ok": True}
        return {"error": f"unknown op {op['op']}"}
    except janus.JanusError as e:
        return {"error": f"{type(e).__name__}: {e}"}


def run_calls(url: str, workflow: str, path: str, threads: int, seconds: float) -> None:
    ops = json.loads(Path(path).read_text())
    c = janus.AdapterClient(url, workflow)
    deadline = time.monotonic() + seconds
    t0 = time.perf_counter()

    def one(op: dict) -> dict:
        if time.monotonic() > deadline:
            return {"error": "not run: time budget spent"}
        return call(c, op)

    with ThreadPoolExecutor(threads) as ex:
        results = list(ex.map(one, ops))
    print(json.dumps({"results": results, "seconds": time.perf_counter() - t0}))


def observe_until_error(url: str, workflow: str, acked: str, n: int) -> None:
    c = janus.AdapterClient(url, workflow, timeout=5.0)
    done = 0
    with open(acked, "a") as f:
        for i in range(n):
            size = (1000, 512) if i % 2 == 0 else (8000, 512)
            try:
                c.observe("b", size, 300.0 + i / 1000.0)
            except janus.JanusError:
                break
            f.write(f"{i}\n")
            f.flush()
            done += 1
    print(json.dumps({"acknowledged": done}))


if __name__ == "__main__":
    url, wf = sys.argv[1], sys.argv[2]
    if sys.argv[3] == "--observe-until-error":
        observe_until_error(url, wf, sys.argv[4], int(sys.argv[5]))
    else:
        args = sys.argv[4:]
        threads = int(args[args.index("--threads") + 1]) if "--threads" in args else 16
        seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 60.0
        run_calls(url, wf, sys.argv[3], threads, seconds)
