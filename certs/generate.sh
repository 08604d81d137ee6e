#!/usr/bin/env bash
# Generates a private certificate chain for local runs and tests: a root CA, an
# intermediate CA, and a server certificate for localhost / 127.0.0.1 / ::1.
#   server.crt  leaf followed by the intermediate (the full chain a server must send)
#   server.key  the server's private key
#   ca.crt      the root, for clients (`tls_ca_file`) and curl --cacert
#   client.crt/client.key  a client certificate signed by the same root (mutual TLS tests)
# and, for the Salesforce JWT bearer flow of the local demo (salesforce.private_key, and the
# Salesforce sandbox's --public-key), an RSA 2048 key pair with a self-signed certificate:
#   salesforce-jwt.key  the private key (PKCS#8 PEM)
#   salesforce-jwt.pub  its public key (PEM)
#   salesforce-jwt.crt  a certificate for it, the form a Salesforce connected app takes
# Nothing here is secret beyond the local machine; the files are never committed. Existing
# files are kept unless --force; --no-jwt-key skips the RSA pair (the test suite makes its
# own keys in-process).
# Usage: certs/generate.sh [OUT_DIR] [--force] [--no-jwt-key]
set -euo pipefail
out="${1:-$(dirname "$0")}"
[ $# -gt 0 ] && shift
force=""
jwt_key=yes
for arg in "$@"; do
  case "$arg" in
    --force) force=--force ;;
    --no-jwt-key) jwt_key=no ;;
    *) echo "usage: certs/generate.sh [OUT_DIR] [--force] [--no-jwt-key]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
tls_needed=yes
if [ -s "$out/server.crt" ] && [ -s "$out/server.key" ] && [ "$force" != "--force" ]; then
  tls_needed=no
fi
jwt_needed=no
if [ "$jwt_key" = yes ] && { [ ! -s "$out/salesforce-jwt.key" ] || [ "$force" = "--force" ]; }; then
  jwt_needed=yes
fi
if [ "$tls_needed" = no ] && [ "$jwt_needed" = no ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
days=825

if [ "$jwt_needed" = yes ]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$work/salesforce-jwt.key" 2>/dev/null
  openssl pkey -in "$work/salesforce-jwt.key" -pubout -out "$work/salesforce-jwt.pub" 2>/dev/null
  openssl req -new -x509 -key "$work/salesforce-jwt.key" -days $days \
    -subj "/O=Connector Local/CN=Connector Salesforce JWT" \
    -out "$work/salesforce-jwt.crt" 2>/dev/null
  install -m 600 "$work/salesforce-jwt.key" "$out/salesforce-jwt.key"
  install -m 644 "$work/salesforce-jwt.pub" "$out/salesforce-jwt.pub"
  install -m 644 "$work/salesforce-jwt.crt" "$out/salesforce-jwt.crt"
  echo "certs: wrote salesforce-jwt.key, salesforce-jwt.pub, salesforce-jwt.crt to $out"
fi
if [ "$tls_needed" = no ]; then
  exit 0
fi

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
