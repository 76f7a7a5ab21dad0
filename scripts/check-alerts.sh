#!/usr/bin/env bash
# Checks the Prometheus alert rules offline: syntax (`promtool check rules`) and behaviour
# (`promtool test rules`: e.g. the 5xx rule fires at 30 errors in 5 minutes and not at 10).
# Installs promtool (Debian package prometheus) when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found: installing the Debian package prometheus" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

promtool check rules ops/alerts.yml
promtool test rules ops/alerts.test.yml
