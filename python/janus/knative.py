"""Knative glue: size each call by routing it to a size variant's service.

A Knative configuration change creates a new revision, so a function cannot
be resized per invocation; instead each size option runs as its own Knative
Service (``services`` writes their manifests), and a small Janus *router*
in front of a function picks the variant per call. The router is a Knative
Function for the ``func-python`` middleware (``func_python.http.serve``):

    # function/func.py
    from janus.knative import router
    new = router("transform", janus.AdapterClient(URL, "pipeline"),
                 targets="http://{service}.default.svc.cluster.local")

For every request it reads the run's start time, run key and features, from
CloudEvents extension attributes (``janusstart``, ``janusrunkey``,
``janusfeatures``) or, for plain HTTP, from ``janus-start-ms``,
``janus-run-key`` and ``janus-features`` headers (a request without them
starts a run); asks the adapter; forwards the request to the chosen
variant with those attributes set; reports the call's latency; and answers
with the variant's response, a CloudEvent reply carrying the attributes on
to the next step (through a Broker or a Sequence).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from janus._janus import AdapterError, JanusError, NativeWorkflow, Size
from janus.glue import GlueError, RunContext, chain_of, decide, now_ms, observe
from janus.workflow import Workflow, native_of

log = logging.getLogger("janus.knative")

# CloudEvents extension attribute names: lowercase letters and digits only.
EXT_START, EXT_RUN_KEY, EXT_FEATURES = "janusstart", "janusrunkey", "janusfeatures"
# The same for plain HTTP requests.
H_START, H_RUN_KEY, H_FEATURES = "janus-start-ms", "janus-run-key", "janus-features"
H_SIZE = "janus-size"  # on the router's response: the variant that served it


class VariantError(JanusError):
    """The size variant's service could not be reached or did not answer a
    valid reply: the router is a gateway and answers 502."""


class TargetError(JanusError):
    """The router's ``targets`` give no usable URL for a size: the router's
    own configuration, not the caller's request, so it answers 500. Caught
    when the router is made wherever the targets are a template or a
    mapping; a callable's URLs are checked per request."""


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te"}


def service_name(function: str, size: Size) -> str:
    """The Knative Service of ``function`` at ``size`` (a DNS-1035 label)."""
    base = re.sub(r"[^a-z0-9-]+", "-", function.lower()).strip("-") or "fn"
    if not base[0].isalpha():
        base = "f-" + base
    name = f"{base}-{size.cpu_millis}m-{size.memory_mib}mi"
    if len(name) > 63:
        raise GlueError(f"service name {name!r} is longer than 63 characters: shorten '{function}'")
    return name


Targets = Mapping[Size, str] | Callable[[Size], str] | str


def _target(targets: Targets, function: str, size: Size) -> str:
    """The variant's URL for ``size``: ``http://HOST[:PORT]/...``."""
    if isinstance(targets, str):
        try:
            url = targets.format(
                service=service_name(function, size),
                function=function,
                cpu=size.cpu_millis,
                mem=size.memory_mib,
            )
        except (KeyError, IndexError, ValueError) as e:
            raise TargetError(
                f"targets template {targets!r} cannot be filled ({type(e).__name__}: {e}): it "
                "may use {service}, {function}, {cpu} and {mem}"
            ) from None
    elif isinstance(targets, Mapping):
        if size not in targets:
            raise TargetError(f"targets have no URL for {function} at {size}")
        url = targets[size]
    else:
        url = targets(size)
    u = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if u is None or u.scheme != "http" or not u.hostname:
        raise TargetError(
            f"the target URL for {function} at {size} must be http://HOST[:PORT]/..., got {url!r}"
        )
    return url


def _context_from(
    get: Callable[[str], Any],
    names: tuple[str, str, str],
    fallback_key: Callable[[], str],
    payload: Callable[[], Any],
    extract: Callable[[Any], Any] | None,
    where: str,
) -> RunContext:
    """The run context from carried attributes (``get(name)`` of the start,
    run key and features ``names``: extension attributes or headers, so
    errors name what the caller sent), or a new run."""
    n_start, n_key, n_feats = names
    start, key, feats = get(n_start), get(n_key), get(n_feats)
    if isinstance(feats, str):
        try:
            feats = json.loads(feats)
        except ValueError:
            raise GlueError(f"{where}: {n_feats} is not JSON: {feats!r}") from None
    if feats is None and extract is not None:
        feats = _extracted(extract, payload, where)
    try:
        start_ms = now_ms() if start is None else float(start)
    except ValueError:
        raise GlueError(f"{where}: {n_start} must be epoch milliseconds, got {start!r}") from None
    return RunContext.from_dict(
        {"start_ms": start_ms, "run_key": key or fallback_key(), "features": feats},
        where,
        start_name=n_start,
    )


def _extracted(extract: Callable[[Any], Any], payload: Callable[[], Any], where: str) -> Any:
    """The features ``extract`` computes from the request's data. The data is
    the caller's: a body that is not JSON, or lacks what the extractor reads,
    is the caller's mistake (a 400 naming it), not the router's."""
    try:
        data = payload()
    except ValueError as e:
        raise GlueError(
            f"{where}: the body is not JSON ({e}); the features are computed from it"
        ) from None
    if data is None:
        raise GlueError(f"{where}: the body is empty; the features are computed from it")
    try:
        return extract(data)
    except KeyError as e:
        raise GlueError(
            f"{where}: the body has no {e.args[0]!r}, needed for the features"
        ) from None
    except (LookupError, TypeError, ValueError, AttributeError) as e:
        raise GlueError(
            f"{where}: the features could not be computed from the body: {type(e).__name__}: {e}"
        ) from None


def _carried(ctx: RunContext) -> dict[str, str]:
    out = {EXT_START: str(round(ctx.start_ms)), EXT_RUN_KEY: ctx.run_key}
    if ctx.features is not None:
        out[EXT_FEATURES] = json.dumps(ctx.features, separators=(",", ":"))
    return out


def _post(
    url: str, headers: dict[str, str], body: bytes, timeout: float
) -> tuple[int, list[tuple[str, str]], bytes]:
    u = urllib.parse.urlsplit(url)  # checked by _target
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def _has_id(headers: dict[str, str], body: bytes) -> bool:
    """Whether a CloudEvent (binary: ``ce-`` headers; structured: a JSON
    body) carries its own id."""
    if any(k.startswith("ce-") for k in headers):
        return bool(headers.get("ce-id"))
    try:
        return bool(json.loads(body).get("id"))
    except (ValueError, AttributeError):
        return False


async def receive_body(receive: Callable) -> bytes:
    """The whole body of an ASGI HTTP request."""
    body = b""
    while True:
        m = await receive()
        body += m.get("body", b"")
        if not m.get("more_body"):
            return body


class Router:
    """A Knative Function (``handle`` is ASGI) that sizes and forwards calls to ``function``."""

    def __init__(
        self,
        function: str,
        adapter: Any,
        targets: Targets,
        *,
        features: Callable[[Any], Any] | None = None,
        fallback: Size | None = None,
        timeout_s: float = 300.0,
    ) -> None:
        self.function = function
        self.adapter = adapter
        self.targets = targets
        # A template or a mapping is checked now: a typo in it is found when
        # the router is made, not by the first caller (a callable is per call).
        if isinstance(targets, Mapping):
            for size in targets:
                _target(targets, function, size)
        elif isinstance(targets, str):
            _target(targets, function, Size(1000, 512))
        self.features = features
        self.fallback = fallback
        self.timeout_s = timeout_s

    async def handle(self, scope: dict, receive: Callable, send: Callable) -> None:
        body = await receive_body(receive)
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        try:
            status, out_headers, out_body = await self._route(headers, body)
        except JanusError as e:
            # The caller's fault (a malformed attribute or body, features the
            # workflow does not declare) is a 400; a variant out of reach is a
            # 502 (bad gateway), an adapter out of reach a 503, the router's
            # own targets a 500.
            if isinstance(e, VariantError):
                status = 502
            elif isinstance(e, TargetError):
                status = 500
            else:
                status = 400 if isinstance(e, (GlueError, AdapterError)) else 503
            err = {"error": {"kind": type(e).__name__, "message": str(e)}}
            out_headers, out_body = [("content-type", "application/json")], json.dumps(err).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers],
            }
        )
        await send({"type": "http.response.body", "body": out_body})

    async def _route(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event
        from cloudevents.core.exceptions import BaseCloudEventException
        from cloudevents.core.v1.event import CloudEvent

        is_ce = any(k.startswith("ce-") for k in headers) or headers.get(
            "content-type", ""
        ).startswith("application/cloudevents")
        if is_ce:
            try:
                event = from_http_event(HTTPMessage(headers=headers, body=body))
            except BaseCloudEventException as e:
                raise GlueError(f"request: not a valid CloudEvent: {e}") from None
            if not _has_id(headers, body):
                # The SDK makes one up; the run key falls back to it, so a
                # made-up id would split one run into several.
                raise GlueError(
                    "request: a CloudEvent must have an id (ce-id, or 'id' in a structured "
                    "event): the CloudEvents spec requires it"
                )
            attrs = event.get_attributes()
            ctx = _context_from(
                attrs.get,
                (EXT_START, EXT_RUN_KEY, EXT_FEATURES),
                event.get_id,
                event.get_data,
                self.features,
                "CloudEvent " + event.get_id(),
            )
            fwd = to_binary_event(
                CloudEvent(attributes={**attrs, **_carried(ctx)}, data=event.get_data())
            )
            fwd_headers, fwd_body = dict(fwd.headers), fwd.body
        else:
            ctx = _context_from(
                headers.get,
                (H_START, H_RUN_KEY, H_FEATURES),
                lambda: uuid.uuid4().hex,
                lambda: json.loads(body or b"null"),
                self.features,
                "request",
            )
            fwd_headers = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP}
            fwd_headers.update({H_START: str(round(ctx.start_ms)), H_RUN_KEY: ctx.run_key})
            if ctx.features is not None:
                fwd_headers[H_FEATURES] = json.dumps(ctx.features, separators=(",", ":"))
            fwd_body = body
        try:
            size = (await asyncio.to_thread(decide, self.adapter, self.function, ctx)).size
        except JanusError as e:
            if self.fallback is None:
                raise
            log.warning(
                "janus: no decision for %s (%s): using the fallback %s",
                self.function,
                e,
                self.fallback,
            )
            size = self.fallback
        url = _target(self.targets, self.function, size)
        t0 = time.perf_counter()
        try:
            status, resp_headers, resp_body = await asyncio.to_thread(
                _post, url, fwd_headers, fwd_body, self.timeout_s
            )
        except (OSError, http.client.HTTPException) as e:
            # Refused, reset or timed out: no latency to report, and no reply to pass on.
            raise VariantError(
                f"{self.function} at {size}: the variant at {url} could not be reached: "
                f"{type(e).__name__}: {e}"
            ) from None
        latency_ms = (time.perf_counter() - t0) * 1000.0
        try:
            await asyncio.to_thread(observe, self.adapter, self.function, size, latency_ms, ctx)
        except JanusError as e:
            log.warning("janus: could not report the latency of %s: %s", self.function, e)
        out = [(k, v) for k, v in resp_headers if k.lower() not in _HOP_BY_HOP]
        rh = {k.lower(): v for k, v in out}
        if any(k.startswith("ce-") for k in rh) or rh.get("content-type", "").startswith(
            "application/cloudevents"
        ):
            # A reply event: carry the run on to whatever consumes it next.
            try:
                reply = from_http_event(HTTPMessage(headers=rh, body=resp_body))
            except BaseCloudEventException as e:
                raise VariantError(
                    f"{self.function} at {size}: the variant at {url} answered an invalid "
                    f"CloudEvent: {e}"
                ) from None
            attrs = {**_carried(ctx), **reply.get_attributes()}
            msg = to_binary_event(CloudEvent(attributes=attrs, data=reply.get_data()))
            out, resp_body = list(msg.headers.items()), msg.body
        out.append((H_SIZE, f"{size.cpu_millis}m/{size.memory_mib}Mi"))
        return status, out, resp_body


def router(function: str, adapter: Any, targets: Targets, **options: Any) -> Callable[[], Router]:
    """A ``new()`` for ``func_python.http.serve``: the middleware calls it once."""

    def new() -> Router:
        return Router(function, adapter, targets, **options)

    return new


def services(
    workflow: Workflow | NativeWorkflow,
    image: str | Mapping[str, str],
    *,
    namespace: str = "default",
    container_concurrency: int = 1,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Knative Service manifests for every size variant of every step.

    Each pins its container to one size (requests = limits) and, by default,
    serves one request per pod at a time, so a call gets the size it was
    routed for."""
    from janus.kubernetes import resources

    wf = native_of(workflow)
    out = []
    # Service names fold case, '_' and '.' into '-': two steps that fold the
    # same would share a Service (one manifest overwriting the other, the
    # router calling the wrong function), so they are refused.
    owner: dict[str, str] = {}
    for fn in chain_of(wf):
        img = image if isinstance(image, str) else image.get(fn)
        if img is None:
            raise GlueError(f"services: no image for step '{fn}'")
        for size in wf.options(fn):
            name = service_name(fn, size)
            if owner.setdefault(name, fn) != fn:
                raise GlueError(
                    f"services: steps '{owner[name]}' and '{fn}' would both be the Knative "
                    f"Service {name!r} (names are lowercase letters, digits and '-'): "
                    "rename one of them"
                )
            # Knative's default container name; Pods require one.
            container: dict[str, Any] = {
                "name": "user-container",
                "image": img,
                "resources": resources(size),
            }
            if env:
                container["env"] = [{"name": k, "value": v} for k, v in env.items()]
            out.append({
                "apiVersion": "serving.knative.dev/v1",
                "kind": "Service",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {
                        "janus.dev/workflow": re.sub(r"[^A-Za-z0-9_.-]", "-", wf.name)[:63],
                        "janus.dev/function": re.sub(r"[^A-Za-z0-9_.-]", "-", fn)[:63],
                    },
                },
                "spec": {"template": {"spec": {
                    "containerConcurrency": container_concurrency,
                    "containers": [container],
                }}},
            })  # fmt: skip
    return out


def pod_of(service: Mapping[str, Any]) -> dict[str, Any]:
    """The Pod a Knative Service's template describes (Knative's own fields
    removed), to check it against the Kubernetes schema."""
    spec = dict(service["spec"]["template"]["spec"])
    for knative_only in (
        "containerConcurrency",
        "timeoutSeconds",
        "responseStartTimeoutSeconds",
        "idleTimeoutSeconds",
    ):
        spec.pop(knative_only, None)
    meta = {
        k: v for k, v in service.get("metadata", {}).items() if k in ("name", "namespace", "labels")
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
