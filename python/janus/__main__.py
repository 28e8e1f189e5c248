"""``python -m janus``: the same as the ``janus`` command."""

import sys

from janus.cli import main

sys.exit(main())
