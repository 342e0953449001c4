#!/usr/bin/env bash
# Make Debian's chromium available to the public status page's browser tests (Playwright
# drives it through executable_path; Playwright's own browser download cannot work here).
# Installs the package when /usr/bin/chromium is missing; idempotent.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
[ -x /usr/bin/chromium ] || {
    echo "chromium.sh: installed chromium, but there is no /usr/bin/chromium" >&2
    exit 1
}
