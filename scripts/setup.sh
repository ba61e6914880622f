#!/usr/bin/env bash
# Installs what a fresh Debian machine of this kind lacks to build, test and run coo-bench.
# Idempotent; run as root. Used by .ci/run; `coo-bench doctor --fix` runs scripts/vm-setup.sh too.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# iproute2: ip/tc for namespaces, veths, kernel-forward; libvirt-dev + pkg-config: the `virt`
# crate links libvirt; iperf3: the generator-vs-iperf3 benchmark script; nftables: the
# reliability suite's random-loss fault (this kernel has no netem); graphviz: `coo-bench graph
# --format svg|png`; chromium: the headless-browser tests of report.html and compare's page
# (crates/measure/tests/report_html.rs, compare_html.rs); openssh-server + openssh-client: the
# remote-host network path (ssh to a host) and its test, which runs a private sshd inside a
# simulated host's namespace (tests/testbed_hosts_ssh.rs; the system sshd is not used), reached
# through socat from the controller's simulated underlay namespace.
pkgs=(iproute2 pkg-config libvirt-dev iperf3 nftables graphviz chromium openssh-client openssh-server socat)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
