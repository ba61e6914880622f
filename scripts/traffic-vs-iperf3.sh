#!/usr/bin/env bash
# Generator+sink (crates/traffic) vs iperf3 UDP on a bare veth pair, 64-byte frames, side by
# side in one run (alternating, ROUNDS times each; medians reported).
#
#   sudo scripts/traffic-vs-iperf3.sh            # DUR=3 ROUNDS=3 by default
#
# Both tools run unpinned with the same namespaces and veth pair. iperf3 uses `-u -l 18 -b 0`
# (18 B UDP payload + 8 + 20 + 14 = 60 B + 4 B FCS = 64 B frames); its rate is the receiver's
# (packets − lost) / seconds. Ours is the sink's received frames / sending window at an offered
# rate above what one core can send. Needs root, iproute2, iperf3, python3, cargo.
set -euo pipefail
DUR=${DUR:-3}
ROUNDS=${ROUNDS:-3}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 2; }
for tool in ip iperf3 python3 cargo; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install iproute2 iperf3 python3)" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
S=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')
A="cbt${S}a"; B="cbt${S}b"
cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null || true
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
ip link add "${A}0" netns "$A" type veth peer name "${B}0" netns "$B"
for n in "$A" "$B"; do
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip -n "$n" link set lo up
done
ip -n "$A" addr add 198.18.0.1/30 dev "${A}0"
ip -n "$B" addr add 198.18.0.2/30 dev "${B}0"
ip -n "$A" link set "${A}0" up
ip -n "$B" link set "${B}0" up

cargo build --release -q -p traffic --example blast
BLAST=target/release/examples/blast
[ -x "$BLAST" ] || BLAST="${CARGO_TARGET_DIR:-target}/release/examples/blast"

ip netns exec "$B" iperf3 -s -p 5201 >/dev/null 2>&1 &
SERVER_PID=$!
sleep 0.5

ours=(); theirs=()
for i in $(seq "$ROUNDS"); do
  o=$("$BLAST" "$A" "${A}0" "$B" "${B}0" 20000000 "$DUR" 64)
  echo "round $i coo-bench traffic: $o"
  ours+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rx_pps"])' "$o")")
  j=$(ip netns exec "$A" iperf3 -c 198.18.0.2 -p 5201 -u -l 18 -b 0 -t "$DUR" --json)
  r=$(python3 -c '
import json,sys
d=json.loads(sys.argv[1])["end"]["sum"]
print((d["packets"]-d["lost_packets"])/d["seconds"])' "$j")
  echo "round $i iperf3 -u -l 18: rx_pps=$r"
  theirs+=("$r")
done
python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import statistics, sys
o = [float(x) for x in sys.argv[1].split()]
t = [float(x) for x in sys.argv[2].split()]
mo, mt = statistics.median(o), statistics.median(t)
print(f"median received rate, 64 B frames: coo-bench traffic {mo/1e6:.3f} Mpps, iperf3 {mt/1e6:.3f} Mpps, ratio {mo/mt:.2f}x")
PY
