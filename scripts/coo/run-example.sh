#!/bin/sh
# Runs PyCOO's example execution script (x: forward, y: firewall, z: forward) on a netns
# testbed of topologies/pycoo-xyz.json: up, instantiate, update, end, down.
# Needs root (network namespaces). Usage: scripts/coo/run-example.sh [SCRIPT]
# The functions named in the script (FUNCTIONS/forward.click, ...) are found by file name in
# topologies/functions (PyCOO ships none).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
script=${1:-$here/sfcscript.json}
bin=${COO_BENCH:-$root/target/debug/coo-bench}
run=coo-example-$$
"$bin" up "$root/topologies/pycoo-xyz.json" --run-id "$run"
trap '"$bin" down "$run"' EXIT
for task in instantiate update end; do
    echo "== $task"
    "$bin" exec "$script" "$task" --run "$run"
done
