#!/usr/bin/env bash
# Installs (as root, from Debian's archive) every package hb's tests and benchmark use, when
# missing, and checks that the programs they rely on are there. Used by .ci/run and by
# `./run test` / `./run bench` on a fresh machine. Exits non-zero, saying what is missing, when
# it cannot install them (not root, no apt).
set -euo pipefail

# pacemaker-cli-utils gives crm_verify, crm_simulate and crm_mon (tests/export_pacemaker_test.ts
# checks `heartbeat export pacemaker` with them, offline); resource-agents has the OCF agents
# (IPaddr2). corosync and pacemaker: the bench's peer columns (bench/peers.ts) run them inside
# the testbed's namespaces only; policy-rc.d keeps the package scripts from starting them and
# their units are taken out of multi-user.target below (no config of ours is in /etc/corosync).
# logrotate: tests/package_install_test.ts rotates ha-log with the package's policy.
# prometheus: only for promtool (the metrics tests check our output with it); policy-rc.d below
# keeps its daemon from starting. keepalived: only for the bench (service suite, peer columns; run
# inside the testbed's namespaces); its unit never starts (policy-rc.d, no /etc/keepalived config).
packages=(heartbeat cluster-glue socat nftables tcpdump iproute2 iputils-arping iputils-ping
  stress-ng procps psmisc util-linux python3 curl pacemaker-cli-utils pacemaker-remote
  resource-agents prometheus logrotate keepalived corosync pacemaker)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "FATAL: missing Debian packages: ${missing[*]} (run as root on Debian to install them)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  # never let package scripts start daemons on this machine
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  rm -f /usr/sbin/policy-rc.d
  # the packages enable their units for the next boot: only the programs are wanted here
  for u in pacemaker_remote corosync pacemaker keepalived; do
    rm -f "/etc/systemd/system/multi-user.target.wants/$u.service"
  done
  # a heartbeat started by the package would fight our tests
  pkill -x heartbeat 2>/dev/null || true
fi
for c in /usr/libexec/heartbeat/heartbeat /usr/bin/cl_status socat nft ip unshare nsenter \
  tcpdump arping ping stress-ng pkill python3 crm_verify /usr/lib/ocf/resource.d/heartbeat/IPaddr2 \
  promtool logrotate keepalived corosync corosync-cfgtool pacemakerd crm_mon crm_attribute cibadmin; do
  if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "$c" ]; then
    echo "FATAL: required program $c is missing after installation" >&2
    exit 1
  fi
done
