"""``janus demo``: profile, synthesize and serve the reference workflow on this
machine, Janus against the best static sizing.

One module per part: ``orchestrate`` runs the steps (profile, deadline,
synthesis, serving), ``table`` prints the comparison, ``files`` writes
``runs.csv`` and ``summary.json``, ``plot`` draws ``demo.png``. The command
line is parsed and checked in ``janus.cli.demo``.
"""

from janus.runtime.demo.orchestrate import auto_deadline, run

__all__ = ["auto_deadline", "run"]
