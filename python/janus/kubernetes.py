"""Kubernetes: in-place resize of warm pods, and manifests checked against
the real OpenAPI schemas of a Kubernetes version (``kubernetes-validate``).

An in-place resize is a PATCH of the pod's ``resize`` subresource; the
kubelet applies it in seconds (conditions ``PodResizePending`` and
``PodResizeInProgress`` say where it is). That suits warm pods between
bursts, not every invocation: per-invocation sizing routes calls to size
variants (``janus.knative``) or writes cgroups on nodes the provider owns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from janus._janus import JanusError, Size

K8S_VERSION = "1.35"


class ManifestError(JanusError):
    """A generated manifest or patch does not match the Kubernetes schema."""


def cpu_quantity(size: Size) -> str:
    return f"{size.cpu_millis}m"


def memory_quantity(size: Size) -> str:
    return f"{size.memory_mib}Mi"


def resources(size: Size) -> dict[str, dict[str, str]]:
    """Requests equal to limits: the pod gets exactly the size (Guaranteed
    QoS when every container does), as the hints assume."""
    q = {"cpu": cpu_quantity(size), "memory": memory_quantity(size)}
    return {"requests": dict(q), "limits": dict(q)}


def resize_patch(container: str, size: Size) -> dict[str, Any]:
    """The body of a strategic-merge PATCH of ``pods/<name>/resize``."""
    return {"spec": {"containers": [{"name": container, "resources": resources(size)}]}}


def resize_command(pod: str, container: str, size: Size, namespace: str | None = None) -> list[str]:
    """``kubectl patch ... --subresource resize`` for one warm pod (argv)."""
    ns = ["--namespace", namespace] if namespace else []
    body = json.dumps(resize_patch(container, size), separators=(",", ":"))
    return ["kubectl", "patch", "pod", pod, *ns, "--subresource", "resize", "--patch", body]


def warm_pod(
    name: str,
    image: str,
    size: Size,
    *,
    container: str = "function",
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A pod whose CPU and memory can be resized in place without a restart."""
    meta: dict[str, Any] = {"name": name, "labels": dict(labels or {})}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "containers": [
                {
                    "name": container,
                    "image": image,
                    "resources": resources(size),
                    "resizePolicy": [
                        {"resourceName": "cpu", "restartPolicy": "NotRequired"},
                        {"resourceName": "memory", "restartPolicy": "NotRequired"},
                    ],
                }
            ]
        },
    }


def validate(manifest: Mapping[str, Any], version: str = K8S_VERSION) -> str:
    """Check ``manifest`` against the strict schemas of Kubernetes ``version``
    (unknown fields are errors). Returns the schema version used; raises
    ``ManifestError`` naming the field and the rule it breaks."""
    import kubernetes_validate
    from kubernetes_validate.utils import VersionNotSupportedError

    try:
        return kubernetes_validate.validate(dict(manifest), version, strict=True)
    except kubernetes_validate.ValidationError as e:
        where = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ManifestError(
            f"{manifest.get('kind', '?')} {_name(manifest)}: {where}: {e.message} "
            f"(Kubernetes {e.version} schema)"
        ) from None
    except (kubernetes_validate.SchemaNotFoundError, VersionNotSupportedError) as e:
        raise ManifestError(f"{manifest.get('kind', '?')} {_name(manifest)}: {e.message}") from None


def _name(m: Mapping[str, Any]) -> str:
    meta = m.get("metadata")
    return str(meta.get("name", "?")) if isinstance(meta, Mapping) else "?"


def validate_resize_patch(patch: Mapping[str, Any], version: str = K8S_VERSION) -> str:
    """Check a resize PATCH body as the partial Pod it is."""
    return validate(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "patch"}, **patch}, version
    )


@dataclass(frozen=True)
class ResizeStatus:
    """Where an in-place resize of a pod stands, from its status."""

    state: str  # "pending", "infeasible", "in_progress", "error", "done", "not_yet"
    message: str = ""


def resize_status(pod: Mapping[str, Any], container: str, size: Size) -> ResizeStatus:
    """Read a pod (as ``kubectl get pod -o json`` gives it) after a resize to ``size``."""
    status = pod.get("status") or {}
    for c in status.get("conditions") or []:
        kind, reason, msg = c.get("type"), c.get("reason", ""), c.get("message", "")
        if c.get("status") != "True":
            continue
        if kind == "PodResizePending":
            return ResizeStatus("infeasible" if reason == "Infeasible" else "pending", msg)
        if kind == "PodResizeInProgress":
            return ResizeStatus("error" if reason == "Error" else "in_progress", msg)
    want = resources(size)
    for cs in status.get("containerStatuses") or []:
        if cs.get("name") == container:
            got = cs.get("resources") or {}
            if got.get("requests") == want["requests"] and got.get("limits") == want["limits"]:
                return ResizeStatus("done")
    return ResizeStatus("not_yet", "the container does not report the new resources yet")
