#!/usr/bin/env bash
# Runs the fuzz targets (tests/Ingest.FuzzTests) for longer than CI does.
#   scripts/fuzz.sh            each target 30 s or 100,000 inputs (the CI budget)
#   scripts/fuzz.sh 600        each target 600 s, no input limit
#   scripts/fuzz.sh 600 json   only targets whose test name contains "json"
# New random inputs on every run (FUZZ_SEED=random); the test suite uses a fixed seed, and
# FUZZ_SEED=<number> repeats a run.
# Prints executions, seconds and findings per target; findings' inputs are written to
# TestResults/fuzz/<target>/. Make each one a regression test (Regressions/FoundByFuzzingTests.cs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
seconds="${1:-}"
filter="${2:-}"
if [ -n "$seconds" ]; then
  export FUZZ_SECONDS="$seconds" FUZZ_EXECUTIONS="${FUZZ_EXECUTIONS:-1000000000000}"
fi
export FUZZ_SEED="${FUZZ_SEED:-random}"
export FUZZ_RESULTS="$ROOT/TestResults/fuzz"
rm -f "$FUZZ_RESULTS/summary.txt"
dotnet build tests/Ingest.FuzzTests -c Release 2>&1 | tail -n 2
status=0
dotnet test tests/Ingest.FuzzTests -c Release --no-build \
  --filter "FullyQualifiedName~Ingest.FuzzTests${filter:+&FullyQualifiedName~$filter}" \
  --logger "console;verbosity=normal" || status=$?
echo
cat "$FUZZ_RESULTS/summary.txt" 2>/dev/null || echo "no fuzz target ran"
exit "$status"
