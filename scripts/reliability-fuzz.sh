#!/usr/bin/env bash
# Run the fuzz targets of the reliability suite one after the other (2-core machines: one at
# a time, niced), each for SECONDS (default 600), and print the executions each made.
#   scripts/reliability-fuzz.sh [SECONDS] [TARGET...]
# Needs the nightly toolchain and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo install cargo-fuzz`). New inputs go to a scratch corpus (target/fuzz-corpus/<t>);
# the committed seeds in fuzz/corpus/<t> are only read. A crash leaves its input in
# fuzz/artifacts/<t>/ and makes this script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(topology_parse pycoo_script click_parse rest_request packet_views)
fi
status=0
for t in "${targets[@]}"; do
  work="target/fuzz-corpus/$t"
  mkdir -p "$work" "fuzz/corpus/$t"
  log="target/fuzz-$t.log"
  echo "== $t for ${secs}s (log $log)"
  # Only the crates this target needs (a target fuzzes while another crate is mid-edit).
  case $t in
    packet_views|click_parse) feats=(--no-default-features --features packet) ;;
    rest_request) feats=(--no-default-features --features rest) ;;
    *) feats=(--no-default-features) ;;
  esac
  if (cd fuzz && nice -n 10 cargo +nightly fuzz run -a "${feats[@]}" "$t" "../$work" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1; then
    echo "   ok"
  else
    echo "   FAILED: see $log and fuzz/artifacts/$t/"
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$log" | sed 's/^/   /' || true
done
exit $status
