#!/usr/bin/env bash
# Forwarding benchmark: gen netns -> veth -> NF netns (two veths) -> veth -> sink netns.
#
# NFs compared in the same run with the same generator:
#   refclick : reference Click   FromDevice(a, METHOD LINUX, BURST 32) -> Queue -> ToDevice(b)
#   coo-click: coo-click         same config, --io-mode throughput
#   raw      : click-io's raw forwarder (the I/O layer without a Click graph; a ceiling)
# Throughput = frames counted by the sink veth's kernel counter / generator seconds.
# Latency (one-way p50/p99, 60 B frames, payload timestamps): gen -> NF -> sink with the NF in
# latency mode, minus the same measurement over a direct gen -> sink veth.
#
# Needs root. Env: COO_BENCH_REFERENCE_CLICK (reference click binary), COO_CLICK (coo-click
# binary; default target/release/coo-click), SECONDS_PER_RUN (default 5), REPS (default 3),
# SIZE (frame bytes without FCS, default 60), NF_CPU (default 1), GEN_CPU (default 0),
# PRIO (nice level of generator and NF, default -10, so background builds disturb less).
# Every namespace is named cbtXXXX* and removed on exit. No address is configured anywhere:
# frames are raw Ethernet, counted by kernel interface counters.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=${SECONDS_PER_RUN:-5}
REPS=${REPS:-3}
SIZE=${SIZE:-60}
NF_CPU=${NF_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
PRIO=${PRIO:--10}
REF=${COO_BENCH_REFERENCE_CLICK:-}
COO=${COO_CLICK:-$ROOT/target/release/coo-click}
ONLY=${ONLY:-refclick,coo-click,raw}

[ "$(id -u)" = 0 ] || { echo "skipped: needs root" >&2; exit 0; }

echo "building io-bench (release)..." >&2
(cd "$ROOT" && cargo build --release -q -p click-io --example io-bench)
BENCH=$ROOT/target/release/examples/io-bench

P=cbt$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
G=${P}g N=${P}n S=${P}s
NF_PID=
cleanup() {
  [ -n "$NF_PID" ] && kill "$NF_PID" 2>/dev/null && wait "$NF_PID" 2>/dev/null || true
  for ns in "$G" "$N" "$S"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

for ns in "$G" "$N" "$S"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
mkveth() { # ns_a dev_a ns_b dev_b
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  for x in "$1 $2" "$3 $4"; do
    set -- $x
    ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
    ip -n "$1" link set "$2" up
  done
}
mkveth "$G" ${P}g0 "$N" ${P}n0     # generator -> NF input
mkveth "$N" ${P}n1 "$S" ${P}s0     # NF output -> sink
mkveth "$G" ${P}g1 "$S" ${P}s1     # direct path, latency baseline
sleep 0.3

sink_rx() { ip netns exec "$S" cat /sys/class/net/${P}s0/statistics/rx_packets; }
# CPU time (user+system, clock ticks) of the NF process: robust against a busy machine,
# where the NF's share of its core varies but its cost per packet does not.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TCK=$(getconf CLK_TCK)
json() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

start_nf() { # kind mode
  local cfg="FromDevice(${P}n0, METHOD LINUX, BURST 32, SNIFFER false) -> Queue(1024) -> ToDevice(${P}n1, BURST 32);"
  case $1 in
    refclick) ip netns exec "$N" nice -n "$PRIO" taskset -c "$NF_CPU" "$REF" -e "$cfg" >/dev/null 2>&1 & ;;
    coo-click) ip netns exec "$N" nice -n "$PRIO" taskset -c "$NF_CPU" "$COO" --io-mode "$2" -e "$cfg" >/dev/null 2>&1 & ;;
    raw) ip netns exec "$N" nice -n "$PRIO" taskset -c "$NF_CPU" "$BENCH" fwd --in ${P}n0 --out ${P}n1 --mode "$2" --seconds 3600 >/dev/null 2>&1 & ;;
  esac
  NF_PID=$!
  sleep 0.7
  kill -0 "$NF_PID" 2>/dev/null || { echo "NF $1 failed to start" >&2; NF_PID=; return 1; }
}
stop_nf() { [ -n "$NF_PID" ] && { kill "$NF_PID" 2>/dev/null; wait "$NF_PID" 2>/dev/null || true; NF_PID=; }; }

available() {
  case $1 in
    refclick) [ -n "$REF" ] && [ -x "$REF" ] || { echo "skip refclick: COO_BENCH_REFERENCE_CLICK not set or not executable" >&2; return 1; } ;;
    coo-click) [ -x "$COO" ] || { echo "skip coo-click: $COO not built (cargo build --release)" >&2; return 1; } ;;
  esac
}

declare -A BEST CAP
echo "# forwarding, ${SIZE} B frames (+FCS), ${SECS}s x ${REPS} per NF, NF on CPU ${NF_CPU}, generator on CPU ${GEN_CPU}"
printf '%-10s %-4s %10s %10s %10s %12s %14s\n' nf rep offered_mpps fwd_mpps loss_pct nf_cpu_us/pkt capacity_mpps
for rep in $(seq 1 "$REPS"); do
  for kind in ${ONLY//,/ }; do
    available "$kind" || continue
    start_nf "$kind" throughput || continue
    before=$(sink_rx); t0=$(cpu_ticks "$NF_PID")
    out=$(ip netns exec "$G" nice -n "$PRIO" taskset -c "$GEN_CPU" "$BENCH" gen --dev ${P}g0 --seconds "$SECS" --size "$SIZE")
    sleep 0.3
    after=$(sink_rx); t1=$(cpu_ticks "$NF_PID")
    stop_nf
    sent=$(echo "$out" | json sent); el=$(echo "$out" | json seconds)
    fwd=$((after - before))
    read -r off mpps loss cpp cap < <(awk -v s="$sent" -v f="$fwd" -v t="$el" -v c=$((t1 - t0)) -v hz="$TCK" \
      'BEGIN{us = (f>0 ? c/hz*1e6/f : 0); printf "%.3f %.3f %.2f %.3f %.3f\n", s/t/1e6, f/t/1e6, (s>0?100*(s-f)/s:0), us, (us>0?1/us:0)}')
    printf '%-10s %-4s %10s %10s %10s %12s %14s\n' "$kind" "$rep" "$off" "$mpps" "$loss" "$cpp" "$cap"
    prevc=${CAP[$kind]:-0}
    CAP[$kind]=$(awk -v a="$prevc" -v b="$cap" 'BEGIN{print (b>a?b:a)}')
    prev=${BEST[$kind]:-0}
    BEST[$kind]=$(awk -v a="$prev" -v b="$mpps" 'BEGIN{print (b>a?b:a)}')
  done
done
echo
for kind in ${ONLY//,/ }; do [ -n "${BEST[$kind]:-}" ] && echo "best $kind: ${BEST[$kind]} Mpps forwarded, capacity ${CAP[$kind]} Mpps per NF core"; done
if [ -n "${BEST[refclick]:-}" ]; then
  for kind in coo-click raw; do
    [ -n "${BEST[$kind]:-}" ] && awk -v a="${BEST[$kind]}" -v b="${BEST[refclick]}" -v ca="${CAP[$kind]}" -v cb="${CAP[refclick]}" -v k="$kind" \
      'BEGIN{ if (b>0) printf "ratio %s / refclick: %.2f forwarded, %.2f capacity (CPU per packet)\n", k, a/b, (cb>0?ca/cb:0) }'
  done
fi

echo
echo "# one-way latency, 60 B, 10 kpps, 20000 frames; NF in latency mode on CPU ${NF_CPU}, gen+sink on CPU ${GEN_CPU}"
lat() { nice -n "$PRIO" "$BENCH" latency --gen-ns "$G" --gen-dev "$1" --sink-ns "$S" --sink-dev "$2" \
        --pps 10000 --count 20000 --gen-cpu "$GEN_CPU" --sink-cpu "$GEN_CPU"; }
base=$(lat ${P}g1 ${P}s1)
bp50=$(echo "$base" | json p50_us)
echo "direct veth (baseline): $base"
for kind in ${ONLY//,/ }; do
  available "$kind" || continue
  mode=latency; [ "$kind" = refclick ] && mode=throughput
  start_nf "$kind" "$mode" || continue
  r=$(lat ${P}g0 ${P}s0 || true)
  stop_nf
  p50=$(echo "$r" | json p50_us)
  echo "$kind: $r"
  [ -n "$p50" ] && awk -v a="$p50" -v b="$bp50" -v k="$kind" 'BEGIN{printf "added p50 %s: %.2f us\n", k, a-b}'
done
