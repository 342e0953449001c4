#!/usr/bin/env bash
# Make Prometheus Alertmanager (prometheus-alertmanager, amtool) available to the alert tests,
# which start a throwaway Alertmanager of their own. Installs Debian's package when it is
# missing; idempotent. Its service is not started (tests run their own, on free ports).
set -euo pipefail

if command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1
then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: the package's scripts must not start a system-wide Alertmanager.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || {
    echo "alertmanager.sh: installed prometheus-alertmanager, but prometheus-alertmanager or" \
        "amtool is not on PATH" >&2
    exit 1
}
