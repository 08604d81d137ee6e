#!/usr/bin/env bash
# Installs the Debian packages the build, the service and the tests need, by name, and
# only those that are missing. Safe to run again.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # libraries (README "Dependencies" says what each is for)
  libboost1.81-dev libboost-url1.81-dev libssl-dev libsqlite3-dev libpq-dev libpugixml-dev nlohmann-json3-dev
  libspdlog-dev libcli11-dev libhowardhinnant-date-dev libsystemd-dev libcurl4-openssl-dev
  tzdata
  # tools: certificates for local runs, the database shell for operators
  openssl sqlite3 ca-certificates curl
  # tests: GoogleTest, clang with its libFuzzer runtime for the fuzz targets, and
  # promtool (in prometheus) to check what GET /metrics says
  googletest libgtest-dev clang libclang-rt-14-dev prometheus
  # tests: a real PostgreSQL server, started by the tests in a temporary folder
  postgresql-15
  # tests: a real SMTP server (STARTTLS, AUTH) that receives the alert e-mails
  python3 python3-aiosmtpd
  # tests: the admin page in a real headless browser (tests/browser/)
  chromium chromium-driver python3-selenium
  # packaging: the .deb's library dependencies, the unit checks, a clean root to install into,
  # the manual page made from --help, and Debian's checks of the .deb
  dpkg-dev systemd debootstrap help2man lintian
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
