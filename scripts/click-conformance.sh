#!/usr/bin/env bash
# Run reference Click's own clicktest suite with `click` resolving to coo-click.
#
#   scripts/click-conformance.sh [REFCLICK_SRC] [COO_CLICK_BINARY]
#
# REFCLICK_SRC (default /work/refclick) is a kohler/click source tree with test/. The
# reference's installed tools (clicktest, click-buildtool, click-flatten...) are taken from
# COO_BENCH_REFERENCE_BIN (default REFCLICK_SRC/install/bin) so that %require lines are
# judged exactly as for the reference. Prints one line per test
# (PASS/FAIL/SKIP/TIMEOUT) and a summary; per-test logs go to $OUT (default
# target/click-conformance).
set -u
REF=${1:-${COO_BENCH_REFERENCE_SRC:-/work/refclick}}
COO=${2:-${COO_BENCH_COO_CLICK:-$(cd "$(dirname "$0")/.." && pwd)/target/release/coo-click}}
OUT=${OUT:-$(cd "$(dirname "$0")/.." && pwd)/target/click-conformance}
TIMEOUT=${TIMEOUT:-60}
[ -x "$COO" ] || { echo "coo-click binary not found: $COO" >&2; exit 2; }
# Absolute: the shim below is a symlink, and a relative target would dangle (then `click`
# would silently resolve to the reference's own binary).
COO=$(realpath "$COO")
[ -d "$REF/test" ] || { echo "reference Click source tree not found: $REF" >&2; exit 2; }
REFBIN=${COO_BENCH_REFERENCE_BIN:-$REF/install/bin}
[ -x "$REFBIN/clicktest" ] || { echo "reference clicktest not found in $REFBIN (set COO_BENCH_REFERENCE_BIN)" >&2; exit 2; }
mkdir -p "$OUT"
SHIM=$(mktemp -d)
trap 'rm -rf "$SHIM"' EXIT
ln -s "$COO" "$SHIM/click"
[ -x "$SHIM/click" ] || { echo "the click shim does not resolve to $COO" >&2; exit 2; }
export PATH="$SHIM:$REFBIN:$PATH"
pass=0; fail=0; skip=0; tout=0
: > "$OUT/results.txt"
for t in $(cd "$REF/test" && ls */*.clicktest | sort); do
    log="$OUT/$(echo "$t" | tr / _).log"
    ( cd "$REF/test" && timeout "$TIMEOUT" "$REFBIN/clicktest" -p "$SHIM" "$t" ) > "$log" 2>&1
    rc=$?
    if [ $rc -eq 124 ]; then
        r=TIMEOUT; tout=$((tout+1))
    elif grep -q "0 successes, 0 failures, 1 skipped" "$log"; then
        r=SKIP; skip=$((skip+1))
    elif grep -q "1 success, 0 failures" "$log"; then
        r=PASS; pass=$((pass+1))
    else
        r=FAIL; fail=$((fail+1))
    fi
    echo "$r $t" | tee -a "$OUT/results.txt"
done
echo "summary: $pass passed, $((fail+tout)) failed ($tout timeouts), $skip skipped" | tee -a "$OUT/results.txt"
