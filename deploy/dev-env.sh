#!/bin/sh
# Prints NAME=<random hex> for every secret docker-compose.yml requires (written `${NAME:?...}`)
# that .env (next to docker-compose.yml) does not set yet, for a local stack only:
#     deploy/dev-env.sh >> .env && docker compose up --build
# Appending keeps what is there: after an update that adds a service only its new secrets are
# added, and POSTGRES_PASSWORD stays the one the existing Postgres volume was initialised with.
# Hex values need no quoting in a database URL and are long enough for API keys (16+ chars);
# each is drawn separately, so no two tenants share a key.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
env_file="$root/.env"
# A hand-edited .env may lack its final newline; the first appended name must not join it.
if [ -s "$env_file" ] && [ -n "$(tail -c 1 "$env_file")" ]; then
    echo
fi
grep -o '\${[A-Za-z0-9_]*:?' "$root/docker-compose.yml" | sed 's/^\${//; s/:?$//' | sort -u |
    while read -r name; do
        if [ -f "$env_file" ] && grep -q "^$name=" "$env_file"; then
            continue
        fi
        printf '%s=%s\n' "$name" "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
    done
