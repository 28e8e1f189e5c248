"""Print the Knative Services of every size variant of the demo workflow's
steps, as one JSON list for ``kubectl apply -f -``; each variant's pod is
checked against the Kubernetes 1.35 schema first.

    python examples/knative/manifests.py registry.example/janus-demo:1 | kubectl apply -f -
"""

import json
import sys

from janus.examples.demo_workflow import workflow
from janus.knative import pod_of, services
from janus.kubernetes import validate

if __name__ == "__main__":
    image = sys.argv[1] if len(sys.argv) > 1 else "registry.example/janus-demo:latest"
    items = services(workflow, image, namespace="default")
    for svc in items:
        validate(pod_of(svc))
    print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2))
