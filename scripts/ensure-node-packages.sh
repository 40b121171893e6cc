#!/usr/bin/env bash
# System packages the local node needs (Debian): libseccomp and pkg-config to build runc with
# seccomp, and the tools the node uses at run time (iptables/nftables, ipset, conntrack, iproute2,
# unshare/nsenter). Installs only what is missing; apt-get update runs once, only when needed.
set -euo pipefail
want=(libseccomp-dev libseccomp2 pkg-config gcc iptables nftables ipset conntrack iproute2 util-linux)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "[setup] the node needs these Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "[setup] installing Debian packages for the node: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
