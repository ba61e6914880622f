#!/usr/bin/env bash
# Prepares a Debian host for the coo-bench VM driver: QEMU + libvirt running WITHOUT systemd.
# Idempotent; run as root. Used by `coo-bench doctor --fix`; CI may run it directly.
# Never creates or starts libvirt's `default` network (testbed safety rule).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

pkgs=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dev pkg-config
      qemu-system-x86 qemu-utils binutils xz-utils
      syslinux syslinux-common mtools dosfstools)  # last four: `image build --disk`
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "vm-setup: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libvirtd resolves its compiled-in default QEMU user/group (Debian: libvirt-qemu, kvm) before it
# reads qemu.conf; libvirt-daemon-system would create them, but it pulls in systemd units.
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null ||
  useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin \
    --gid libvirt-qemu --groups kvm libvirt-qemu

# `coo-bench image build` resolves and downloads the guest kernel with apt: needs package lists.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  apt-get update -qq
fi

mkdir -p /var/run/libvirt /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /etc/libvirt

# QEMU runs as root without a security driver: no systemd/polkit/apparmor on these hosts, and
# the guest kernel, initramfs and console logs live in root-owned directories.
conf=/etc/libvirt/qemu.conf
touch "$conf"
changed=0
set_kv() {
  local key=$1 val=$2
  if grep -qE "^[[:space:]]*${key}[[:space:]]*=[[:space:]]*${val}[[:space:]]*$" "$conf"; then
    return
  fi
  changed=1
  if grep -qE "^[[:space:]]*${key}[[:space:]]*=" "$conf"; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*|${key} = ${val}|" "$conf"
  else
    echo "${key} = ${val}" >>"$conf"
  fi
}
set_kv user '"root"'
set_kv group '"root"'
set_kv security_driver '"none"'

if ! pgrep -x virtlogd >/dev/null; then
  virtlogd -d
fi
if pgrep -x libvirtd >/dev/null && [ "$changed" = 1 ] && [ -f /var/run/libvirtd.pid ]; then
  # Restart the daemon we configure so it reads the new qemu.conf.
  kill "$(cat /var/run/libvirtd.pid)" || true
  for _ in $(seq 50); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done
fi
if ! pgrep -x libvirtd >/dev/null; then
  libvirtd -d
fi
for _ in $(seq 100); do
  [ -S /var/run/libvirt/libvirt-sock ] && break
  sleep 0.1
done
virsh -c qemu:///system version >/dev/null
echo "vm-setup: libvirt ready ($(virsh -c qemu:///system version | grep -i 'running hypervisor' || true))"
