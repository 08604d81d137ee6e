#!/usr/bin/env bash
# The installed layout, without a package manager (ctest `package_unit`): `cmake --install`
# into a DESTDIR; `systemd-analyze verify` passes on the unit there and `systemd-analyze
# security` rates it at most 2.0; the config and the unit agree on the credentials; the
# manual page covers every subcommand; a placeholder maintainer stops the configure; and the
# shipped config loads once an admin replaced its placeholders and put the files in place.
# Usage: tests/package/unit_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir="$(cd "$1" && pwd)"
source_dir="$(cd "$2" && pwd)"
work="$(mktemp -d /tmp/connector-package-unit-XXXXXX)"
trap 'rm -rf "$work"' EXIT
stage="$work/root"
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR="$stage" cmake --install "$build_dir" >/dev/null
unit="$(find "$stage" -name connector.service -path '*/systemd/system/*')"
[ -n "$unit" ] || fail "no connector.service installed"
unit_dir="${unit#"$stage"}"; unit_dir="${unit_dir%/connector.service}"
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
binary="${exec_start%% *}"
config="$(sed -n 's/.* --config \([^ ]*\).*/\1/p' <<<"$exec_start")"
[ -x "$stage$binary" ] || fail "ExecStart names $binary, not installed there"
[ -f "$stage$config" ] || fail "ExecStart reads $config, not installed there"
[ -f "$stage$(dirname "$config")/README" ] || fail "no README beside the config"
# Installed without a package, the secrets' directory is root's alone from the start (the
# .deb ships it 0755 and its postinst closes it: scripts/package-test.sh).
credentials="$stage$(dirname "$config")/credentials"
[ "$(stat -c %a "$credentials")" = 700 ] || fail "$credentials: mode $(stat -c %a "$credentials")"

# The manual page covers every subcommand `connector --help` lists, with its options.
man_page="$stage/usr/share/man/man1/connector.1.gz"
[ -f "$man_page" ] || fail "no manual page at /usr/share/man/man1/connector.1.gz"
page="$(zcat "$man_page")"
subcommands="$("$stage$binary" --help | sed -n '/^Subcommands:$/,$ s/^  \([a-z][a-z-]*\) .*/\1/p')"
[ -n "$subcommands" ] || fail "connector --help lists no subcommands"
for subcommand in $subcommands; do
  grep -qF ".SS \"connector ${subcommand//-/\\-} " <<<"$page" ||
    fail "the manual page has no section for connector $subcommand"
done
grep -qxF '\fB\-\-dry\-run\fR' <<<"$page" || fail "the manual page lacks reconcile --dry-run"
# Debian's documentation of the package: copyright, and a changelog of this version.
[ -f "$stage/usr/share/doc/connector/copyright" ] || fail "no copyright file"
zcat "$stage/usr/share/doc/connector/changelog.Debian.gz" | head -1 | grep -q '^connector (' ||
  fail "no changelog.Debian.gz"
# A placeholder maintainer stops the configure, naming the variable (the old default was
# one; lintian refuses root and localhost).
for maintainer in "connector maintainers <root@localhost>" "Ops <root@example.com>" \
                  "ops@example.com"; do
  if out="$(cmake -S "$source_dir" -B "$work/configure" -DCONNECTOR_BUILD_TESTS=OFF \
              -DCONNECTOR_BUILD_BENCH=OFF "-DCONNECTOR_MAINTAINER=$maintainer" 2>&1)"; then
    fail "the build configured with maintainer \"$maintainer\""
  fi
  grep -q "CONNECTOR_MAINTAINER" <<<"$out" || fail "maintainer \"$maintainer\": $out"
  rm -rf "$work/configure"
done

# verify resolves the unit's dependencies (sysinit.target, …) and ExecReload's /bin/kill
# under --root: the host's own units and kill stand in for the rest of the system.
cp -rn /lib/systemd/system/. "$stage$unit_dir/"
mkdir -p "$stage/bin" && cp /bin/kill "$stage/bin/kill"
systemd-analyze verify --root="$stage" --man=no connector.service ||
  fail "systemd-analyze verify"
security="$(systemd-analyze security --offline=true --root="$stage" --threshold=20 \
  connector.service)" || { echo "$security"; fail "systemd-analyze security above 2.0"; }
echo "${security##*$'\n'}"

# Every secret the config reads from $CREDENTIALS_DIRECTORY is loaded by the unit, and
# every credential the unit loads is read by the config.
credentials_dir=/run/credentials/connector.service
from_config="$(grep -o "$credentials_dir/[a-z0-9-]*" "$stage$config" | sed "s|$credentials_dir/||" | sort -u)"
from_unit="$(sed -n 's/^LoadCredential=\([^:]*\):.*/\1/p' "$unit" | sort -u)"
[ "$from_config" = "$from_unit" ] ||
  fail "config reads credentials [$from_config], unit loads [$from_unit]"

# The shipped config refuses to start until the admin supplied what it names: first the
# certificate, then (with the files in place) the organization id.
connector="$stage$binary"
if out="$("$connector" status --config "$stage$config" 2>&1)"; then
  fail "the config loaded without a certificate"
fi
grep -q "server.tls.certificate" <<<"$out" || fail "no certificate: $out"

# The files in place as README.etc says (under $work instead of /etc, /run and /var/lib).
bash "$source_dir/certs/generate.sh" "$work/certs" --force --no-jwt-key >/dev/null
mkdir -p "$work/credentials" "$work/state" "$work/tls"
cp "$work/certs/server.crt" "$work/tls/server.crt"
cp "$work/certs/server.key" "$work/credentials/tls-key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/credentials/salesforce-jwt-key" 2>/dev/null
openssl rand -hex 32 >"$work/credentials/admin-token"
echo "ispring-secret" >"$work/credentials/ispring-client-secret"
# As the postinst makes it (packaging/debian/postinst.in).
head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$work/credentials/intake-path-segment"
config_dir="$(dirname "$config")"
sed -e "s|$credentials_dir|$work/credentials|g" -e "s|$config_dir/tls|$work/tls|g" \
    -e "s|/var/lib/connector|$work/state|g" "$stage$config" >"$work/connector.json"
if out="$("$connector" status --config "$work/connector.json" 2>&1)"; then
  fail "the config loaded with placeholders"
fi
grep -q "salesforce.organization_ids" <<<"$out" || fail "placeholders: $out"
sed -i "s|REPLACE-WITH-YOUR-ORGANIZATION-ID|00D5g000004XyZaEAK|" "$work/connector.json"
# It serves on the public address, locked by the secret path segment the package made: on
# port 0, and with the schedule left to the admin page (manual until saved there), so
# nothing leaves this machine.
grep -q '"schedule"' "$work/connector.json" && fail "the packaged config sets the schedule"
sed -i -e 's|"0.0.0.0:8443"|"0.0.0.0:0"|' -e 's|"127.0.0.1:8444"|"127.0.0.1:0"|' \
    "$work/connector.json"
# Without that lock the same config is refused, naming the keys that lock it.
grep -v '"secret_path_segment"' "$work/connector.json" |
  sed 's|"events_path": "/salesforce/events",|"events_path": "/salesforce/events"|' >"$work/unlocked.json"
if out="$("$connector" serve --config "$work/unlocked.json" 2>&1)"; then
  fail "serve started on 0.0.0.0 without a lock"
fi
grep -q "server.secret_path_segment" <<<"$out" || fail "unlocked: $out"
"$connector" serve --config "$work/connector.json" --ready-file "$work/ready.json" \
  >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ -s "$work/ready.json" ] || ! kill -0 "$pid" 2>/dev/null && break
  sleep 0.1
done
[ -s "$work/ready.json" ] || { cat "$work/serve.log"; fail "the edited config does not serve"; }
kill -TERM "$pid"
wait "$pid" || { cat "$work/serve.log"; fail "serve did not stop cleanly"; }
[ -f "$work/state/connector.db" ] || fail "no database in the state directory"
echo "package unit: ok"
