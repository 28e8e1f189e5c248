"""Kubernetes in-place resize: generated patches and pods pass the strict
schemas of Kubernetes 1.35 (kubernetes-validate); broken ones fail, naming
the field."""

from __future__ import annotations

import json

import pytest

import janus
from janus.kubernetes import (
    ManifestError,
    resize_command,
    resize_patch,
    resize_status,
    validate,
    validate_resize_patch,
    warm_pod,
)

pytest.importorskip("kubernetes_validate", reason="the providers extra is not installed")

S = janus.Size(1500, 768)


def test_resize_patches_and_warm_pods_pass_the_1_35_schema():
    patch = resize_patch("fn", S)
    assert patch == {"spec": {"containers": [{"name": "fn", "resources": {
        "requests": {"cpu": "1500m", "memory": "768Mi"}, "limits": {"cpu": "1500m", "memory": "768Mi"}}}]}}  # fmt: skip
    assert validate_resize_patch(patch) == "1.35"
    pod = warm_pod("transform-0", "registry.example/transform:1", janus.Size(500, 512), container="fn",
                   namespace="fns", labels={"janus.dev/function": "transform"})  # fmt: skip
    assert validate(pod) == "1.35"
    assert pod["spec"]["containers"][0]["resizePolicy"][0] == {
        "resourceName": "cpu",
        "restartPolicy": "NotRequired",
    }
    cmd = resize_command("transform-0", "fn", S, namespace="fns")
    assert cmd[:4] == ["kubectl", "patch", "pod", "transform-0"]
    assert cmd[cmd.index("--subresource") + 1] == "resize"
    assert json.loads(cmd[cmd.index("--patch") + 1]) == patch


@pytest.mark.parametrize(
    "break_it, where",
    [
        (
            lambda p: p["spec"]["containers"][0]["resources"].update(requets={"cpu": "1"}),
            "resources",
        ),
        (
            lambda p: p["spec"]["containers"][0]["resources"]["limits"].update(cpu=["1500m"]),
            "limits.cpu",
        ),
        (lambda p: p["spec"]["containers"][0].pop("name"), "name"),
        (
            lambda p: p["spec"]["containers"][0].update(resizePolicy={"cpu": "NotRequired"}),
            "resizePolicy",
        ),
    ],
    ids=["unknown field", "wrong type", "missing name", "policy not a list"],
)
def test_a_broken_patch_fails_and_names_the_field(break_it, where):
    patch = resize_patch("fn", S)
    break_it(patch)
    with pytest.raises(ManifestError, match=where) as e:
        validate_resize_patch(patch)
    assert "Kubernetes 1.35 schema" in str(e.value)


def test_an_unknown_kubernetes_version_is_refused():
    with pytest.raises(ManifestError, match="does not support version"):
        validate(warm_pod("p", "i", S), version="9.99")


def test_resize_status_reads_the_pod_conditions():
    def pod(conditions=(), resources=None):
        cs = [{"name": "fn", "resources": resources}] if resources else []
        return {"status": {"conditions": list(conditions), "containerStatuses": cs}}

    pending = {
        "type": "PodResizePending",
        "status": "True",
        "reason": "Deferred",
        "message": "node full",
    }
    infeasible = {**pending, "reason": "Infeasible"}
    progress = {"type": "PodResizeInProgress", "status": "True"}
    assert resize_status(pod([pending]), "fn", S).state == "pending"
    assert resize_status(pod([infeasible]), "fn", S).state == "infeasible"
    assert resize_status(pod([progress]), "fn", S).state == "in_progress"
    assert resize_status(pod([{**progress, "reason": "Error"}]), "fn", S).state == "error"
    done = resize_patch("fn", S)["spec"]["containers"][0]["resources"]
    assert resize_status(pod(resources=done), "fn", S).state == "done"
    assert resize_status(pod(), "fn", S).state == "not_yet"
