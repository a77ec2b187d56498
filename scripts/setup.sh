#!/usr/bin/env bash
# Installs whatever is missing on a Debian/Ubuntu machine for building, testing and running
# clp-flow. Safe to run again: it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
for pkg in pkg-config libyaml-dev libopenblas-dev libsqlite3-dev libssl-dev libpng-dev sqlite3 python3-venv ${CLP_FLOW_EXTRA_APT:-}; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done

# The English package-description index is the built-in `debian-descriptions` dataset.
have_index=0
if ls /var/lib/apt/lists/*_i18n_Translation-en* >/dev/null 2>&1; then have_index=1; fi

if [ ${#need_apt[@]} -gt 0 ] || [ $have_index = 0 ]; then
    echo "setup: apt-get update (with the English description index)" >&2
    $SUDO apt-get -o Acquire::Languages=en update -qq
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]}" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: the Swift toolchain (6.0 or newer) is required: https://swift.org/install" >&2
    exit 1
fi
