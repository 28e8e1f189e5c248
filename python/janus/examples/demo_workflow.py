"""The reference workflow of ``janus demo``: three stages that behave like real
serverless functions on a small machine.

1. ``parse``: fetch (a short wait) then compress the request's payload; its
   run time grows with the payload size, declared as the feature ``kb``.
   Requests are bimodal: most are small, some are large. Single-threaded and
   CPU-bound, so more than 1000 millicores does not help it.
2. ``transform``: a numeric step with a serial part and a part spread over two
   threads (``hashlib.sha256`` on large buffers releases the GIL), so it really
   uses two cores at 2000 millicores and speeds up sublinearly.
3. ``store``: fanned out to two instances that mostly wait (an I/O-like sleep)
   with a small CPU part: small sizes are cheap and barely slower.

Late binding pays off because only the large requests need ``transform`` at
2000 millicores; a static sizing must pay for it on every request.

``workflow`` and ``sample_inputs`` are what ``janus profile`` expects of a
workflow module; ``make_requests`` draws the request stream of the demo.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import zlib

from janus import Workflow, sizes

DEADLINE_MS = 900.0
SMALL_KB = (2000, 3000)  # payload size ranges of the two request classes
LARGE_KB = (9000, 11000)
LARGE_SHARE = 0.3
BOUNDARY_KB = 6000.0  # between the classes: the feature boundary given to the synthesizer

_BUF = bytes(range(256)) * (4 * 4096)  # 4 MiB, hashed again and again as CPU work


def _hash_mb(mb: float) -> str:
    """About ``mb`` MB of SHA-256: pure CPU, GIL released, ~0.5 ms/MB on a modern core."""
    h = hashlib.sha256()
    for _ in range(max(1, int(mb / 4))):
        h.update(_BUF)
    return h.hexdigest()


def payload_kb(request: dict) -> float:
    """The feature of ``parse``: the size of the request's payload in KB."""
    return float(request["kb"])


workflow = Workflow("demo", deadline_ms=DEADLINE_MS, percentile=0.95)


@workflow.function(options=sizes([500, 1000], 256), feature=payload_kb, feature_name="kb")
def parse(request: dict) -> dict:
    time.sleep(0.02)  # fetch the payload
    payload = random.Random(request["seed"]).randbytes(int(request["kb"] * 1024))
    packed = zlib.compress(payload, 6)
    return {
        "id": request.get("id", 0),
        "kb": request["kb"],
        "packed": len(packed),
        "digest": hashlib.sha256(packed).hexdigest()[:16],
    }


@workflow.function(options=sizes([500, 1000, 2000], 512))
def transform(doc: dict) -> dict:
    serial = _hash_mb(212)  # the part that does not parallelise
    out: list[str] = ["", ""]

    def half(i: int) -> None:
        out[i] = _hash_mb(424)

    threads = [threading.Thread(target=half, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**doc, "features": hashlib.sha256((serial + "".join(out)).encode()).hexdigest()[:16]}


@workflow.function(options=sizes([250, 500, 1000], 256), fanout=2)
def store(doc: dict) -> str:
    time.sleep(0.12)  # the round trip to a storage service
    return _hash_mb(60)[:12]


workflow.chain(parse, transform, store)


def make_requests(n: int, seed: int = 0) -> list[dict]:
    """``n`` requests, ``LARGE_SHARE`` of them large, reproducible from ``seed``."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lo, hi = LARGE_KB if rng.random() < LARGE_SHARE else SMALL_KB
        out.append({"id": i, "kb": rng.randint(lo, hi), "seed": rng.randrange(1 << 30)})
    return out


_doc = {"id": 0, "kb": 2500, "packed": 0, "digest": "0" * 16}
sample_inputs = {
    "parse": [
        {"id": 0, "kb": SMALL_KB[0], "seed": 1},
        {"id": 1, "kb": SMALL_KB[1], "seed": 2},
        {"id": 2, "kb": LARGE_KB[0], "seed": 3},
        {"id": 3, "kb": LARGE_KB[1], "seed": 4},
    ],
    "transform": [_doc],
    "store": [_doc],
}
