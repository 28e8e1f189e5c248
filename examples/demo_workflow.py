"""The reference workflow of ``janus demo`` (its code ships inside the package,
as ``janus.examples.demo_workflow``, so that ``janus demo`` works from any
install). Profile it request by request (every sample keyed by its request,
with the request's payload size as feature) with:

    janus profile examples/demo_workflow.py --out profile.json
"""

from janus.examples.demo_workflow import (  # noqa: F401 - re-exported for `janus profile`
    DEADLINE_MS,
    make_requests,
    parse,
    sample_requests,
    store,
    transform,
    workflow,
)
