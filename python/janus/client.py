"""A client for ``janus serve`` with the methods of the in-process ``Adapter``.

    adapter = janus.Adapter(hints)                                   # in process
    adapter = janus.AdapterClient("http://127.0.0.1:8757", "pipeline")  # or the service
    d = adapter.decide("train", elapsed_ms=7_300, features={"mb": 3.2}, run_key="act-17")
    adapter.observe("train", d.size, latency_ms=5_210, features={"mb": 3.2})

Glue written against one works with the other. The client keeps one
keep-alive HTTP/1.1 connection per thread (standard library only). Arguments
are checked before anything is sent, by the in-process adapter's rules, so a
bad call raises what ``Adapter`` would raise for it (``TypeError`` for an
argument that is not a number, such as ``"10"``; ``WorkflowError`` for a size
that is not a ``Size`` or a ``(cpu_millis, memory_mib)`` pair;
``AdapterError`` for bad features, run keys, arrays and values), naming the
argument; ``HintError`` is a bad hint set; a service that cannot be reached,
or refuses for its own reasons, raises ``ServeError``. One deliberate
difference: the service refuses an ``elapsed_ms`` or ``latency_ms`` of more
than one day (``AdapterError``, "wrong unit?"), which the in-process adapter
accepts.
"""

from __future__ import annotations

import http.client
import json
import math
import operator
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from janus._janus import (
    AdapterError,
    HintError,
    HintSet,
    Profile,
    ServeError,
    Size,
    WorkflowError,
)

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


# -- arguments, checked by the in-process adapter's rules ------------------
# (src/py/adapter.rs and src/py/model.rs): the same exception class for the
# same bad call, with a message that names the argument.


def _function(function: Any) -> str:
    if not isinstance(function, str):
        raise TypeError(f"function must be a str, not {type(function).__name__}")
    return function


def _real(x: Any, what: str) -> float:
    """A number as the in-process adapter reads one (pyo3's ``f64``: a float,
    an int, or anything with ``__float__`` or ``__index__``; never a str)."""
    t = type(x)
    if not (hasattr(t, "__float__") or hasattr(t, "__index__")):
        raise TypeError(f"{what} must be a real number, not {t.__name__}")
    try:
        return float(x)
    except OverflowError as e:
        raise OverflowError(f"{what}: {e}") from None


def _finite(v: float, what: str) -> float:
    """JSON carries no NaN or infinity; the in-process adapter refuses them too."""
    if not math.isfinite(v):
        raise AdapterError(f"{what} must be a finite number, got {v!r} (NaN or infinity)")
    return v


def _size_json(size: Any, what: str) -> dict[str, int]:
    """A ``Size`` or a ``(cpu_millis, memory_mib)`` tuple, checked by ``Size``
    itself (integers, bounds) as the in-process adapter does."""
    if not isinstance(size, Size):
        if not (isinstance(size, tuple) and len(size) == 2):
            raise WorkflowError(
                f"{what} must be a janus.Size or a (cpu_millis, memory_mib) pair, got {size!r}"
            )
        try:
            size = Size(*size)
        except WorkflowError as e:
            raise WorkflowError(f"{what}: {e}") from None
    return {"cpu_millis": size.cpu_millis, "memory_mib": size.memory_mib}


_FEATURES = "features must be a number, a sequence of numbers or a mapping name -> number"


def _feature(v: Any, what: str) -> float:
    try:
        x = _real(v, what)
    except (TypeError, OverflowError):
        raise AdapterError(f"{what} must be a number, got {v!r}") from None
    return _finite(x, what)


def _features_json(features: Any) -> Any:
    """Request features as the in-process adapter takes them: one number, a
    mapping name -> number, or a sequence of numbers (not a str). Names and
    counts are the service's to check: it knows the workflow."""
    if features is None:
        return None
    if isinstance(features, (int, float)):
        return [_feature(features, "features")]
    if isinstance(features, Mapping):
        if not all(isinstance(k, str) for k in features):
            raise AdapterError("features: a mapping's keys must be feature names (str)")
        return {k: _feature(v, f"features: '{k}'") for k, v in features.items()}
    got = f"{_FEATURES}, got {type(features).__name__}"
    if isinstance(features, (str, bytes)) or not hasattr(type(features), "__getitem__"):
        raise AdapterError(got)
    try:
        items = list(features)
    except TypeError:  # indexable but not a sequence (a numpy scalar)
        raise AdapterError(got) from None
    values = []
    for i, v in enumerate(items):
        try:
            values.append(_feature(v, f"features[{i}]"))
        except AdapterError as e:
            raise AdapterError(f"{got} ({e})") from None
    return values


def _run_key_json(run_key: Any) -> int | str | None:
    """A str, or an int in 0..2**64 (anything with ``__index__``, as in process)."""
    if run_key is None or isinstance(run_key, str):
        return run_key
    try:
        k = operator.index(run_key)
    except TypeError:
        k = -1
    if not 0 <= k < 2**64:
        raise AdapterError(f"run_key must be a str or an int in 0..2**64, got {run_key!r}")
    return k


def _array(x: Any, dtype: Any, name: str, what: str, ndims: tuple[int, ...]) -> np.ndarray:
    """Argument ``name`` of ``decide_many`` as the in-process adapter converts
    it: ``np.asarray`` with its dtype, then its number of dimensions."""
    try:
        a = np.asarray(x, dtype=dtype)
    except Exception as e:  # noqa: BLE001 (whatever numpy raises, as in process)
        raise AdapterError(f"decide_many: {name} must be {what}: {type(e).__name__}: {e}") from None
    if a.ndim not in ndims:
        shape = f", got shape {list(a.shape)}" if name == "features" else ""
        raise AdapterError(f"decide_many: {name} must be {what}{shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        i = int(np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(axis=1))[0])
        raise AdapterError(
            f"decide_many: {name} must be finite numbers, got {a[i].tolist()!r} at item {i} "
            "(NaN or infinity)"
        )
    return a


class AdapterClient:
    """The adapter of one workflow, served by ``janus serve`` at ``url``. A bad
    argument raises what ``Adapter`` raises for it; unlike ``Adapter``, the
    service refuses an ``elapsed_ms`` or ``latency_ms`` above one day."""

    def __init__(self, url: str, workflow: str, *, timeout: float = 5.0) -> None:
        bad_url = f"AdapterClient: url must be http://HOST:PORT[/prefix], got {url!r}"
        if not isinstance(url, str):
            raise ServeError(bad_url)
        try:
            u = urllib.parse.urlsplit(url)
            port = u.port or 80  # u.port raises ValueError for a bad one
        except ValueError as e:
            raise ServeError(f"{bad_url}: {e}") from None
        if u.scheme != "http" or not u.hostname:
            raise ServeError(bad_url)
        if not isinstance(workflow, str):
            raise TypeError(f"AdapterClient: workflow must be a str, not {type(workflow).__name__}")
        self.url = url.rstrip("/")
        self.workflow = workflow
        self.timeout = timeout
        self._host, self._port = u.hostname, port
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
        # In the in-process order: function, elapsed_ms, free, features, run_key.
        body: dict[str, Any] = {"function": _function(function)}
        body["elapsed_ms"] = _finite(_real(elapsed_ms, "elapsed_ms"), "elapsed_ms")
        if free is not None:
            body["free"] = _size_json(free, "free")
        if features is not None:
            body["features"] = _features_json(features)
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
        # In the in-process order: function and free (taken with the call), then the arrays.
        _function(function)
        free_json = None if free is None else _size_json(free, "free")
        el = _array(elapsed_ms, np.float64, "elapsed_ms", "a 1-D array of numbers", (1,))
        n = len(el)
        feats = None
        if features is not None:
            what = "an (n, d) or (n,) array of numbers"
            feats = _array(features, np.float64, "features", what, (1, 2))
        keys = None
        if run_keys is not None:
            what = "a 1-D array of non-negative integers"
            keys = _array(run_keys, np.uint64, "run_keys", what, (1,))
        for name, arr in (("features", feats), ("run_keys", keys)):
            if arr is not None and len(arr) != n:
                raise AdapterError(f"decide_many: {n} elapsed times but {len(arr)} {name}")
        out: list[dict[str, Any]] = []
        for lo in range(0, n, MAX_BATCH):
            reqs = []
            for i in range(lo, min(n, lo + MAX_BATCH)):
                r: dict[str, Any] = {"function": function, "elapsed_ms": float(el[i])}
                if feats is not None:
                    row = feats[i]
                    r["features"] = [float(row)] if np.ndim(row) == 0 else row.tolist()
                if free_json is not None:
                    r["free"] = free_json
                if keys is not None:
                    r["run_key"] = int(keys[i])
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
            "function": _function(function),
            "size": _size_json(size, "size"),
            "latency_ms": _finite(_real(latency_ms, "latency_ms"), "latency_ms"),
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
