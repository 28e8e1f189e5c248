"""The Janus router of step "a" of the test workflow, served by the real
func-python middleware on $LISTEN_ADDRESS (loopback), asking `janus serve`
at $JANUS_URL and forwarding to $TARGET_BASE/<variant service name>."""

import os

from func_python.http import serve

import janus
from janus.knative import router

new = router(
    "a",
    janus.AdapterClient(os.environ["JANUS_URL"], "feat"),
    os.environ["TARGET_BASE"] + "/{service}",
    features=lambda data: {"bytes": data["bytes"]},
)

if __name__ == "__main__":
    serve(new)
