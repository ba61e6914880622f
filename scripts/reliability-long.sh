#!/usr/bin/env bash
# Long versions of the reliability suite (root): 173 SIGKILL points in `up`, 63 in `down`,
# `up --start`, heavier agent load. Then, optionally, every fuzz target for SECONDS each.
#   scripts/reliability-long.sh [FUZZ_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export COO_BENCH_RELIABILITY_LONG=1
cargo build --bins
for t in reliability_crash reliability_isolation reliability_limits reliability_agent_load; do
  cargo test --test "$t" -- --nocapture --test-threads=1
done
if [ -n "${1:-}" ]; then
  scripts/reliability-fuzz.sh "$1"
fi
