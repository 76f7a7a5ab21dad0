#!/usr/bin/env bash
# Runs the whole test suite: starts the stand-ins the integration tests need, builds once, runs
# every test project, prints one summary line, stops the stand-ins it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

started_standins=0
if ! scripts/standins.sh status >/dev/null 2>&1; then
  scripts/standins.sh start
  started_standins=1
fi
cleanup() { if [ "$started_standins" = 1 ]; then scripts/standins.sh stop || true; fi; }
trap cleanup EXIT

mkdir -p TestResults
log="TestResults/test-output.log"
status=0
dotnet build Ingest.sln -c Release -warnaserror 2>&1 | tail -n 3
# Tests that start the gateway as a process (crash, outage, drain, scale-out) run the native
# executable, as the container image does.
scripts/publish-native.sh 2>&1 | tail -n 2
export INGEST_GATEWAY_EXE="$ROOT/artifacts/native/ingest"
# Each project's hang timeout bounds a stuck test; the whole run is bounded by `timeout`.
timeout 25m dotnet test Ingest.sln -c Release --no-build \
  --blame-hang-timeout 5m --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?

sum() { { grep -Eo "$1: +[0-9]+" "$log" || true; } | awk '{ n += $2 } END { print n + 0 }'; }
passed=$(sum Passed); failed=$(sum Failed); skipped=$(sum Skipped)
# Failures again at the end, with their messages, so the tail of the output says what failed.
if grep -qE "^ +Failed [A-Za-z]" "$log"; then
  echo "failed tests:"
  grep -E -A 12 "^ +Failed [A-Za-z]" "$log" | cut -c1-300
fi
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$passed" = 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
