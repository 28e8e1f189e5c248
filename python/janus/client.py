"""A client for ``janus serve`` with the methods of the in-process ``Adapter``.

    adapter = janus.Adapter(hints)                                   # in process
    adapter = janus.AdapterClient("http://127.0.0.1:8757", "pipeline")  # or the service
    d = adapter.decide("train", elapsed_ms=7_300, features={"mb": 3.2}, run_key="act-17")
    adapter.observe("train", d.size, latency_ms=5_210, features={"mb": 3.2})

Glue written against one works with the other. The client keeps one
keep-alive HTTP/1.1 connection per thread (standard library only). Errors
raise the exception the in-process adapter would (``AdapterError`` for a bad
call, ``HintError`` for a bad hint set); a service that cannot be reached, or
refuses for its own reasons, raises ``ServeError``.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from janus._janus import AdapterError, HintError, HintSet, Profile, ServeError, Size

# The service's limit per batch request (src/serve/wire.rs, MAX_BATCH).
MAX_BATCH = 10_000

Features = Mapping[str, float] | Sequence[float] | None
RunKey = int | str | None

# Error kinds of the service (ApiError::kind) that mean "bad arguments":
# raised as the in-process adapter would raise them.
_ADAPTER_KINDS = {"adapter", "bad_request", "too_large"}


@dataclass(frozen=True)
class RemoteDecision:
    """A decision made by the service: the fields of ``janus.Decision``."""

    size: Size
    rule: int | None
    remaining_ms: float
    late: bool
    fits: bool
    input_class: int | None

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> RemoteDecision:
        s = d["size"]
        return RemoteDecision(
            Size(s["cpu_millis"], s["memory_mib"]),
            d["rule"],
            d["remaining_ms"],
            d["late"],
            d["fits"],
            d["input_class"],
        )


def _size_json(size: Size | tuple[int, int]) -> dict[str, int]:
    if isinstance(size, Size):
        return {"cpu_millis": size.cpu_millis, "memory_mib": size.memory_mib}
    cpu, mem = size
    return {"cpu_millis": int(cpu), "memory_mib": int(mem)}


def _features_json(features: Features) -> Any:
    if features is None:
        return None
    if isinstance(features, Mapping):
        return {str(k): float(v) for k, v in features.items()}
    if isinstance(features, (str, bytes)):
        raise AdapterError(
            "features must be a mapping {name: number} or a sequence of numbers, got a string"
        )
    return [float(v) for v in features]


def _run_key_json(run_key: RunKey) -> int | str | None:
    if run_key is None or isinstance(run_key, str):
        return run_key
    if isinstance(run_key, (int, np.integer)) and not isinstance(run_key, bool) and run_key >= 0:
        return int(run_key)
    raise AdapterError(f"run_key must be a string or an unsigned integer, got {run_key!r}")


class AdapterClient:
    """The adapter of one workflow, served by ``janus serve`` at ``url``."""

    def __init__(self, url: str, workflow: str, *, timeout: float = 5.0) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http" or not u.hostname:
            raise ServeError(f"AdapterClient: url must be http://HOST:PORT[/prefix], got {url!r}")
        self.url = url.rstrip("/")
        self.workflow = workflow
        self.timeout = timeout
        self._host, self._port = u.hostname, u.port or 80
        self._prefix = u.path.rstrip("/")
        self._base = f"{self._prefix}/v1/workflows/{urllib.parse.quote(workflow, safe='')}"
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"AdapterClient({self.url!r}, {self.workflow!r})"

    # -- transport ------------------------------------------------------
    def _conn(self) -> tuple[http.client.HTTPConnection, bool]:
        c = getattr(self._local, "conn", None)
        if c is not None:
            return c, True
        c = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        self._local.conn = c
        return c, False

    def _drop(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def _request(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Any:
        if raw is None and body is not None:
            try:
                raw = json.dumps(body, allow_nan=False).encode()
            except ValueError as e:
                raise AdapterError(
                    f"{method} {path}: a number JSON cannot carry (NaN or infinity): {e}"
                ) from None
        headers = {"content-type": "application/json"} if raw is not None else {}
        for attempt in (0, 1):
            conn, reused = self._conn()
            try:
                conn.request(method, path, body=raw, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                # A kept-alive connection the service closed meanwhile: once more on a new one.
                self._drop()
                if attempt == 1 or not reused:
                    raise ServeError(f"janus serve at {self.url}: {method} {path}: {e}") from None
            except OSError as e:
                self._drop()
                raise ServeError(f"janus serve at {self.url}: {method} {path}: {e}") from None
        if resp.getheader("connection", "").lower() == "close":
            self._drop()
        if resp.status >= 400:
            self._raise(method, path, resp.status, data)
        ctype = resp.getheader("content-type", "")
        if "json" in ctype:
            return json.loads(data)
        return data.decode()

    def _raise(self, method: str, path: str, status: int, data: bytes) -> None:
        try:
            err = json.loads(data)["error"]
            kind, message = err["kind"], err["message"]
        except (ValueError, KeyError, TypeError):
            kind, message = "http", data.decode(errors="replace")[:200]
        if kind in _ADAPTER_KINDS:
            raise AdapterError(message)
        if kind == "hints":
            raise HintError(message)
        raise ServeError(f"janus serve at {self.url}: {method} {path}: {status} {kind}: {message}")

    # -- the Adapter's methods -------------------------------------------
    def decide(
        self,
        function: str,
        elapsed_ms: float,
        features: Features = None,
        free: Size | tuple[int, int] | None = None,
        run_key: RunKey = None,
    ) -> RemoteDecision:
        """Size for ``function`` after ``elapsed_ms`` of the run (see ``Adapter.decide``)."""
        body: dict[str, Any] = {"function": function, "elapsed_ms": float(elapsed_ms)}
        if features is not None:
            body["features"] = _features_json(features)
        if free is not None:
            body["free"] = _size_json(free)
        if run_key is not None:
            body["run_key"] = _run_key_json(run_key)
        return RemoteDecision.from_json(self._request("POST", f"{self._base}/decide", body))

    def decide_many(
        self,
        function: str,
        elapsed_ms: np.ndarray,
        features: np.ndarray | None = None,
        free: Size | tuple[int, int] | None = None,
        run_keys: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """One decision per element (see ``Adapter.decide_many``): batches of
        at most 10 000 per request. ``features`` has one row per element (or
        one value per element when the workflow declares one feature)."""
        el = np.asarray(elapsed_ms, dtype=np.float64)
        n = len(el)
        feats = None if features is None else np.asarray(features, dtype=np.float64)
        keys = None if run_keys is None else np.asarray(run_keys)
        for what, arr in (("feature values", feats), ("run keys", keys)):
            if arr is not None and len(arr) != n:
                raise AdapterError(f"decide_many: {n} elapsed times but {len(arr)} {what}")
        out: list[dict[str, Any]] = []
        for lo in range(0, n, MAX_BATCH):
            reqs = []
            for i in range(lo, min(n, lo + MAX_BATCH)):
                r: dict[str, Any] = {"function": function, "elapsed_ms": float(el[i])}
                if feats is not None:
                    row = feats[i]
                    r["features"] = [float(row)] if np.ndim(row) == 0 else row.tolist()
                if free is not None:
                    r["free"] = _size_json(free)
                if keys is not None:
                    r["run_key"] = _run_key_json(keys[i].item())
                reqs.append(r)
            out.extend(
                self._request("POST", f"{self._base}/decide_batch", {"requests": reqs})["decisions"]
            )
        return {
            "cpu_millis": np.array([d["size"]["cpu_millis"] for d in out], dtype=np.uint32),
            "memory_mib": np.array([d["size"]["memory_mib"] for d in out], dtype=np.uint32),
            "rule": np.array([-1 if d["rule"] is None else d["rule"] for d in out], dtype=np.int64),
            "late": np.array([d["late"] for d in out], dtype=bool),
            "remaining_ms": np.array([d["remaining_ms"] for d in out], dtype=np.float64),
            # As Adapter.decide_many: -1 where the hint set has no input classes.
            "input_class": np.array(
                [-1 if d["input_class"] is None else d["input_class"] for d in out], dtype=np.int64
            ),
        }

    def observe(
        self,
        function: str,
        size: Size | tuple[int, int],
        latency_ms: float,
        features: Features = None,
    ) -> None:
        """Record an observed latency; returns once the service has it on disk."""
        body: dict[str, Any] = {
            "function": function,
            "size": _size_json(size),
            "latency_ms": float(latency_ms),
        }
        if features is not None:
            body["features"] = _features_json(features)
        self._request("POST", f"{self._base}/observe", body)

    def swap(self, hints: HintSet) -> None:
        """Install a hint set for this workflow (atomic on the service)."""
        self._request("PUT", f"{self._base}/hints", raw=hints.to_json().encode())

    @property
    def hints(self) -> HintSet:
        text = self._request("GET", f"{self._base}/hints")
        return HintSet.from_json(text if isinstance(text, str) else json.dumps(text), self.url)

    @property
    def observed(self) -> int:
        """Observations in the windows of the hint set in force."""
        return int(self._request("GET", f"{self._base}/observations")["count"])

    def observed_profile(self) -> Profile:
        text = self._request("GET", f"{self._base}/observed_profile")
        return Profile.from_json(text if isinstance(text, str) else json.dumps(text))

    def drift(self, profile: Profile, min_samples: int = 5) -> list[tuple[str, Size, float]]:
        """Observed mean / profiled mean per (function, size) with enough samples."""
        body = {"profile": json.loads(profile.to_json()), "min_samples": int(min_samples)}
        r = self._request("POST", f"{self._base}/drift", body)
        return [
            (d["function"], Size(d["size"]["cpu_millis"], d["size"]["memory_mib"]), d["ratio"])
            for d in r["drift"]
        ]

    def drift_by_function(self, profile: Profile, min_samples: int = 5) -> dict[str, float]:
        body = {"profile": json.loads(profile.to_json()), "min_samples": int(min_samples)}
        return dict(self._request("POST", f"{self._base}/drift", body)["by_function"])

    # -- service-only -----------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._request("GET", f"{self._prefix}/health")

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        self._drop()
