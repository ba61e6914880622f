#!/usr/bin/env bash
# Measure `coo-bench up` (until every agent answers GET /click_plugin/version) and
# `coo-bench down` of a topology, N times; prints each run and the median/max.
# Usage (root): benches/updown.sh [TOPOLOGY] [N]   (BIN_DIR=target/release to use a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
TOPO=${1:-tests/fixtures/pycoo/ClickOnOSvManager}
N=${2:-10}
BIN_DIR=$(realpath "${BIN_DIR:-target/debug}")
BIN="$BIN_DIR/coo-bench"
export COO_BENCH_COO_VNF="$BIN_DIR/coo-vnf"
export COO_BENCH_RUN_DIR=${COO_BENCH_RUN_DIR:-$(mktemp -d /run/coo-bench-bench.XXXXXX)}
[ "$(id -u)" = 0 ] || { echo "skipped: needs root" >&2; exit 0; }
[ -x "$BIN" ] && [ -x "$COO_BENCH_COO_VNF" ] || { echo "build first: cargo build --bin coo-bench --bin coo-vnf" >&2; exit 1; }
ups=(); downs=()
ms() { date +%s%N; }
for i in $(seq "$N"); do
  t0=$(ms); out=$("$BIN" up "$TOPO" --json); t1=$(ms)
  run=$(printf '%s' "$out" | sed -n 's/^  "run_id": "\(.*\)",$/\1/p')
  t2=$(ms); "$BIN" down "$run" >/dev/null; t3=$(ms)
  u=$(( (t1 - t0) / 1000000 )); d=$(( (t3 - t2) / 1000000 ))
  ups+=("$u"); downs+=("$d")
  echo "run $i: up ${u} ms, down ${d} ms"
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "median %d ms, max %d ms", a[int((NR+1)/2)], a[NR]}'; }
echo "up:   $(stats "${ups[@]}")"
echo "down: $(stats "${downs[@]}")"
rmdir "$COO_BENCH_RUN_DIR" 2>/dev/null || true
