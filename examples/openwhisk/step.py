"""The code of every size variant of every step of the demo workflow: the
action's name (``parse@500m-256Mi``, ...) says which step it is; ``step``
reports the step's latency to the Janus adapter.
"""

import os

import janus
from janus.examples import demo_workflow as demo
from janus.openwhisk import activation, parse_variant, step

adapter = janus.AdapterClient(
    os.environ.get("JANUS_URL", "http://127.0.0.1:8757"), demo.workflow.name
)

# OpenWhisk actions take and return JSON objects.
STEPS = {
    "parse": demo.parse,
    "transform": demo.transform,
    "store": lambda doc: {**doc, "stored": demo.store(doc)},
}


def main(args: dict) -> dict:
    variant = parse_variant(activation().action_name or "")
    if variant is None:
        return {"error": "this action must be deployed as a size variant: <step>@<cpu>m-<mem>Mi"}
    fn = variant[0]
    return step(adapter, fn)(STEPS[fn])(args)
