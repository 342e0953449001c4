#!/usr/bin/env bash
# Make PostgreSQL's server binaries (initdb, pg_ctl) available to the sync tests, which start a
# throwaway cluster of their own. Installs Debian's package when they are missing; idempotent.
set -euo pipefail

if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || {
    echo "postgres.sh: installed postgresql, but no initdb under /usr/lib/postgresql" >&2
    exit 1
}
