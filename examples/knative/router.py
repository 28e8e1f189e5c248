"""A Knative Function (func-python) that sizes every call to the demo's
``transform`` step: it routes the call to one of the step's size variants
(Knative Services ``transform-500m-512mi``, ...), chosen by the Janus
adapter for the time left of the run, and passes the run's start time and
run key on (CloudEvents extension attributes ``janusstart``/``janusrunkey``).

Locally:  LISTEN_ADDRESS=127.0.0.1:8080 JANUS_URL=http://127.0.0.1:8757 python examples/knative/router.py
In a Knative function project, ``new`` is what ``function/func.py`` exports.
"""

import os

import janus
from janus.knative import router

NAMESPACE = os.environ.get("NAMESPACE", "default")

new = router(
    "transform",
    janus.AdapterClient(os.environ.get("JANUS_URL", "http://127.0.0.1:8757"), "demo"),
    targets=f"http://{{service}}.{NAMESPACE}.svc.cluster.local",
    # The demo's request feature: the payload size in KB, from the event's data.
    features=lambda data: {"kb": float(data["kb"])},
)

if __name__ == "__main__":
    from func_python.http import serve

    serve(new)
