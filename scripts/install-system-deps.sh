#!/usr/bin/env bash
# Installs the Debian 12 packages tlskeeper's tests and demo start on loopback.
# Idempotent: does nothing when every tool is already present. Never starts the
# packaged services (policy-rc.d answers 101): the tests start their own copies.
set -euo pipefail

need=()
check() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
check exim4        exim4-daemon-heavy
check swaks        swaks
check named        bind9
check nsupdate     bind9-dnsutils
check dig          bind9-dnsutils
check tsig-keygen  bind9-utils
check knotd        knot
check kdig         knot-dnsutils
check pebble       pebble
check certtool     gnutls-bin
check danetool     gnutls-bin
check ldns-dane    ldnsutils
check tlsa         hash-slinger
check pdns_server  pdns-server
[ -e /usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so ] || [ -n "$(ls /usr/lib/*/pdns/libgsqlite3backend.so 2>/dev/null)" ] || need+=(pdns-backend-sqlite3)
check sqlite3      sqlite3
check ss           iproute2
check openssl      openssl
check certbot      certbot
check lego         lego
check dehydrated   dehydrated
# swaks needs Net::SSLeay for --tls / --tlsc (test/support/exim.ts users).
perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || need+=(libnet-ssleay-perl)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-system-deps: everything present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${need[*]}; run as root (apt-get install) or install them yourself" >&2
  exit 1
fi
mapfile -t uniq < <(printf '%s\n' "${need[@]}" | sort -u)
echo "install-system-deps: installing ${uniq[*]}"
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${uniq[@]}"
# Packaged daemons must not hold the ports or the zone files the tests use.
for svc in exim4 named bind9 knot pdns; do
  pkill -x "$svc" 2>/dev/null || true
done
pkill -x named 2>/dev/null || true; pkill -x knotd 2>/dev/null || true; pkill -x exim4 2>/dev/null || true; pkill -x pdns_server 2>/dev/null || true
echo "install-system-deps: done"
