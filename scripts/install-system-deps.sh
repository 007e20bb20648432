#!/usr/bin/env bash
# Install the Debian packages the test suite needs, if they are missing:
#   postgresql     real PostgreSQL servers (tests/servers.py)
#   redis-server   real Redis servers (tests/servers.py)
#   dovecot-imapd  a real IMAP server for the email connector
#   chromium       the browser Playwright drives (never `playwright install`)
#   docker-compose validates docker-compose.yml against the Compose specification
#                  (tests/test_deployment.py; no Docker daemon needed)
#
# Idempotent: when everything is present it only says so (no apt-get update).
# It never starts a service: the tests start their own servers on loopback.
set -euo pipefail

# dovecot lives in /usr/sbin, which is not on an ordinary user's PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing=()

have_postgresql() {
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
        && compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}
have_redis() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }
have_dovecot() {
    command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/imap ] \
        && dpkg -s dovecot-imapd >/dev/null 2>&1
}
have_chromium() { command -v chromium >/dev/null; }
have_compose() { command -v docker-compose >/dev/null; }

have_postgresql || missing+=(postgresql)
have_redis || missing+=(redis-server)
have_dovecot || missing+=(dovecot-imapd)
have_chromium || missing+=(chromium)
have_compose || missing+=(docker-compose)

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-system-deps: postgresql, redis-server, dovecot-imapd, chromium, docker-compose already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null; then
    SUDO=(sudo)
else
    echo "install-system-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-system-deps: not root and sudo is not available; as root run:" >&2
    echo "    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null; then
    echo "install-system-deps: apt-get not found (this script is for Debian); install: ${missing[*]}" >&2
    exit 1
fi

# Keep the packages' maintainer scripts from starting their services (the
# postgresql package creates a cluster and would start it). policy-rc.d exiting
# 101 makes invoke-rc.d refuse. Only our own file is removed afterwards.
POLICY=/usr/sbin/policy-rc.d
remove_policy=false
cleanup() {
    if $remove_policy; then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# temporary, from panjereh scripts/install-system-deps.sh\nexit 101\n' \
        | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    remove_policy=true
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"

# Check again: a package that installed but left no usable binary is an error.
still=()
have_postgresql || still+=(postgresql)
have_redis || still+=(redis-server)
have_dovecot || still+=(dovecot-imapd)
have_chromium || still+=(chromium)
have_compose || still+=(docker-compose)
if [ ${#still[@]} -ne 0 ]; then
    echo "install-system-deps: still missing after install: ${still[*]}" >&2
    exit 1
fi
echo "install-system-deps: done"
