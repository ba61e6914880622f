#!/usr/bin/env bash
# Side-by-side speed of reference Click and coo-click on the same in-memory configurations
# (benches/click_configs/*.click), in one run on one machine.
#
#   scripts/click-speed.sh [PACKETS] [REPEATS]
#
# Env: COO_BENCH_REFERENCE_CLICK (reference `click` binary; its column is skipped when unset),
# COO_BENCH_COO_CLICK (default target/release/coo-click).
# Each engine runs `ENGINE CONFIG LIMIT=PACKETS -h c.count` REPEATS times, the two engines
# interleaved so both see the same background load. Both are single-threaded; the rate is
# PACKETS / (user+sys CPU seconds) of the best run, which stays comparable on a shared,
# loaded machine (wall-clock Mpps are printed too). Start-up is included for both engines.
set -eu
N=${1:-3000000}
REP=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COO=${COO_BENCH_COO_CLICK:-$ROOT/target/release/coo-click}
REF=${COO_BENCH_REFERENCE_CLICK:-}
[ -x "$COO" ] || { echo "missing $COO (cargo build --release --bin coo-click)" >&2; exit 2; }
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
# one run: prints "cpu_seconds wall_seconds" or "ERR"
one() {
    local bin=$1 cfg=$2 s e t
    s=$(date +%s.%N)
    t=$( { TIMEFORMAT='%U %S'; time "$bin" "$cfg" "LIMIT=$N" -h c.count > "$TMP" 2>/dev/null; } 2>&1 ) || { echo ERR; return; }
    e=$(date +%s.%N)
    # COUNT_CALL stops after the batch that reaches N, so a batched engine may count a few more.
    if ! [ "$(tail -1 "$TMP")" -ge "$N" ] 2>/dev/null; then echo ERR; return; fi
    echo "$t $s $e" | awk '{printf "%.4f %.4f\n", $1 + $2, $4 - $3}'
}
printf '%-11s %14s %14s %8s   %s\n' config "click Mpps/cpu" "coo Mpps/cpu" ratio "(wall-clock Mpps: click / coo)"
for cfg in "$ROOT"/benches/click_configs/*.click; do
    name=$(basename "$cfg" .click)
    bc=999999; bcw=999999; br=999999; brw=999999
    for _ in $(seq "$REP"); do
        read -r c w <<< "$(one "$COO" "$cfg")" || true
        if [ "$c" != ERR ]; then bc=$(awk -v a="$c" -v b="$bc" 'BEGIN{print (a<b)?a:b}'); bcw=$(awk -v a="$w" -v b="$bcw" 'BEGIN{print (a<b)?a:b}'); fi
        if [ -n "$REF" ]; then
            read -r c w <<< "$(one "$REF" "$cfg")" || true
            if [ "$c" != ERR ]; then br=$(awk -v a="$c" -v b="$br" 'BEGIN{print (a<b)?a:b}'); brw=$(awk -v a="$w" -v b="$brw" 'BEGIN{print (a<b)?a:b}'); fi
        fi
    done
    awk -v n="$N" -v name="$name" -v bc="$bc" -v br="$br" -v bcw="$bcw" -v brw="$brw" 'BEGIN {
        mc = (bc < 999999) ? n / bc / 1e6 : -1; mr = (br < 999999) ? n / br / 1e6 : -1;
        wc = (bcw < 999999) ? n / bcw / 1e6 : -1; wr = (brw < 999999) ? n / brw / 1e6 : -1;
        printf "%-11s %14s %14s %8s   (%s / %s)\n", name,
            (mr < 0 ? "-" : sprintf("%.2f", mr)), (mc < 0 ? "ERR" : sprintf("%.2f", mc)),
            (mr > 0 && mc > 0 ? sprintf("%.2fx", mc / mr) : "-"),
            (wr < 0 ? "-" : sprintf("%.2f", wr)), (wc < 0 ? "-" : sprintf("%.2f", wc)) }'
done
