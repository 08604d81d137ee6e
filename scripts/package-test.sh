#!/usr/bin/env bash
# The .deb on a clean machine (run by scripts/test.sh; needs root for chroot, as CI has).
# Builds the package with CPack from the build directory, checks it with lintian (no error,
# no warning), unpacks a fresh minimal Debian 12 root (debootstrap --variant=minbase, made
# once and cached), and there: `dpkg -i` it,
# lets apt bring its Depends, and checks that the files land where the unit expects them,
# the user exists, the config is a conffile kept across upgrades, and remove and purge
# clean up. Nothing is started: there is no systemd in the root (tests/e2e/
# systemd_notify_test.cpp covers the notifications with the real binary).
#
# Network: debootstrap and apt reach Debian's mirror on the first run; the root image and
# the downloaded .debs stay in $CONNECTOR_PACKAGE_CACHE for the next runs.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
cache="${CONNECTOR_PACKAGE_CACHE:-/var/cache/connector-package-test}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
started=$SECONDS
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  echo "package-test: skipped: needs root (chroot); CI runs as root"
  exit 0
fi

# 1. The package. Its unit names the paths of the install prefix, which must be /usr (the
# default since packaging/ came; a build directory configured before keeps /usr/local).
if ! grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$build_dir/CMakeCache.txt"; then
  echo "package-test: setting CMAKE_INSTALL_PREFIX=/usr in $build_dir"
  cmake -DCMAKE_INSTALL_PREFIX=/usr "$build_dir" >/dev/null
fi
# What the package holds: the binary and its manual page (a no-op when built already).
cmake --build "$build_dir" --target connector connector_man >/dev/null
rm -f "$build_dir"/connector_*.deb
(cd "$build_dir" && cpack -G DEB >cpack.log 2>&1) || { cat "$build_dir/cpack.log"; fail "cpack"; }
deb="$(ls "$build_dir"/connector_*_"$(dpkg --print-architecture)".deb)"
version="$(dpkg-deb -f "$deb" Version)"
echo "package-test: built $(basename "$deb") in $((SECONDS - started)) s"

# Debian's own checks: not one error or warning (packaging/debian/lintian-overrides says
# why its one override cannot be fixed). Infos are printed, not counted.
lintian --display-info --fail-on error,warning "$deb" || fail "lintian"
echo "package-test: lintian clean in $((SECONDS - started)) s"

# 2. A clean root, from the cached image.
image="$cache/$suite-minbase.tar"
if [ ! -f "$image" ]; then
  echo "package-test: making the $suite minbase image (once; a few minutes)"
  mkdir -p "$cache"
  bootstrap="$(mktemp -d "$cache/bootstrap-XXXXXX")"
  chmod 755 "$bootstrap"  # apt downloads as _apt
  debootstrap --variant=minbase "$suite" "$bootstrap" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log"; fail "debootstrap"; }
  cp /etc/resolv.conf "$bootstrap/etc/resolv.conf"
  chroot "$bootstrap" apt-get update -qq  # the lists stay in the image
  chroot "$bootstrap" apt-get clean
  tar -C "$bootstrap" -cf "$image.tmp" . && mv "$image.tmp" "$image"
  rm -rf "$bootstrap"
fi
root="$(mktemp -d /tmp/connector-package-root-XXXXXX)"
# In memory where the machine lets us mount one: unpacking and dpkg are several times faster.
if mount -t tmpfs -o size=2g,mode=755 connector-package-test "$root" 2>/dev/null; then
  trap 'umount "$root"; rmdir "$root"' EXIT
else
  trap 'rm -rf "$root"' EXIT
fi
tar -C "$root" -xf "$image"
chmod 755 "$root"  # apt downloads as _apt; the service user must reach its files
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A throwaway root: dpkg need not fsync every file it unpacks.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/connector-package-test"
mkdir -p "$cache/archives"
cp -n "$cache/archives/"*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive "$@"; }
echo "package-test: clean root ready in $((SECONDS - started)) s"

# 3. dpkg -i on the clean root: its libraries are missing, so dpkg leaves it unconfigured
# and apt-get -f brings what Depends names (which proves Depends complete: the binary runs).
cp "$deb" "$root/tmp/connector.deb"
in_root dpkg -i /tmp/connector.deb >"$root/tmp/dpkg.log" 2>&1 || true
if ! in_root apt-get install -f -y -qq --no-install-recommends >"$root/tmp/apt.log" 2>&1; then
  echo "package-test: refreshing the package lists"
  in_root apt-get update -qq  # the image's lists went stale
  in_root apt-get install -f -y -qq --no-install-recommends >"$root/tmp/apt.log" 2>&1 ||
    { cat "$root/tmp/dpkg.log" "$root/tmp/apt.log"; fail "apt-get -f install"; }
fi
cp -n "$root/var/cache/apt/archives/"*.deb "$cache/archives/" 2>/dev/null || true
[ "$(in_root dpkg-query -W -f='${Status}' connector)" = "install ok installed" ] ||
  fail "connector is not installed: $(cat "$root/tmp/dpkg.log")"
echo "package-test: installed with its dependencies in $((SECONDS - started)) s"

# 4. Where the unit expects them.
unit="$root/lib/systemd/system/connector.service"
[ -f "$unit" ] || fail "no unit at /lib/systemd/system/connector.service"
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
binary="${exec_start%% *}"
config="$(sed -n 's/.* --config \([^ ]*\).*/\1/p' <<<"$exec_start")"
in_root "$binary" --help >/dev/null || fail "$binary does not run in the clean root"
[ -f "$root$config" ] || fail "no config at $config"
while read -r source; do
  [ -d "$root$(dirname "$source")" ] || fail "no directory for LoadCredential source $source"
done < <(sed -n 's/^LoadCredential=[^:]*://p' "$unit")
[ -x "$root/bin/kill" ] || fail "ExecReload's /bin/kill is missing (procps)"
# What Debian asks of every package: its copyright, its changelog (newest entry: this
# version), a manual page for its command.
[ -f "$root/usr/share/doc/connector/copyright" ] || fail "no /usr/share/doc/connector/copyright"
changelog_top="$(zcat "$root/usr/share/doc/connector/changelog.Debian.gz" | head -1)"
[[ "$changelog_top" == "connector ($version) "* ]] ||
  fail "changelog.Debian.gz starts \"$changelog_top\", not version $version"
zcat "$root/usr/share/man/man1/connector.1.gz" | grep -q '^\.SS "connector serve' ||
  fail "no manual page for connector serve at /usr/share/man/man1/connector.1.gz"
# The installed root's own kill and libraries; the host's units stand in for systemd's.
cp -rn /lib/systemd/system/. "$root/lib/systemd/system/"
systemd-analyze verify --root="$root" --man=no connector.service || fail "systemd-analyze verify"

# 5. The user, and who may read what.
IFS=: read -r _ _ uid _ _ home shell < <(in_root getent passwd connector) ||
  fail "no user connector"
[ "$uid" -lt 1000 ] && [ "$home" = /var/lib/connector ] && [ "$shell" = /usr/sbin/nologin ] ||
  fail "user connector: uid $uid, home $home, shell $shell"
in_root getent group connector >/dev/null || fail "no group connector"
check_mode() {  # names as the root's own passwd and group files say
  local got
  got="$(in_root stat -c '%U:%G %a' "$2")"
  [ "$got" = "$1" ] || fail "$2: $got, want $1"
}
check_mode "root:connector 750" /etc/connector
check_mode "root:connector 640" "$config"
check_mode "root:root 700" /etc/connector/credentials
chroot --userspec=connector:connector "$root" cat "$config" >/dev/null ||
  fail "the service user cannot read the config"
if chroot --userspec=connector:connector "$root" ls /etc/connector/credentials >/dev/null 2>&1; then
  fail "the service user can read the credentials' sources"
fi
in_root dpkg-query -W -f='${Conffiles}\n' connector | grep -q "^ $config " ||
  fail "$config is not a conffile"
# The intake's lock, made by the postinst: root's alone, unguessable, URL-safe.
segment=/etc/connector/credentials/intake-path-segment
check_mode "root:root 600" "$segment"
segment_value="$(cat "$root$segment")"
[[ "$segment_value" =~ ^[A-Za-z0-9_-]{40,}$ ]] || fail "$segment: not 40+ base64url characters"
grep -qF -e "$segment_value" "$root/tmp/dpkg.log" "$root/tmp/apt.log" && fail "the postinst printed the segment"

# 6. Upgrades keep an edited config: a newer package with the same shipped config replaces
# it silently; one whose shipped config changed too keeps the admin's and puts its own
# beside it (as apt does with --force-confold, or after asking).
# (The admin listener's port: the schedule and the mapping are the admin page's now, not the
# file's.)
sed -i 's/"127.0.0.1:8444"/"127.0.0.1:8445"/' "$root$config"
grep -q '"127.0.0.1:8445"' "$root$config" || fail "the admin's edit of the config did not take"
repack() {  # version, sed expression for the shipped config
  rm -rf "$root/tmp/repack"
  dpkg-deb -R "$deb" "$root/tmp/repack"
  sed -i "s/^Version: .*/Version: $1/" "$root/tmp/repack/DEBIAN/control"
  sed -i "$2" "$root/tmp/repack$config"
  dpkg-deb --root-owner-group -b "$root/tmp/repack" "$root/tmp/connector-$1.deb" >/dev/null
}
repack "$version+upgrade1" 's/^//'
# The .deb ships the credentials' directory 0755 (as Debian ships directories) and the
# postinst made it 0700: unpacking an upgrade, before its postinst runs, must not open it
# again, not even for a moment.
[ "$(dpkg-deb -c "$deb" | awk '$NF == "./etc/connector/credentials/" {print $1}')" = drwxr-xr-x ] ||
  fail "the .deb does not ship /etc/connector/credentials/ as 0755 (lintian would say so)"
in_root dpkg --unpack "/tmp/connector-$version+upgrade1.deb" >/dev/null || fail "unpack upgrade 1"
check_mode "root:root 700" /etc/connector/credentials
in_root dpkg --configure connector >/dev/null || fail "upgrade 1"
grep -q '"127.0.0.1:8445"' "$root$config" || fail "upgrade 1 overwrote the config"
[ ! -e "$root$config.dpkg-dist" ] || fail "upgrade 1 offered an unchanged config"
check_mode "root:connector 640" "$config"
repack "$version+upgrade2" 's/"127.0.0.1:8444"/"127.0.0.1:8446"/'
grep -q '"127.0.0.1:8446"' "$root/tmp/repack$config" || fail "upgrade 2's config did not change"
in_root dpkg -i --force-confold "/tmp/connector-$version+upgrade2.deb" >/dev/null </dev/null ||
  fail "upgrade 2"
grep -q '"127.0.0.1:8445"' "$root$config" || fail "upgrade 2 overwrote the config"
grep -q '"127.0.0.1:8446"' "$root$config.dpkg-dist" ||
  fail "upgrade 2 did not leave its own config beside it"
[ "$(in_root getent passwd | grep -c '^connector:')" = 1 ] || fail "the user was made twice"
[ "$(cat "$root$segment")" = "$segment_value" ] || fail "an upgrade replaced the intake path segment"

# 7. Remove keeps the config; purge takes config and state, and keeps the user.
mkdir -p "$root/var/lib/connector" && touch "$root/var/lib/connector/connector.db"
in_root dpkg -r connector >/dev/null || fail "dpkg -r"
[ ! -e "$root$binary" ] || fail "dpkg -r left $binary"
[ -f "$root$config" ] || fail "dpkg -r took the config"
in_root dpkg --purge connector >/dev/null || fail "dpkg --purge"
[ ! -e "$root/etc/connector" ] || fail "purge left /etc/connector"
[ ! -e "$root/var/lib/connector" ] || fail "purge left /var/lib/connector"
in_root getent passwd connector >/dev/null || fail "purge removed the system user"

echo "package-test: ok in $((SECONDS - started)) s"
