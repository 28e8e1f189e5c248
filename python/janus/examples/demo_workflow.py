"""The reference workflow of ``janus demo``: three stages that behave like real
serverless functions on a small machine, all driven by the request's size.

Requests carry a payload of ``kb`` kilobytes: most are small (0.5-1.5 MB),
30 % are large (3-5 MB). ``kb`` is the workflow's request feature: it is
known when a run starts, recorded on every profiled sample and given to the
adapter at every stage.

1. ``parse``: fetch (a short wait) then compress the payload: single-threaded
   CPU work in proportion to ``kb``, so more than 1000 millicores does not
   help it.
2. ``transform``: hashing in proportion to ``kb``, a serial part and a part
   spread over two threads (``hashlib.sha256`` on large buffers releases the
   GIL), so it really uses two cores at 2000 millicores and speeds up
   sublinearly.
3. ``store``: fanned out to two instances that mostly wait (an I/O-like
   sleep) with a small CPU part in proportion to ``kb``: small sizes are
   cheap and barely slower.

Late binding pays off because only the large requests need ``transform`` at
2000 millicores, and the request's size says which ones they are before the
first stage runs; static sizing must pay for it on every request.

``workflow`` and ``sample_requests`` are what ``janus profile`` expects of a
workflow module; ``make_requests`` draws the request stream of the demo.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import zlib

from janus import Workflow, sizes

DEADLINE_MS = 1500.0
SMALL_KB = (500, 1500)  # payload size ranges of the two request kinds
LARGE_KB = (3000, 5000)
LARGE_SHARE = 0.3

_BUF = bytes(range(256)) * (4 * 4096)  # 4 MiB, hashed again and again as CPU work


def _hash_mb(mb: float) -> str:
    """About ``mb`` MB of SHA-256: pure CPU, GIL released, ~2 ms/MB on a modern core."""
    h = hashlib.sha256()
    whole, part = divmod(max(mb, 0.0), 4.0)
    for _ in range(int(whole)):
        h.update(_BUF)
    h.update(_BUF[: int(part * 1024 * 1024)])
    return h.hexdigest()


def payload_kb(request: dict) -> float:
    """The request feature: the payload size in KB."""
    return float(request["kb"])


workflow = Workflow("demo", deadline_ms=DEADLINE_MS, percentile=0.9)
workflow.feature("kb", payload_kb)


@workflow.function(options=sizes([500, 1000], 256))
def parse(request: dict) -> dict:
    time.sleep(0.015)  # fetch the payload
    payload = random.Random(request["seed"]).randbytes(int(request["kb"] * 1024))
    packed = b""
    for level in (1, 3, 6, 9):  # try every level, keep the smallest (CPU in proportion to kb)
        c = zlib.compress(payload, level)
        packed = c if not packed or len(c) < len(packed) else packed
    return {
        "id": request.get("id", 0),
        "kb": request["kb"],
        "packed": len(packed),
        "digest": hashlib.sha256(packed).hexdigest()[:16],
    }


@workflow.function(options=sizes([500, 1000, 2000], 512))
def transform(doc: dict) -> dict:
    mb = doc["kb"] / 1024
    serial = _hash_mb(60 * mb)  # the part that does not parallelise
    out: list[str] = ["", ""]

    def half(i: int) -> None:
        out[i] = _hash_mb(120 * mb)

    threads = [threading.Thread(target=half, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**doc, "features": hashlib.sha256((serial + "".join(out)).encode()).hexdigest()[:16]}


@workflow.function(options=sizes([250, 500, 1000], 256), fanout=2)
def store(doc: dict) -> str:
    time.sleep(0.06)  # the round trip to a storage service
    return _hash_mb(doc["kb"] / 1024 * 2)[:12]


workflow.chain(parse, transform, store)


def make_requests(n: int, seed: int = 0) -> list[dict]:
    """``n`` requests, ``LARGE_SHARE`` of them large, reproducible from ``seed``."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lo, hi = LARGE_KB if rng.random() < LARGE_SHARE else SMALL_KB
        out.append({"id": i, "kb": rng.randint(lo, hi), "seed": rng.randrange(1 << 30)})
    return out


# What `janus profile` measures: requests like the ones served, from another seed.
sample_requests = make_requests(200, seed=12345)
