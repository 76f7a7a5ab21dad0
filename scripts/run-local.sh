#!/usr/bin/env bash
# Starts the local stand-ins (SQS, Kinesis, DynamoDB, Redis on 127.0.0.1) and the gateway with
# config/ingest.local.yaml. Then, from another shell:
#   curl -XPOST localhost:8080/v1/events -H 'content-type: application/json' -d '{"temp":21}'
# Ctrl+C stops the gateway (it drains queued events first); `scripts/standins.sh stop` stops the rest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/standins.sh start
# Build, then run the built gateway from the repository root, so relative paths in the config
# (the config itself, access log, WAL, spill files) resolve here: `dotnet run` may start the
# program in the project's folder instead.
dotnet build src/Ingest.Gateway -c Release -nologo -v q
exec dotnet src/Ingest.Gateway/bin/Release/net10.0/ingest.dll serve --config "${1:-config/ingest.local.yaml}"
