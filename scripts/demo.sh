#!/usr/bin/env bash
# Sets everything up and runs the end-to-end demo on the embedded default (SQLite, local disk):
# installs the Debian packages, builds gala, generates varied clips and ingests them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-debian-deps.sh
cargo build --locked
exec target/debug/gala demo "$@"
