#!/usr/bin/env bash
# Builds the guest binaries statically linked (glibc static via crt-static; the musl target is
# used instead when installed) so the guest initramfs needs no shared libraries:
#   target/<triple>/<profile>/{coo-guest-init,coo-vnf,coo-click}
# `coo-bench image build` picks these up before the (dynamic) siblings of its own executable.
# Usage: scripts/vm-guest-static.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
triple=x86_64-unknown-linux-gnu
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  triple=x86_64-unknown-linux-musl
fi
# --target keeps RUSTFLAGS away from build scripts and proc macros (which cannot be static).
export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
cargo build "$@" --target "$triple" -p vmdriver --bin coo-guest-init
cargo build "$@" --target "$triple" --bin coo-vnf --bin coo-click
echo "static guest binaries in target/$triple/$([ "${1:-}" = --release ] && echo release || echo debug)"
