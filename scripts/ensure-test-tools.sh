#!/usr/bin/env bash
# Installs, once, the system tools the tests use beyond npm packages: Debian's chromium (report.html browser
# test). LocalStack's Python venv is created by the integration tests' global setup on first use.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "pseudolabel tests need Debian's chromium: apt-get install chromium (as root)" >&2
  exit 1
fi
echo "installing chromium (Debian package) for the report browser test..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
