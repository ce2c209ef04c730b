#!/usr/bin/env bash
# Makes sure a local PostgreSQL server runs and prints a URL for the store tests
# (a role that may create databases: each test makes its own and drops it).
# Fails when the server cannot be reached.
set -euo pipefail

url_ok() { psql "$1" -qtAc 'select 1' >/dev/null 2>&1; }

if [ -n "${GALA_TEST_POSTGRES_URL:-}" ]; then
  url_ok "$GALA_TEST_POSTGRES_URL" || { echo "PostgreSQL at GALA_TEST_POSTGRES_URL is unreachable" >&2; exit 1; }
  echo "$GALA_TEST_POSTGRES_URL"; exit 0
fi

url="postgres://gala:gala@127.0.0.1:5432/postgres"
if ! url_ok "$url"; then
  # Start the cluster if it is installed but down (no systemd in containers).
  if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
    cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
    [ -n "$cluster" ] || { echo "no PostgreSQL cluster installed (scripts/install-debian-deps.sh)" >&2; exit 1; }
    pg_ctlcluster --skip-systemctl-redirect $cluster start >&2
  fi
  for _ in $(seq 1 30); do
    runuser -u postgres -- psql -qtAc 'select 1' >/dev/null 2>&1 && break
    sleep 1
  done
  runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtAc \
    "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gala') THEN
       CREATE ROLE gala LOGIN CREATEDB PASSWORD 'gala'; END IF; END \$\$;" >&2
fi
url_ok "$url" || { echo "PostgreSQL at $url is unreachable" >&2; exit 1; }
echo "$url"
