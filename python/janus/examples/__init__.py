"""Reference workflows shipped with Janus (used by ``janus demo``)."""
