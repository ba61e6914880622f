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
# With the reference set, each configuration also runs once more on both engines with
# LIMIT=$CHECK_PACKETS (default 100003, not a multiple of the burst) reading every
# `NAME :: Counter` it declares; the "counters" column says whether both engines counted the
# same packets on every output (the *-flows configurations count each classifier output), and
# the script exits 1 when any configuration differs.
set -eu
N=${1:-3000000}
REP=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COO=${COO_BENCH_COO_CLICK:-$ROOT/target/release/coo-click}
REF=${COO_BENCH_REFERENCE_CLICK:-}
[ -x "$COO" ] || { echo "missing $COO (cargo build --release --bin coo-click)" >&2; exit 2; }
CHECK=${CHECK_PACKETS:-100003}
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
differ=0
# every counter of a configuration, both engines: "same", "DIFF" or "ERR"
counters() {
    local cfg=$1 h a b
    h=$(grep -o '[A-Za-z_][A-Za-z0-9_@/]* *:: *Counter' "$cfg" | awk '{print "-h " $1 ".count"}')
    # shellcheck disable=SC2086 # one word per handler
    a=$("$REF" "$cfg" "LIMIT=$CHECK" $h 2>/dev/null) || { echo ERR; return; }
    # shellcheck disable=SC2086
    b=$("$COO" "$cfg" "LIMIT=$CHECK" $h 2>/dev/null) || { echo ERR; return; }
    if [ "$a" = "$b" ]; then echo same; else echo DIFF; fi
}
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
printf '%-18s %14s %14s %8s %9s   %s\n' config "click Mpps/cpu" "coo Mpps/cpu" ratio counters "(wall-clock Mpps: click / coo)"
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
    same=-
    if [ -n "$REF" ]; then
        same=$(counters "$cfg")
        [ "$same" = same ] || differ=1
    fi
    awk -v n="$N" -v name="$name" -v bc="$bc" -v br="$br" -v bcw="$bcw" -v brw="$brw" -v same="$same" 'BEGIN {
        mc = (bc < 999999) ? n / bc / 1e6 : -1; mr = (br < 999999) ? n / br / 1e6 : -1;
        wc = (bcw < 999999) ? n / bcw / 1e6 : -1; wr = (brw < 999999) ? n / brw / 1e6 : -1;
        printf "%-18s %14s %14s %8s %9s   (%s / %s)\n", name,
            (mr < 0 ? "-" : sprintf("%.2f", mr)), (mc < 0 ? "ERR" : sprintf("%.2f", mc)),
            (mr > 0 && mc > 0 ? sprintf("%.2fx", mc / mr) : "-"), same,
            (wr < 0 ? "-" : sprintf("%.2f", wr)), (wc < 0 ? "-" : sprintf("%.2f", wc)) }'
done
if [ "$differ" -ne 0 ]; then
    echo "click-speed: the engines counted differently on some configuration (counters column)" >&2
    exit 1
fi
