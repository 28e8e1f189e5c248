"""Speed of ``janus serve`` under loopback load from a second process, next
to the in-process adapter (numbers in docs/benchmarks.md).

    python benches/serve_bench.py [--seconds 10] [--out bench.json]

Starts ``janus serve`` (a process on loopback, with 1 and then 2 worker
threads) on a 10-stage hint set with a request feature, then runs the Rust
load generator (``cargo bench --features serve --bench serve_load``,
another process): open loop at fixed rates over 4 or 8 keep-alive
connections (latency counted from each request's scheduled send time),
closed loop as fast as it answers, and batches of 100 decisions. The
service's CPU time is read from /proc for each scenario. The in-process
``janus.Adapter`` is timed in this process. About three minutes; the load
generator and the service share the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import janus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from serve_support import ServeProcess


def hint_set(dir: Path) -> Path:
    """10 stages x 4 sizes, the first conditioned on a request feature (seed 7)."""
    rng = np.random.default_rng(7)
    sizes = [janus.Size(250 * (k + 1), 512 + 256 * k) for k in range(4)]
    wf = janus.Workflow("bench", deadline_ms=1.0, percentile=0.95)
    prof = janus.Profile()
    deadline = 0.0
    for i in range(10):
        name = f"f{i}"
        if i == 0:
            wf.add(name, sizes, feature=lambda x: x, feature_name="mb")
        else:
            wf.add(name, sizes)
        base = rng.uniform(50, 300)
        x = rng.uniform(1, 12, 60)
        for s in sizes:
            scale = base * (1000 / s.cpu_millis) ** 0.7
            lat = scale * rng.uniform(0.8, 1.2, 60) * np.where(rng.random(60) < 0.2, 2.0, 1.0)
            if i == 0:
                lat = lat * x / 6
            prof.add(name, s, lat, x.tolist() if i == 0 else None)
        deadline += base * (1000 / sizes[1].cpu_millis) ** 0.7
    wf.chain(*[f"f{i}" for i in range(10)])
    hints = janus.synthesize(wf.with_deadline(deadline * 1.8), prof)
    path = dir / "bench.hints.json"
    hints.save(path)
    return path


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy(seconds: float = 2.0) -> float:
    """Share of all cores busy over ``seconds`` while this benchmark is idle:
    other tenants of a shared machine, reported beside the numbers."""

    def times() -> tuple[int, int]:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    t0, i0 = times()
    time.sleep(seconds)
    t1, i1 = times()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def load(addr: str, seconds: float, rate: float, connections: int, batch: int = 0) -> dict:
    cmd = ["cargo", "bench", "--quiet", "--features", "serve", "--bench", "serve_load", "--",
           "--addr", addr, "--workflow", "bench", "--function", "f0", "--features-len", "1",
           "--rate", str(rate), "--seconds", str(seconds), "--connections", str(connections),
           "--batch", str(batch)]  # fmt: skip
    r = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 600, check=False
    )
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def in_process(hints_path: Path, n: int = 200_000) -> dict:
    a = janus.Adapter(janus.HintSet.load(hints_path))
    el = np.random.default_rng(1).uniform(0, 1500, n)
    t = time.perf_counter()
    for e in el[:50_000]:
        a.decide("f0", e, 3.0)
    one = (time.perf_counter() - t) / 50_000
    t = time.perf_counter()
    a.decide_many("f0", el, features=np.full(n, 3.0))
    many = (time.perf_counter() - t) / n
    return {"python_decide_us": one * 1e6, "python_decide_many_ns": many * 1e9}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="service worker threads")
    args = ap.parse_args()
    subprocess.run(["cargo", "bench", "--quiet", "--features", "serve", "--bench", "serve_load", "--no-run"],
                   cwd=ROOT, check=True)  # fmt: skip
    out: dict = {"machine": f"{os.cpu_count()} cpus", "scenarios": []}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        h = hint_set(d)
        out["in_process"] = in_process(h)
        for threads in args.threads:
            s = ServeProcess(d / f"data{threads}", "--hints", str(h), "--threads", str(threads))
            try:
                addr = s.url.removeprefix("http://")
                load(addr, 1.0, 0, 4)  # warm up
                busy = machine_busy()
                print(
                    f"threads {threads}: machine {100 * busy:.0f} % busy before the load",
                    flush=True,
                )
                for rate, conns, batch in [(1000, 4, 0), (5000, 4, 0), (10000, 4, 0), (10000, 8, 0),
                                           (20000, 8, 0), (0, 8, 0), (0, 4, 100)]:  # fmt: skip
                    c0 = cpu_seconds(s.pid)
                    r = load(addr, args.seconds, rate, conns, batch)
                    r["service_threads"] = threads
                    r["machine_busy_before"] = busy
                    r["service_cpu_cores"] = (cpu_seconds(s.pid) - c0) / r["seconds"]
                    out["scenarios"].append(r)
                    print(json.dumps(r), flush=True)
            finally:
                s.stop()
    print(json.dumps(out["in_process"]))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
