"""The conductor action of the demo workflow (parse -> transform -> store)
on OpenWhisk: every step runs on the size variant the Janus adapter picks
for the time left of the run's deadline.

Deploy with the commands ``python examples/openwhisk/deploy.py`` prints. The
action's runtime needs the ``janus`` package (a custom Python runtime image,
or a virtualenv zipped with the action) and ``JANUS_URL`` pointing at a
``janus serve`` that has the demo's hint set.
"""

import os

import janus
from janus.examples.demo_workflow import workflow
from janus.openwhisk import conductor

adapter = janus.AdapterClient(os.environ.get("JANUS_URL", "http://127.0.0.1:8757"), workflow.name)


@conductor(workflow, adapter, package="janus-demo")
def main(result: dict) -> dict:
    """The run's result: the last step's output, as it is."""
    return result
