#!/usr/bin/env bash
# One NF between two veths, engines side by side in one run (issue #14, docs/performance-io.md):
#   gen netns -> veth -> NF netns (two veths) -> veth -> sink netns   (+ a direct gen -> sink veth)
#
# Each engine gets the one-NF function the way the agent gives it to that engine:
#   refclick           reference Click, the agent's rewrite of FromDPDKDevice(0) -> ToDPDKDevice(1):
#                      FromDevice(n0, METHOD LINUX, SNIFFER false, BURST 32) -> Queue(1024) -> ToDevice(n1, BURST 32)
#   coo-click:MODE     coo-click --ports n0,n1 --io-mode MODE (MODE: balanced, throughput, latency)
#   fastclick          FastClick, the function unchanged on DPDK's af_packet PMD (busy-polls its CPU)
#   raw                click-io's raw forwarder, no Click graph (the I/O floor)
# Every NF runs alone on NF_CPU, at the same priority; generator on GEN_CPU.
#
# 1. Forwarding: the generator sends as fast as it can for SECONDS_PER_RUN; forwarded rate =
#    frames counted by the sink veth's kernel counter / generator seconds; NF CPU per frame.
# 2. Latency at a common offered load: LOAD_PCT % (default 50) of the forwarded rate of the
#    LOAD_OF kind (default coo-click:balanced), the same for every NF: a 10 kpps probe stream with
#    payload timestamps plus background frames the sink's ring does not take; one-way p50/p99
#    minus the same over the direct veth at the same load.
#
# Needs root. Env: COO_BENCH_REFERENCE_CLICK, COO_BENCH_FASTCLICK (binaries; kinds whose binary
# is absent are skipped with a reason), COO_CLICK (default target/release/coo-click),
# SECONDS_PER_RUN (5), REPS (3), SIZE (60 = 64 B with FCS), NF_CPU (1), GEN_CPU (0), PRIO (-10),
# ONLY (kinds, comma-separated), LOAD_PCT (50), LOAD_OF (coo-click:balanced), IO_BENCH (a built
# io-bench binary: skips the build), RX_BUFFER_KIB (8192: every engine's receive buffer per
# interface, as the agent gives it: coo-click's ring, FastClick's framecnt, reference Click's
# packet sockets forced by the agent's `sockbuf` after start).
# Namespaces are named cbtXXXX* and removed on exit; no address is configured anywhere.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=${SECONDS_PER_RUN:-5}
REPS=${REPS:-3}
SIZE=${SIZE:-60}
NF_CPU=${NF_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
PRIO=${PRIO:--10}
REF=${COO_BENCH_REFERENCE_CLICK:-}
FC=${COO_BENCH_FASTCLICK:-}
COO=${COO_CLICK:-$ROOT/target/release/coo-click}
ONLY=${ONLY:-refclick,coo-click:balanced,coo-click:throughput,coo-click:latency,fastclick}
LOAD_PCT=${LOAD_PCT:-50}
LOAD_OF=${LOAD_OF:-coo-click:balanced}
RXKIB=${RX_BUFFER_KIB:-8192}
FRAMECNT=$((RXKIB / 2))

[ "$(id -u)" = 0 ] || { echo "skipped: needs root" >&2; exit 0; }

BENCH=${IO_BENCH:-$ROOT/target/release/examples/io-bench}
if [ -z "${IO_BENCH:-}" ]; then
  echo "building io-bench (release)..." >&2
  (cd "$ROOT" && cargo build --release -q -p click-io --example io-bench)
fi
SOCKBUF=${SOCKBUF:-$ROOT/target/release/examples/sockbuf}
[ -x "$SOCKBUF" ] || (cd "$ROOT" && cargo build --release -q -p agent --example sockbuf)

P=cbt$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
G=${P}g N=${P}n S=${P}s
NF_PID=
cleanup() {
  [ -n "$NF_PID" ] && kill "$NF_PID" 2>/dev/null && wait "$NF_PID" 2>/dev/null || true
  for ns in "$G" "$N" "$S"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "/var/run/dpdk/coo-$P" 2>/dev/null || true
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
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TCK=$(getconf CLK_TCK)
json() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
FUNC="FromDPDKDevice(0) -> ToDPDKDevice(1);"
REFCFG="FromDevice(${P}n0, METHOD LINUX, SNIFFER false, BURST 32) -> Queue(1024) -> ToDevice(${P}n1, BURST 32);"

start_nf() { # kind
  local run=(ip netns exec "$N" nice -n "$PRIO" taskset -c "$NF_CPU")
  case $1 in
    refclick) "${run[@]}" "$REF" -e "$REFCFG" >/dev/null 2>&1 & ;;
    coo-click:*) "${run[@]}" "$COO" --io-mode "${1#coo-click:}" --rx-buffer-kib "$RXKIB" --ports ${P}n0,${P}n1 -e "$FUNC" >/dev/null 2>&1 & ;;
    fastclick) "${run[@]}" "$FC" --dpdk -l "$NF_CPU" --no-huge -m 512 --no-pci --no-shconf --file-prefix="coo-$P" \
                 --vdev=net_af_packet0,iface=${P}n0,framecnt=$FRAMECNT --vdev=net_af_packet1,iface=${P}n1,framecnt=$FRAMECNT \
                 -- -e "$FUNC" >/dev/null 2>&1 & ;;
    raw) "${run[@]}" "$BENCH" fwd --in ${P}n0 --out ${P}n1 --mode throughput --seconds 3600 >/dev/null 2>&1 & ;;
  esac
  NF_PID=$!
  sleep 1.5
  kill -0 "$NF_PID" 2>/dev/null || { echo "NF $1 failed to start" >&2; NF_PID=; return 1; }
  if [ "$1" = refclick ]; then
    # The same kernel buffer as the other engines (Click has no option for it).
    local click_pid; click_pid=$(pgrep -P "$NF_PID" -x click || pgrep -P "$NF_PID" || echo "$NF_PID")
    "$SOCKBUF" "$click_pid" $((RXKIB * 1024)) >/dev/null || { echo "refclick: could not set its socket buffers" >&2; return 1; }
  fi
}
stop_nf() { [ -n "$NF_PID" ] && { kill "$NF_PID" 2>/dev/null; wait "$NF_PID" 2>/dev/null || true; NF_PID=; }; }

available() {
  case $1 in
    refclick) [ -n "$REF" ] && [ -x "$REF" ] || { echo "skip refclick: COO_BENCH_REFERENCE_CLICK not set or not executable" >&2; return 1; } ;;
    fastclick) [ -n "$FC" ] && [ -x "$FC" ] || { echo "skip fastclick: COO_BENCH_FASTCLICK not set or not executable" >&2; return 1; } ;;
    coo-click:*) [ -x "$COO" ] || { echo "skip $1: $COO not built (cargo build --release)" >&2; return 1; } ;;
  esac
}

declare -A BEST CAP
echo "# forwarding, ${SIZE} B frames (+FCS), ${SECS}s x ${REPS} per NF, NF on CPU ${NF_CPU}, generator on CPU ${GEN_CPU}"
printf '%-22s %-4s %10s %10s %10s %12s %14s\n' nf rep offered_mpps fwd_mpps loss_pct nf_cpu_us/pkt capacity_mpps
for rep in $(seq 1 "$REPS"); do
  for kind in ${ONLY//,/ }; do
    available "$kind" || continue
    start_nf "$kind" || continue
    before=$(sink_rx); t0=$(cpu_ticks "$NF_PID")
    out=$(ip netns exec "$G" nice -n "$PRIO" taskset -c "$GEN_CPU" "$BENCH" gen --dev ${P}g0 --seconds "$SECS" --size "$SIZE")
    sleep 0.3
    after=$(sink_rx); t1=$(cpu_ticks "$NF_PID")
    stop_nf
    sent=$(echo "$out" | json sent); el=$(echo "$out" | json seconds)
    fwd=$((after - before))
    read -r off mpps loss cpp cap < <(awk -v s="$sent" -v f="$fwd" -v t="$el" -v c=$((t1 - t0)) -v hz="$TCK" \
      'BEGIN{us = (f>0 ? c/hz*1e6/f : 0); printf "%.3f %.3f %.2f %.3f %.3f\n", s/t/1e6, f/t/1e6, (s>0?100*(s-f)/s:0), us, (us>0?1/us:0)}')
    printf '%-22s %-4s %10s %10s %10s %12s %14s\n' "$kind" "$rep" "$off" "$mpps" "$loss" "$cpp" "$cap"
    CAP[$kind]=$(awk -v a="${CAP[$kind]:-0}" -v b="$cap" 'BEGIN{print (b>a?b:a)}')
    BEST[$kind]=$(awk -v a="${BEST[$kind]:-0}" -v b="$mpps" 'BEGIN{print (b>a?b:a)}')
  done
done
echo
for kind in ${ONLY//,/ }; do [ -n "${BEST[$kind]:-}" ] && echo "best $kind: ${BEST[$kind]} Mpps forwarded, capacity ${CAP[$kind]} Mpps per NF core (busy-polling engines use their whole core)"; done
if [ -n "${BEST[refclick]:-}" ]; then
  for kind in ${ONLY//,/ }; do
    [ "$kind" = refclick ] && continue
    [ -n "${BEST[$kind]:-}" ] && awk -v a="${BEST[$kind]}" -v b="${BEST[refclick]}" -v k="$kind" \
      'BEGIN{ if (b>0) printf "ratio %s / refclick: %.2f forwarded\n", k, a/b }'
  done
fi

ref_rate=${BEST[$LOAD_OF]:-}
[ -n "$ref_rate" ] || { echo "no forwarding rate for $LOAD_OF: latency not measured" >&2; exit 0; }
load=$(awk -v r="$ref_rate" -v p="$LOAD_PCT" 'BEGIN{printf "%d", r*1e6*p/100}')
bg=$((load > 10000 ? load - 10000 : 0))
echo
echo "# one-way latency at ${load} frames/s offered (${LOAD_PCT}% of ${LOAD_OF}'s forwarded rate): 10 kpps probes + ${bg} background, 20000 probes"
lat() { nice -n "$PRIO" "$BENCH" latency --gen-ns "$G" --gen-dev "$1" --sink-ns "$S" --sink-dev "$2" \
        --pps 10000 --count 20000 --load-pps "$bg" --gen-cpu "$GEN_CPU" --sink-cpu "$GEN_CPU"; }
base=$(lat ${P}g1 ${P}s1)
bp50=$(echo "$base" | json p50_us); bp99=$(echo "$base" | json p99_us)
echo "direct veth (baseline): $base"
for kind in ${ONLY//,/ }; do
  [ "$kind" = raw ] && continue
  available "$kind" || continue
  start_nf "$kind" || continue
  r=$(lat ${P}g0 ${P}s0 || true)
  stop_nf
  p50=$(echo "$r" | json p50_us); p99=$(echo "$r" | json p99_us)
  echo "$kind: $r"
  [ -n "$p50" ] && awk -v a="$p50" -v b="$bp50" -v c="$p99" -v d="$bp99" -v k="$kind" \
    'BEGIN{printf "added %s: p50 %.1f us, p99 %.1f us\n", k, a-b, c-d}'
done
