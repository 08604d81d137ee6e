#!/usr/bin/env bash
# Generates a private certificate chain for local runs and tests: a root CA, an
# intermediate CA, and a server certificate for localhost / 127.0.0.1 / ::1.
#   server.crt  leaf followed by the intermediate (the full chain a server must send)
#   server.key  the server's private key
#   ca.crt      the root, for clients (`tls_ca_file`) and curl --cacert
#   client.crt/client.key  a client certificate signed by the same root (mutual TLS tests)
# Nothing here is secret beyond the local machine; the files are never committed.
# Usage: certs/generate.sh [OUT_DIR] [--force]
set -euo pipefail
out="${1:-$(dirname "$0")}"
force="${2:-}"
mkdir -p "$out"
if [ -s "$out/server.crt" ] && [ -s "$out/server.key" ] && [ "$force" != "--force" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
days=825

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/O=Connector Local/CN=Connector Local Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=Connector Local/CN=Connector Local Intermediate CA" \
  -keyout "$work/intermediate.key" -out "$work/intermediate.csr" 2>/dev/null
cat > "$work/intermediate.ext" <<EXT
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
EXT
openssl x509 -req -in "$work/intermediate.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 1825 -extfile "$work/intermediate.ext" -out "$work/intermediate.crt" 2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
cat > "$work/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$work/server.csr" -CA "$work/intermediate.crt" -CAkey "$work/intermediate.key" \
  -CAcreateserial -days $days -extfile "$work/server.ext" -out "$work/server.leaf.crt" 2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=Connector Local/CN=proxy.salesforce.test" \
  -keyout "$work/client.key" -out "$work/client.csr" 2>/dev/null
cat > "$work/client.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EXT
openssl x509 -req -in "$work/client.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days $days -extfile "$work/client.ext" -out "$work/client.crt" 2>/dev/null

cat "$work/server.leaf.crt" "$work/intermediate.crt" > "$out/server.crt"
install -m 600 "$work/server.key" "$out/server.key"
install -m 644 "$work/ca.crt" "$out/ca.crt"
install -m 644 "$work/client.crt" "$out/client.crt"
install -m 600 "$work/client.key" "$out/client.key"
echo "certs: wrote server.crt (leaf + intermediate), server.key, ca.crt, client.crt, client.key to $out"
