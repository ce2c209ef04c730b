#!/usr/bin/env bash
# Installs a real S3-compatible test server (s3s-fs, from crates.io) into
# target/tools/bin/s3s-fs. Idempotent: skips when that version is already there.
#
# Start it (path-style; any region is accepted in the SigV4 scope):
#   target/tools/bin/s3s-fs --host 127.0.0.1 --port 8014 \
#       --access-key KEY --secret-key SECRET /path/to/data-dir
#
# Everything (binary and build dir) stays under target/, so a clean clone/CI
# builds it once and `cargo clean` removes it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

S3S_FS_VERSION="0.14.1" # newest s3s-fs whose rust-version (1.92) fits rustc 1.95; 0.15+ need 1.96
ROOT_DIR="target/tools"
BIN="$ROOT_DIR/bin/s3s-fs"

installed_version() {
    [[ -x "$BIN" ]] || return 0
    "$BIN" --version 2>/dev/null | awk '{print $2}' || true
}

if [[ "$(installed_version)" == "$S3S_FS_VERSION" ]]; then
    echo "s3s-fs $S3S_FS_VERSION already installed, skipping build" >&2
else
    echo "Installing s3s-fs $S3S_FS_VERSION (first build takes a few minutes)..." >&2
    CARGO_TARGET_DIR="$PWD/target/tools-build" \
        cargo install s3s-fs \
        --version "=$S3S_FS_VERSION" \
        --features binary \
        --locked \
        --force \
        --root "$PWD/$ROOT_DIR"
    got="$(installed_version)"
    if [[ "$got" != "$S3S_FS_VERSION" ]]; then
        echo "error: $BIN reports version '${got:-none}', expected $S3S_FS_VERSION" >&2
        exit 1
    fi
fi

echo "S3 server installed: $BIN"
