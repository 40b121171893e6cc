#!/usr/bin/env bash
# System packages (Debian) that the toolchain build and the local node need:
#   build: gcc, pkg-config and libseccomp-dev (runc is built with seccomp), jq and curl (the build
#          script), time (it records each binary's peak memory), ca-certificates (module downloads)
#   node:  libseccomp2 (runc at run time), iptables and nftables, ipset, conntrack (kube-proxy and
#          the NetworkPolicy enforcer), iproute2 (ip, network namespaces), util-linux (unshare, nsenter)
#   hosts: openssh-server (sshd for the hosts target's test lab; each lab host starts its own sshd
#          in namespaces of its own, the package's service is never started: see below)
# Installs only what is missing; `apt-get update` runs at most once, and only when something is
# missing. Idempotent: a second run installs nothing and prints nothing.
set -euo pipefail
want=(gcc pkg-config libseccomp-dev jq curl time ca-certificates
  libseccomp2 iptables nftables ipset conntrack iproute2 util-linux openssh-server)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup] missing system packages: ${missing[*]}; this script installs them with apt-get (Debian/Ubuntu) only: install them yourself" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "[setup] the toolchain and the node need these Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "[setup] installing Debian packages for the toolchain build and the node: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Installing openssh-server must not start an sshd on this machine: without a policy-rc.d, one that
# forbids starting services (exit 101) is put in place for the install and removed after it.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
if ! apt-get update -qq >/dev/null; then
  echo "[setup] apt-get update failed: Debian's package repositories are not reachable" >&2
  exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "[setup] apt-get install ${missing[*]} failed" >&2
  exit 1
fi
echo "[setup] installed: ${missing[*]}" >&2
