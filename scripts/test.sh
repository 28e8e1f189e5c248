#!/usr/bin/env bash
# Run every test: lint, the stub check, the Rust core (cargo test) and the
# Python suite (pytest, slow tests included) against a fresh build of the
# extension. Installs what it needs. Extra arguments go to pytest, e.g.
# `scripts/test.sh -m "not slow"` for the fast set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate

# As root (CI) the real-cgroup tests must run: there a test that cannot write
# cgroups fails instead of skipping (tests/runtime_support.py, tests/cgroup_real.rs).
if [ "$(id -u)" = 0 ]; then
  export JANUS_REQUIRE_CGROUP="${JANUS_REQUIRE_CGROUP:-1}"
fi

echo "==> cargo fmt --check / clippy"
cargo fmt --all -- --check
cargo clippy --quiet --all-targets --features python -- -D warnings
echo "==> ruff"
ruff check python tests examples
echo "==> stubtest (python/janus/_janus.pyi against the built extension)"
python -m mypy.stubtest janus._janus

echo "==> cargo test (with the service: --features serve)"
cargo test --quiet --features serve
echo "==> pytest"
python -m pytest -q "$@"
