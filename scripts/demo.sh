#!/usr/bin/env bash
# Install Janus and run the demo: profile, synthesize and serve the reference
# workflow on this machine with real cgroups (dry run where not root).
set -euo pipefail
cd "$(dirname "$0")/.."
JANUS_EXTRAS=analysis,runtime bash scripts/install.sh
. .venv/bin/activate
janus demo "$@"
