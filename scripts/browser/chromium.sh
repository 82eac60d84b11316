#!/usr/bin/env bash
# Prints the path of a Chromium the browser tests can drive, installing Debian's `chromium`
# package when none is there (browser downloads by playwright or puppeteer do not work here).
# KSCHED_CHROMIUM, when set, names the executable to use instead.
# Usage: bash scripts/browser/chromium.sh   (prints e.g. /usr/bin/chromium)
set -euo pipefail

if [ -n "${KSCHED_CHROMIUM:-}" ]; then
  [ -x "$KSCHED_CHROMIUM" ] || { echo "chromium.sh: KSCHED_CHROMIUM=$KSCHED_CHROMIUM is not an executable" >&2; exit 1; }
  echo "$KSCHED_CHROMIUM"
  exit 0
fi

find_chromium() {
  for name in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  return 1
}

if path=$(find_chromium); then
  echo "$path"
  exit 0
fi

echo "chromium.sh: installing Debian's chromium package (once per machine)" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "chromium.sh: not root and no sudo: install the chromium package, or set KSCHED_CHROMIUM" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 || echo "chromium.sh: apt-get update failed; trying the install with the package lists there are" >&2
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2
path=$(find_chromium) || { echo "chromium.sh: chromium is still not on PATH after the install" >&2; exit 1; }
echo "$path"
