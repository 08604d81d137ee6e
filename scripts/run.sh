#!/usr/bin/env bash
# README command 1: install what is missing, build, make local certificates and an admin
# token, and run the service on loopback with config/example.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
certs/generate.sh certs
mkdir -p var
if [ ! -s var/admin-token ]; then
  (umask 077; openssl rand -hex 24 > var/admin-token)
  echo "run: wrote a new admin token to var/admin-token"
fi
echo "run: starting the connector (Ctrl-C stops it)"
exec build/connector serve --config config/example.json "$@"
