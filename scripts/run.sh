#!/usr/bin/env bash
# README command 1: install what is missing, build what the demo needs (the connector and
# the two sandbox programs, not the test suite), make local certificates and secrets, start
# local iSpring Learn and Salesforce sandboxes, and run the service on loopback with
# config/example.json. Prints how long each step took, and a line once the first demo user
# has reached the iSpring sandbox. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step_started=$SECONDS
step() {  # step NAME: ends the previous step's clock
  echo "run: $1 took $((SECONDS - step_started)) s"
  step_started=$SECONDS
}

scripts/install-deps.sh
step "installing what was missing"
TARGETS="connector ispring_sandbox salesforce_sandbox" scripts/build.sh
step "building connector and the sandboxes"
certs/generate.sh certs
mkdir -p var
if [ ! -s var/admin-token ]; then
  (umask 077; openssl rand -hex 24 > var/admin-token)
  echo "run: wrote a new admin token to var/admin-token"
fi
if [ ! -s var/ispring-client-secret ]; then
  (umask 077; openssl rand -hex 24 > var/ispring-client-secret)
fi
step "certificates and secrets"

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
watcher_pid=
trap 'kill "$sandbox_pid" "$salesforce_pid" $watcher_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s var/ispring-sandbox.ready ] && [ -s var/salesforce-sandbox.ready ] && break
  sleep 0.1
done
step "starting the sandboxes"
echo "run: iSpring sandbox at https://localhost:9443 (state: GET /_sandbox/state)"
echo "run: Salesforce sandbox at https://localhost:9444 (users: GET /_sandbox/log, PATCH /_sandbox/users/ID)"

# Says when the start-up reconciliation has put the first demo user into the iSpring sandbox.
(
  for _ in $(seq 1 600); do
    if curl -sf --cacert certs/ca.crt https://localhost:9443/_sandbox/state 2>/dev/null |
      grep -q '@acme.example'; then
      echo "run: first demo user synced to the iSpring sandbox, $((SECONDS - started)) s after run.sh started"
      exit 0
    fi
    sleep 0.2
  done
  echo "run: no demo user reached the iSpring sandbox within 2 minutes; see the log above"
) &
watcher_pid=$!

echo "run: starting the connector (Ctrl-C stops it)"
build/connector serve --config config/example.json "$@"
