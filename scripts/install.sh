#!/usr/bin/env bash
# Set up everything Janus needs on a fresh Debian machine with Rust and
# Python 3: a virtualenv in .venv, the Python packages, and the Rust
# extension built by maturin and installed into it (editable).
# Idempotent: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "==> installing python3-venv (Debian)"
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
. .venv/bin/activate
echo "==> installing Python build and test dependencies"
python -m pip install -q --upgrade pip
python -m pip install -q "maturin>=1.7,<2"
# The extension is built in release mode (the synthesizer and replay are
# numeric code); extras: test brings pytest, hypothesis, pandas, matplotlib,
# nbclient, ruff.
echo "==> building the Rust extension (maturin, release) and installing janus[${JANUS_EXTRAS:-test}]"
python -m pip install -q -e ".[${JANUS_EXTRAS:-test}]"
python -c 'import janus; print("janus", janus.__version__, "installed in", __import__("sys").prefix)'
