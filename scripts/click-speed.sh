#!/usr/bin/env bash
# Side-by-side speed of reference Click and coo-click on the same in-memory configurations
# (benches/click_configs/*.click), in one run on one machine.
#
#   scripts/click-speed.sh [PACKETS] [REPEATS]
#
# Env: COO_BENCH_REFERENCE_CLICK (reference `click` binary; the reference column is skipped
# when unset), COO_BENCH_COO_CLICK (default target/release/coo-click).
# Each engine runs `ENGINE CONFIG LIMIT=PACKETS -h c.count`; the best wall time of REPEATS
# runs gives Mpps = packets / time. Start-up time is included for both engines.
set -eu
N=${1:-5000000}
REP=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COO=${COO_BENCH_COO_CLICK:-$ROOT/target/release/coo-click}
REF=${COO_BENCH_REFERENCE_CLICK:-}
[ -x "$COO" ] || { echo "missing $COO (cargo build --release --bin coo-click)" >&2; exit 2; }
best() { # best wall time in seconds of REP runs; checks the counter
    local bin=$1 cfg=$2 b=""
    for _ in $(seq "$REP"); do
        local s e out
        s=$(date +%s.%N)
        out=$("$bin" "$cfg" "LIMIT=$N" -h c.count 2>/dev/null | tail -1)
        e=$(date +%s.%N)
        # COUNT_CALL stops after the batch that reaches N, so a batched engine may count a few more.
        if ! [ "$out" -ge "$N" ] 2>/dev/null; then echo "ERR($out)"; return; fi
        b=$(echo "$s $e ${b:-999999}" | awk '{t=$2-$1; if (t<$3) print t; else print $3}')
    done
    echo "$b"
}
printf '%-12s %12s %12s %8s\n' config "click Mpps" "coo Mpps" ratio
for cfg in "$ROOT"/benches/click_configs/*.click; do
    name=$(basename "$cfg" .click)
    tc=$(best "$COO" "$cfg")
    if [ -n "$REF" ]; then tr=$(best "$REF" "$cfg"); else tr=""; fi
    awk -v n="$N" -v name="$name" -v tr="$tr" -v tc="$tc" 'BEGIN {
        mc = (tc ~ /^[0-9.]+$/) ? n / tc / 1e6 : -1;
        mr = (tr ~ /^[0-9.]+$/) ? n / tr / 1e6 : -1;
        printf "%-12s %12s %12s %8s\n", name,
            (mr < 0 ? "-" : sprintf("%.2f", mr)), (mc < 0 ? tc : sprintf("%.2f", mc)),
            (mr > 0 && mc > 0 ? sprintf("%.2fx", mc / mr) : "-") }'
done
