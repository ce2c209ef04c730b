#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts PostgreSQL for the store tests,
# and runs every test of the workspace. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-debian-deps.sh
scripts/install-test-tools.sh   # the real tus clients (tuspy, tus-js-client) the upload tests drive
GALA_TEST_POSTGRES_URL=$(scripts/postgres-for-tests.sh)
export GALA_TEST_POSTGRES_URL
echo "store tests on SQLite and on PostgreSQL ($GALA_TEST_POSTGRES_URL)"

cargo test --workspace --locked "$@"
