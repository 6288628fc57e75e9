#!/usr/bin/env bash
# npm run demo: installs what it needs, then runs tlskeeper's whole maintenance
# cycle against a sandbox on 127.0.0.1 (scripts/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "npm run demo needs root: it installs Debian packages and starts Exim and BIND on loopback" >&2
  exit 2
fi
bash scripts/install-system-deps.sh
if [ ! -x node_modules/.bin/tsx ]; then npm ci --no-audit --no-fund; fi
exec node --import tsx scripts/demo.ts "$@"
