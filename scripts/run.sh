#!/usr/bin/env bash
# README command 1: install what is missing, build, make local certificates and secrets,
# start local iSpring Learn and Salesforce sandboxes, and run the service on loopback with
# config/example.json. Ctrl-C stops all three.
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
if [ ! -s var/ispring-client-secret ]; then
  (umask 077; openssl rand -hex 24 > var/ispring-client-secret)
fi

# The sandbox stands in for iSpring Learn (https://localhost:9443) until you point
# config/example.json's "ispring" section at your account.
rm -f var/ispring-sandbox.ready
build/tests/ispring_sandbox --listen 127.0.0.1:9443 --cert certs/server.crt --key certs/server.key \
  --client-id local-sandbox --client-secret "$(cat var/ispring-client-secret)" \
  --ready-file var/ispring-sandbox.ready >var/ispring-sandbox.log 2>&1 &
sandbox_pid=$!
# The Salesforce sandbox (https://localhost:9444) holds four demo users and accepts the JWT
# bearer flow signed with certs/salesforce-jwt.key, as a connected app with its certificate.
rm -f var/salesforce-sandbox.ready
build/tests/salesforce_sandbox --listen 127.0.0.1:9444 --cert certs/server.crt \
  --key certs/server.key --client-id local-sandbox --username integration@example.com \
  --public-key certs/salesforce-jwt.pub --org-id 00D5g000004XyZaEAK \
  --seed config/demo-salesforce-users.json \
  --ready-file var/salesforce-sandbox.ready >var/salesforce-sandbox.log 2>&1 &
salesforce_pid=$!
trap 'kill "$sandbox_pid" "$salesforce_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s var/ispring-sandbox.ready ] && [ -s var/salesforce-sandbox.ready ] && break
  sleep 0.1
done
echo "run: iSpring sandbox at https://localhost:9443 (state: GET /_sandbox/state)"
echo "run: Salesforce sandbox at https://localhost:9444 (users: GET /_sandbox/log, PATCH /_sandbox/users/ID)"

echo "run: starting the connector (Ctrl-C stops it)"
build/connector serve --config config/example.json "$@"
