#!/usr/bin/env bash
# Run every test: the Rust core (cargo test), lint, and the Python suite
# (pytest) against a fresh build of the extension. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. .venv/bin/activate

echo "==> cargo fmt --check / clippy"
cargo fmt --all -- --check
cargo clippy --quiet --all-targets --features python -- -D warnings
echo "==> ruff"
ruff check python tests examples

echo "==> cargo test (with the service: --features serve)"
cargo test --quiet --features serve
echo "==> pytest"
python -m pytest -q "$@"
