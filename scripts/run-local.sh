#!/usr/bin/env bash
# Starts the local stand-ins (SQS, Kinesis, DynamoDB, Redis on 127.0.0.1) and the gateway with
# config/ingest.local.yaml. Then, from another shell:
#   curl -XPOST localhost:8080/v1/events -H 'content-type: application/json' -d '{"temp":21}'
# Ctrl+C stops the gateway (it drains queued events first); `scripts/standins.sh stop` stops the rest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/standins.sh start
exec dotnet run --project src/Ingest.Gateway -c Release -- serve --config "${1:-config/ingest.local.yaml}"
