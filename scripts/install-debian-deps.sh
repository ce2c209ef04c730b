#!/usr/bin/env bash
# Installs the Debian 12 packages Gala needs to build, test and run the demo.
# Safe to run again: apt-get skips what is already there.
set -euo pipefail

packages=(
  # build: ffmpeg-next links FFmpeg 5.1 through pkg-config and bindgen (clang)
  pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libavdevice-dev
  libswscale-dev libswresample-dev
  # run and test: the ffmpeg CLI makes test media and serves as the reference in benches
  ffmpeg
  # fonts for host cards and contact sheets
  fonts-noto-cjk fonts-dejavu-core
  # speech for the Whisper captions test (known English sentences) and the host voice-over
  espeak-ng
  # PostgreSQL for the multi-node store tests
  postgresql postgresql-client
  # the real tus clients of the upload tests: tuspy (Python) and tus-js-client (Node)
  python3 python3-venv nodejs
  # the browser test of the creator's pages (studio-web/tests/browser.rs, playwright-core)
  chromium
  # the RTMP server the live playout tests publish to (nginx with the rtmp module)
  nginx-light libnginx-mod-rtmp
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# npm: Debian packages it apart from nodejs; a NodeSource nodejs brings its own.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-debian-deps: all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
