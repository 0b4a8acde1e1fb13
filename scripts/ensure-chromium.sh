#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; install it when it is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "Installing Debian's chromium for the browser tests."
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || [ ! -x /usr/bin/chromium ]; then
  echo "Could not install chromium (apt-get install chromium); the browser tests cannot run." >&2
  exit 1
fi
