#!/usr/bin/env bash
# Proxy overhead of the http target: wrk against a bare Kestrel backend (load/Baseline, POST / ->
# 202) directly, then through the gateway (route POST /v1/proxy -> type: http -> the same backend,
# no auth, access log to a file), same run, same wrk settings. Prints req/s, p50 and p99 of both
# and the gateway/direct ratio.
#
#   load/proxy.sh                  # 10s each
#   DURATION=30s load/proxy.sh
#   NO_BUILD=1 load/proxy.sh       # use the existing Release builds
#
# Environment: DURATION [10s], WARMUP [15s], CONNECTIONS [64], THREADS [2], BASE_PORT [16080].
# The warm-up is long because the gateway's path (Kestrel, the gateway, YARP, SocketsHttpHandler)
# runs several hundred methods that the JIT recompiles optimized only after they got hot: on
# 2 cores the gateway uses 3-5x the CPU per request for its first ~15 s under load, against a
# backend of a few methods that is warm after a second.
# Exit 1 when either run got a non-2xx answer; 2 when wrk is missing or a server does not start.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
PORT="${BASE_PORT:-16080}"

die() { printf 'proxy: ERROR: %s\n' "$*" >&2; exit 2; }
command -v wrk >/dev/null 2>&1 || die "wrk not found (apt package wrk)"

OUT="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT

free_port() { # sets FREE to a free port at or above $PORT and moves $PORT past it
  while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done
  FREE=$PORT; PORT=$((PORT + 1))
}

wait_for() { # URL: until it answers at all (20 s)
  for _ in $(seq 1 200); do
    curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{}' "$1" && return 0
    sleep 0.1
  done
  die "$1 did not answer"
}

if [[ "${NO_BUILD:-0}" != "1" ]]; then
  dotnet build load/Baseline -c Release -nologo -v q >"$OUT/build-baseline.log" 2>&1 || die "build failed: load/Baseline"
  dotnet build src/Ingest.Gateway -c Release -nologo -v q >"$OUT/build-gateway.log" 2>&1 || die "build failed: src/Ingest.Gateway"
fi

free_port; BACKEND_PORT=$FREE
free_port; GATEWAY_PORT=$FREE
free_port; ADMIN_PORT=$FREE
dotnet load/Baseline/bin/Release/net10.0/ingest-load-baseline.dll --urls "http://127.0.0.1:$BACKEND_PORT" >"$OUT/backend.log" 2>&1 &
PIDS+=($!)

cat >"$OUT/proxy.yaml" <<YAML
listen: [{ address: "127.0.0.1:$GATEWAY_PORT", protocols: http1 }]
admin: { listen: "127.0.0.1:$ADMIN_PORT" }
accessLog: { path: "$OUT/access.log" }
defaults: { maxBodyBytes: 262144, contentTypes: [application/json] }
targets:
  backend: { type: http, url: "http://127.0.0.1:$BACKEND_PORT/" }
routes:
  - { route: "POST /v1/proxy", target: backend, auth: [none], public: true }
YAML
dotnet src/Ingest.Gateway/bin/Release/net10.0/ingest.dll serve --config "$OUT/proxy.yaml" >"$OUT/gateway.log" 2>&1 &
PIDS+=($!)

DIRECT="http://127.0.0.1:$BACKEND_PORT/"
PROXIED="http://127.0.0.1:$GATEWAY_PORT/v1/proxy"
wait_for "$DIRECT"
wait_for "$PROXIED"
kill -0 "${PIDS[1]}" 2>/dev/null || { tail -20 "$OUT/gateway.log" >&2; die "the gateway exited"; }
curl -s -D - -o /dev/null -X POST -H 'content-type: application/json' -d '{}' "$PROXIED" | grep -qi '^x-request-id:' \
  || die "$PROXIED is not answered by the gateway"

# 512-byte JSON body, as the other load scenarios send.
BODY=$(printf '{"device":"load","pad":"%0490d"}' 0)
cat >"$OUT/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system CPU of a process, 1/100 s

# run NAME URL -> sets RPS P50 P99 (ms), NON2XX, and BE_US / GW_US: CPU microseconds per request
# of the backend and the gateway (steadier than req/s when other work shares the cores)
run() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$OUT/post.lua" "$2" >/dev/null 2>&1 || true
  local be0 gw0 be1 gw1
  be0=$(cpu_ticks "${PIDS[0]}"); gw0=$(cpu_ticks "${PIDS[1]}")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$OUT/post.lua" "$2" >"$OUT/$1.txt" 2>&1
  be1=$(cpu_ticks "${PIDS[0]}"); gw1=$(cpu_ticks "${PIDS[1]}")
  local n
  n=$(awk '/requests in/ {print $1}' "$OUT/$1.txt")
  BE_US=$(awk -v t=$((be1 - be0)) -v n="${n:-1}" 'BEGIN {printf "%.0f", t * 10000 / n}')
  GW_US=$(awk -v t=$((gw1 - gw0)) -v n="${n:-1}" 'BEGIN {printf "%.0f", t * 10000 / n}')
  RPS=$(awk '/^Requests\/sec:/ {print $2}' "$OUT/$1.txt")
  P50=$(awk '$1 == "50%" {print $2}' "$OUT/$1.txt")
  P99=$(awk '$1 == "99%" {print $2}' "$OUT/$1.txt")
  NON2XX=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$OUT/$1.txt")
  NON2XX=${NON2XX:-0}
}

ms() { # wrk latency (850.00us, 1.20ms, 2.00s) -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else { printf "%s", v } }'
}

run direct "$DIRECT"
D_RPS=$RPS; D_P50=$(ms "$P50"); D_P99=$(ms "$P99"); D_ERR=$NON2XX; D_BE=$BE_US
run proxied "$PROXIED"
G_RPS=$RPS; G_P50=$(ms "$P50"); G_P99=$(ms "$P99"); G_ERR=$NON2XX; G_BE=$BE_US; G_GW=$GW_US

echo "| $DURATION, $CONNECTIONS connections, $THREADS threads | req/s | p50 ms | p99 ms | non-2xx | backend CPU µs/req | gateway CPU µs/req |"
echo "|---|---:|---:|---:|---:|---:|---:|"
echo "| backend directly | $D_RPS | $D_P50 | $D_P99 | $D_ERR | $D_BE | - |"
echo "| through the gateway (type: http) | $G_RPS | $G_P50 | $G_P99 | $G_ERR | $G_BE | $G_GW |"
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v g="$G_RPS" -v d="$D_RPS" -v g50="$G_P50" -v d50="$D_P50" -v g99="$G_P99" -v d99="$D_P99" 'BEGIN {
  printf "gateway/direct: throughput %.2f, p50 +%.2f ms, p99 +%.2f ms\n", g / d, g50 - d50, g99 - d99 }'
if [[ "$G_ERR" != "0" || "$D_ERR" != "0" ]]; then
  echo "proxy: non-2xx answers (direct $D_ERR, gateway $G_ERR)" >&2
  exit 1
fi
