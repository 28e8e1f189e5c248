"""The reference workflow of ``janus demo`` (its code ships inside the package,
as ``janus.examples.demo_workflow``, so that ``janus demo`` works from any
install). Profile it with:

    janus profile examples/demo_workflow.py --repetitions 5 --out profile.json
"""

from janus.examples.demo_workflow import (  # noqa: F401 - re-exported for `janus profile`
    BOUNDARY_KB,
    DEADLINE_MS,
    make_requests,
    parse,
    sample_inputs,
    store,
    transform,
    workflow,
)
