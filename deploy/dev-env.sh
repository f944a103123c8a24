#!/bin/sh
# Prints NAME=<random hex> for every secret docker-compose.yml requires (written `${NAME:?...}`),
# for a local stack only:
#     deploy/dev-env.sh > .env && docker compose up --build
# Hex values need no quoting in a database URL and are long enough for API keys (16+ chars);
# each is drawn separately, so no two tenants share a key.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
grep -o '\${[A-Za-z0-9_]*:?' "$root/docker-compose.yml" | sed 's/^\${//; s/:?$//' | sort -u |
    while read -r name; do
        printf '%s=%s\n' "$name" "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
    done
