#!/usr/bin/env bash
# Run every benchmark of issue 11 and print each figure against its target:
# the criterion benches (synthesis scaling in buckets, stages, sizes and
# threads; decide; decide_many; replay with 1 and 2 threads), then the
# Python side (benches/bench.py: decide from Python against plain Python,
# decide_many, synthesis against the same DP in NumPy, hint-set sizes and
# what max_rules costs in a replay). About five minutes with the build.
#
#   scripts/bench.sh                  # everything, table on stdout
#   scripts/bench.sh --markdown FILE  # also write the tables as markdown
#
# Ratios are measured within this run; absolute times depend on how busy
# the machine is (the load average is printed with the table). `janus
# serve` under loopback load has its own benchmark, not run here:
# `python benches/serve_bench.py` (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh >/dev/null
. .venv/bin/activate

target_dir=$(cargo metadata --format-version 1 --no-deps | python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
log="$target_dir/bench.log"
echo "==> cargo bench (criterion: synth, adapter, replay; full log in $log)"
if ! cargo bench --bench synth --bench adapter --bench replay >"$log" 2>&1; then
  cat "$log"
  exit 1
fi
grep -E '^(CASE|[a-z_]+/[a-z0-9_]+)|^ +time:|thrpt: +\[[0-9]' "$log" || true
echo "==> benches/bench.py"
python benches/bench.py --criterion "$target_dir/criterion" "$@"
