#!/usr/bin/env bash
# Ingest load run: every performance scenario in one command and one table. The gateway's front
# door against a bare Kestrel baseline (same machine, load generator and connection count, same
# run), batched requests, durable acks, HTTP/2 and Connection: close, delivery into the SQS and
# Kinesis stand-ins against a minimal batching client, and memory with the backend stopped.
# See load/README.md.
#
#   load/run.sh                      # 30s per scenario
#   DURATION=10s load/run.sh         # shorter
#   SMOKE=1 load/run.sh              # 3s per scenario, 1s warm-up (CI)
#   SCENARIOS=baseline,gateway load/run.sh   # a subset
#
# Environment (defaults in brackets):
#   DURATION [30s]      measured time per scenario (Ns or Nm)
#   WARMUP [15s]        load before each measured scenario, discarded (JIT, tiered PGO, pools: on
#                       2 cores the gateway's path takes ~15 s under load to be fully recompiled)
#   CONNECTIONS [64]    wrk/h2load connections
#   THREADS [2]         wrk/h2load threads
#   SMOKE [0]           1: DURATION=3s WARMUP=1s
#   NO_BUILD [0]        1: use the existing Release builds
#   RATE [auto]         constant-rate scenarios, total req/s (default: half the baseline's wrk max)
#   BASE_PORT [15080]   first port tried; free ports are picked upward from it
#   SCENARIOS [all]     comma list of: baseline gateway nolog durable sqs kinesis memory
#   BATCH_EVENTS [100]  events per NDJSON request in the batched front-door scenario
#   DELIVERY_EVENTS [10] events per NDJSON request in the delivery scenarios
#   MEMORY_EVENTS [100] events per NDJSON request in the memory scenario
#   H2_STREAMS [10]     concurrent streams per HTTP/2 connection (h2load -m)
#   SHARDS [2]          shards of the Kinesis streams (client's and gateway's alike)
#   GATEWAY_EXE []      a native gateway (scripts/publish-native.sh: artifacts/native/ingest)
#                       to measure instead of `dotnet ingest.dll`
#
# Output: a markdown table on stdout, also written to load/out/results-<UTC time>.md; raw tool
# output in load/out/raw-<UTC time>/. Exit 1 when a scenario answered no 2xx at all, when fewer
# events reached a queue or stream than the gateway accepted, or when the gateway died in the
# memory scenario; 2 when a prerequisite is missing or a server did not start. Ratios below their
# targets do not fail the run (the table says so).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'load: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

to_seconds() { # 30s | 2m | 30 -> seconds
  local v="$1"
  case "$v" in
    *m) echo $(( ${v%m} * 60 )) ;;
    *s) echo "${v%s}" ;;
    *) echo "$v" ;;
  esac
}

if [[ "${SMOKE:-0}" == "1" ]]; then
  DURATION=3s
  WARMUP=1s
fi
DURATION="${DURATION:-30s}"
WARMUP="${WARMUP:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
BATCH_EVENTS="${BATCH_EVENTS:-100}"
DELIVERY_EVENTS="${DELIVERY_EVENTS:-10}"
MEMORY_EVENTS="${MEMORY_EVENTS:-100}"
H2_STREAMS="${H2_STREAMS:-10}"
SHARDS="${SHARDS:-2}"
SCENARIOS="${SCENARIOS:-baseline,gateway,nolog,durable,sqs,kinesis,memory}"
SECS="$(to_seconds "$DURATION")"
WARM_SECS="$(to_seconds "$WARMUP")"
[[ "$SECS" =~ ^[0-9]+$ && "$SECS" -ge 1 && "$SECS" -le 600 ]] || die "DURATION must be 1s..10m, got '$DURATION'"
[[ "$WARM_SECS" =~ ^[0-9]+$ && "$WARM_SECS" -le 120 ]] || die "WARMUP must be 0s..2m, got '$WARMUP'"
[[ "$CONNECTIONS" =~ ^[0-9]+$ && "$CONNECTIONS" -ge 1 && "$CONNECTIONS" -le 1024 ]] || die "CONNECTIONS must be 1..1024"
[[ "$THREADS" =~ ^[0-9]+$ && "$THREADS" -ge 1 && "$THREADS" -le "$CONNECTIONS" ]] || die "THREADS must be 1..CONNECTIONS"
for v in BATCH_EVENTS DELIVERY_EVENTS MEMORY_EVENTS; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 && "${!v}" -le 400 ]] || die "$v must be 1..400 (the routes' body limit is 256 KiB)"
done
[[ "$H2_STREAMS" =~ ^[0-9]+$ && "$H2_STREAMS" -ge 1 && "$H2_STREAMS" -le 256 ]] || die "H2_STREAMS must be 1..256"
[[ "$SHARDS" =~ ^[0-9]+$ && "$SHARDS" -ge 1 && "$SHARDS" -le 100 ]] || die "SHARDS must be 1..100"
for s in ${SCENARIOS//,/ }; do
  case "$s" in baseline | gateway | nolog | durable | sqs | kinesis | memory) ;; *) die "unknown scenario '$s' in SCENARIOS" ;; esac
done
want() { [[ ",$SCENARIOS," == *",$1,"* ]]; }

command -v wrk >/dev/null 2>&1 || die "wrk not found: run scripts/standins.sh install (apt package wrk)"
command -v curl >/dev/null 2>&1 || die "curl not found"
HAVE_H2LOAD=0
command -v h2load >/dev/null 2>&1 && HAVE_H2LOAD=1

STAMP="$(date -u +%Y-%m-%dT%H%M%SZ)"
OUT="$ROOT/load/out"
RAW="$OUT/raw-$STAMP"
RESULTS="$OUT/results-$STAMP.md"
mkdir -p "$RAW"
LUA="$ROOT/load/post.lua"
# Unique queue and stream names: the shared stand-ins serve other runs and tests at the same time.
RUN_ID="ingest-load-$(date -u +%Y%m%d%H%M%S)-$$"

# The API key of load/configs/*.yaml (stored there as its SHA-256).
API_KEY="ingest-load-key-0123456789abcdefghijklmnopqrstu"

BASELINE_DLL="$ROOT/load/Baseline/bin/Release/net10.0/ingest-load-baseline.dll"
GATEWAY_DLL="$ROOT/src/Ingest.Gateway/bin/Release/net10.0/ingest.dll"
if [[ -n "${GATEWAY_EXE:-}" ]]; then
  GATEWAY_EXE="$(readlink -f "$GATEWAY_EXE")"
  [[ -x "$GATEWAY_EXE" ]] || die "GATEWAY_EXE=$GATEWAY_EXE is not an executable (scripts/publish-native.sh)"
  GATEWAY_CMD=("$GATEWAY_EXE")
else
  GATEWAY_CMD=(dotnet "$GATEWAY_DLL")
fi
DELIVERY_DLL="$ROOT/load/DeliveryBaseline/bin/Release/net10.0/ingest-load-delivery.dll"

SQS_ENDPOINT="http://127.0.0.1:${INGEST_SQS_PORT:-4566}"
KINESIS_ENDPOINT="http://127.0.0.1:${INGEST_KINESIS_PORT:-4567}"

# ------------------------------------------------------------- processes ---

SERVER_PID=""
SAMPLER_PID=""
STANDIN_PID=""       # private SQS stand-in of the memory scenario
STARTED_STANDINS=()  # shared stand-ins this run started (stopped again on exit)
CREATED=()           # "sqs NAME" / "kinesis NAME" created by this run, deleted on exit
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  stop_server
  stop_private_standin
  local item
  for item in "${CREATED[@]}"; do
    # shellcheck disable=SC2086
    timeout 60 dotnet "$DELIVERY_DLL" delete $item >/dev/null 2>&1 || log "could not delete $item"
  done
  if ((${#STARTED_STANDINS[@]})); then scripts/standins.sh stop "${STARTED_STANDINS[@]}" || true; fi
  rm -rf "$OUT/wal" "$OUT"/spill-* "$OUT"/access.log*
  # Load generators and clients run in the foreground under `timeout`; nothing else of ours is left.
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() { # PID: TERM, up to 10 s, then KILL
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "pid $pid did not stop in 10s; killing"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_server() {
  local pid="$SERVER_PID"
  [[ -z "$pid" ]] && return 0
  SERVER_PID=""
  stop_pid "$pid"
}
stop_private_standin() {
  local pid="$STANDIN_PID"
  [[ -z "$pid" ]] && return 0
  STANDIN_PID=""
  stop_pid "$pid"
}

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

NEXT_PORT="${BASE_PORT:-15080}"
PORT=""
next_free_port() { # sets PORT to a free port at or above NEXT_PORT, and NEXT_PORT past it
  local p="$NEXT_PORT"
  while port_in_use "$p"; do
    p=$((p + 1))
    (( p < NEXT_PORT + 200 )) || die "no free port in $NEXT_PORT..$((NEXT_PORT + 200))"
  done
  NEXT_PORT=$((p + 1))
  PORT=$p
}

# start_server NAME READY CMD...: starts CMD in the background as SERVER_PID and waits until
# READY answers: "get:URL" needs a 2xx, "post:URL" any HTTP response to a small JSON POST.
start_server() {
  local name="$1" ready="$2"
  shift 2
  "$@" >"$RAW/$name.stdout" 2>"$RAW/$name.stderr" &
  SERVER_PID=$!
  local probe=(curl -sS -o /dev/null --max-time 2)
  case "$ready" in
    get:*) probe+=(-f "${ready#get:}") ;;
    post:*) probe+=(-X POST -H 'content-type: application/json' --data '{}' "${ready#post:}") ;;
  esac
  local deadline=$((SECONDS + 60))
  until "${probe[@]}" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "$name exited during start; last lines of $RAW/$name.stderr and .stdout:"
      tail -n 20 "$RAW/$name.stderr" "$RAW/$name.stdout" >&2 || true
      SERVER_PID=""
      die "$name did not start"
    fi
    (( SECONDS < deadline )) || die "$name not ready after 60s ($ready)"
    sleep 0.2
  done
  # RSS is sampled from this pid: make sure it is the server itself, not a wrapper shell.
  local exe
  exe="$(readlink "/proc/$SERVER_PID/exe" 2>/dev/null || true)"
  [[ "$exe" == */dotnet || "$exe" == "${GATEWAY_EXE:-/}" ]] \
    || log "warning: pid $SERVER_PID of $name is $exe, not dotnet; RSS may be wrong"
}

# start_gateway NAME CONFIG [VAR=VALUE...]: the gateway on free ports; sets GW_PORT, ADMIN_PORT
# (and H2C_PORT, always passed, used by configs with an h2c listener).
start_gateway() {
  local name="$1" config="$2"
  shift 2
  next_free_port; GW_PORT=$PORT
  next_free_port; H2C_PORT=$PORT
  next_free_port; ADMIN_PORT=$PORT
  start_server "$name" "get:http://127.0.0.1:$ADMIN_PORT/readyz" \
    env INGEST_LOAD_PORT="$GW_PORT" INGEST_LOAD_H2C_PORT="$H2C_PORT" INGEST_LOAD_ADMIN_PORT="$ADMIN_PORT" "$@" \
    "${GATEWAY_CMD[@]}" serve --config "$ROOT/load/configs/$config"
}

# Peak VmRSS (kB) of SERVER_PID, sampled every second into FILE until stopped.
start_sampler() {
  local pid="$SERVER_PID" file="$1"
  echo 0 >"$file"
  [[ -z "$pid" ]] && { SAMPLER_PID=""; return 0; }
  (
    peak=0
    while kill -0 "$pid" 2>/dev/null; do
      rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
      if [[ -n "$rss" ]] && (( rss > peak )); then
        peak=$rss
        echo "$peak" >"$file"
      fi
      sleep 1
    done
  ) &
  SAMPLER_PID=$!
}
stop_sampler() {
  [[ -n "$SAMPLER_PID" ]] && { kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; }
  SAMPLER_PID=""
}

# ------------------------------------------------------------ load tools ---

# CPU used by processes other than the server, the stand-in in use and the load generator while a
# scenario ran: on a shared machine (a build, a test run) this is what makes a run
# unrepresentative. A snapshot is "wall_us all_busy_ticks own_ticks reaped_children_ticks"; "own"
# sums SERVER_PID and STANDIN_PIDS; the load generator's ticks land in this shell's cutime/cstime
# once it has been waited for.
STANDIN_PIDS=""
cpu_snapshot() {
  local all own=0 children pid t
  all=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat)
  for pid in $SERVER_PID $STANDIN_PIDS; do
    t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')
    own=$((own + ${t:-0}))
  done
  children=$(sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }')
  echo "${EPOCHREALTIME/./} $all $own $children"
}
other_cpu_pct() { # SNAPSHOT_BEFORE SNAPSHOT_AFTER -> % of all cores used by other processes
  awk -v a="$1" -v b="$2" -v cores="$(nproc)" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    wall = (y[1] - x[1]) / 1e6 * hz * cores;
    other = (y[2] - x[2]) - (y[3] - x[3]) - (y[4] - x[4]);
    if (other < 0) other = 0;
    printf "%.0f%%", (wall > 0 ? 100 * other / wall : 0) }'
}
standin_pid() { # NAME: pid of the shared stand-in listening on its port (for the CPU account)
  local port
  case "$1" in sqs) port="${INGEST_SQS_PORT:-4566}" ;; *) port="${INGEST_KINESIS_PORT:-4567}" ;; esac
  ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true
}

ROWS=()        # markdown rows
NOTES=()       # lines under the table
TARGETS=()     # issue targets, measured
FAILED=0
BASE_RPS=""

fmt_ms() { awk -v us="$1" 'BEGIN { if (us == "" || us < 0) print "-"; else printf "%.2f ms", us / 1000 }'; }
fmt_mib() { awk -v kb="$1" 'BEGIN { if (kb == "" || kb <= 0) print "-"; else printf "%.0f MiB", kb / 1024 }'; }
# save_r / restore_r TEXT: the R_* results of one run, kept while other runs overwrite them.
R_FIELDS=(R_RPS R_OK R_REQUESTS R_NON2XX R_503 R_RA503 R_TIMEOUTS R_SOCKERR R_EVENTS R_P50 R_P99 R_P999 R_RSS R_OTHER)
save_r() { local f; for f in "${R_FIELDS[@]}"; do printf '%s|' "${!f:-}"; done; }
restore_r() { local f rest="$1"; for f in "${R_FIELDS[@]}"; do printf -v "$f" '%s' "${rest%%|*}"; rest="${rest#*|}"; done; }
per_second() { # COUNT0 COUNT1 T0_US T1_US -> (COUNT1 - COUNT0) per second
  awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" 'BEGIN { printf "%.0f", (t1 > t0 ? (b - a) / ((t1 - t0) / 1e6) : 0) }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b <= 0 || a == "") print "-"; else printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b <= 0) print "-"; else printf "%.1f%%", 100 * a / b }'; }
slug() { echo "$1" | tr -c 'a-zA-Z0-9\n' '-'; }
# met VALUE OP LIMIT -> "met" / "NOT met" / "not measured"
met() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "" || v == "-") { print "not measured"; exit }
  ok = (op == ">=" ? v + 0 >= l + 0 : v + 0 < l + 0); print (ok ? "met" : "NOT met") }'; }
target() { TARGETS+=("- $1"); }

# Results of the last load-generator run (run_wrk / run_h2load).
R_RPS=0; R_OK=0; R_EVENTS=1; R_P50=""; R_P99=""; R_P999=""; R_NON2XX=0; R_SOCKERR=0; R_TIMEOUTS=0
R_503=0; R_RA503=0; R_REQUESTS=0; R_RSS=0; R_OTHER="-"

# wrk_field FILE FIELD: a field of post.lua's INGEST_RESULT line (0 when absent).
wrk_field() {
  local v
  v=$(grep '^INGEST_RESULT ' "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=\([0-9]*\)\$/\1/p" | head -1 || true)
  echo "${v:-0}"
}

# wrk_setup OPTS... -> the wrk environment and arguments, in WRK_ENV and WRK_ARGS
#   events=N  key=1  close=1  count=1
wrk_setup() {
  WRK_ENV=(INGEST_LOAD_EVENTS=1 INGEST_LOAD_BODY_FILE="$RAW/body-1.txt")
  WRK_ARGS=(-t"$THREADS" -c"$CONNECTIONS" -s "$LUA")
  local opt
  for opt in "$@"; do
    case "$opt" in
      events=*) WRK_ENV+=(INGEST_LOAD_EVENTS="${opt#events=}" INGEST_LOAD_BODY_FILE="$RAW/body-${opt#events=}.txt") ;;
      key=1) WRK_ENV+=(INGEST_LOAD_API_KEY="$API_KEY") ;;
      close=1) WRK_ARGS+=(-H 'Connection: close') ;;
      count=1) WRK_ENV+=(INGEST_LOAD_COUNT_STATUS=1) ;;
      *) die "run_wrk: unknown option $opt" ;;
    esac
  done
}

# run_wrk SCENARIO URL [events=N] [key=1] [close=1] [count=1] [nowarm=1]: warm-up, then a closed
# loop at full speed; sets R_*. Peak RSS covers warm-up and measured run.
run_wrk() {
  local scenario="$1" url="$2" warm=1 opts=() opt
  shift 2
  for opt in "$@"; do
    if [[ "$opt" == nowarm=1 ]]; then warm=0; else opts+=("$opt"); fi
  done
  wrk_setup "${opts[@]}"
  local file; file="$RAW/$(slug "$scenario").wrk.txt"
  start_sampler "$RAW/rss.tmp"
  if (( warm == 1 && WARM_SECS > 0 )); then
    env "${WRK_ENV[@]}" timeout --signal=INT $((WARM_SECS + 30)) \
      wrk "${WRK_ARGS[@]}" -d"${WARM_SECS}s" "$url" >"$file.warmup" 2>&1 \
      || log "warm-up of $scenario returned non-zero (see $file.warmup)"
  fi
  log "wrk: $scenario, ${SECS}s, $CONNECTIONS connections, $THREADS threads"
  local before after
  before=$(cpu_snapshot)
  env "${WRK_ENV[@]}" timeout --signal=INT $((SECS + 60)) \
    wrk "${WRK_ARGS[@]}" -d"${SECS}s" --latency "$url" >"$file" 2>&1 \
    || log "wrk returned non-zero for $scenario (see $file)"
  after=$(cpu_snapshot)
  stop_sampler
  R_OTHER=$(other_cpu_pct "$before" "$after")
  R_RSS=$(cat "$RAW/rss.tmp")
  R_RPS=0; R_OK=0; R_P50=""; R_P99=""; R_P999=""; R_NON2XX=0; R_SOCKERR=0; R_TIMEOUTS=0; R_503=0; R_RA503=0; R_REQUESTS=0
  R_EVENTS=1
  if ! grep -q '^INGEST_RESULT ' "$file"; then
    NOTES+=("- $scenario: wrk printed no result; see \`${file#"$ROOT"/}\`.")
    return
  fi
  local duration
  R_REQUESTS=$(wrk_field "$file" requests); duration=$(wrk_field "$file" duration_us); R_NON2XX=$(wrk_field "$file" non2xx)
  R_P50=$(wrk_field "$file" p50_us); R_P99=$(wrk_field "$file" p99_us); R_P999=$(wrk_field "$file" p999_us)
  R_TIMEOUTS=$(wrk_field "$file" timeout)
  R_SOCKERR=$(( $(wrk_field "$file" connect) + $(wrk_field "$file" read) + $(wrk_field "$file" write) + R_TIMEOUTS ))
  R_EVENTS=$(wrk_field "$file" events_per_request)
  R_503=$(wrk_field "$file" status_503); R_503=${R_503:-0}
  R_RA503=$(wrk_field "$file" retry_after_503); R_RA503=${R_RA503:-0}
  # wrk counts status > 399 as "Non-2xx or 3xx"; these servers answer 202 or an error, never 1xx/3xx.
  R_OK=$((R_REQUESTS - R_NON2XX))
  R_RPS=$(awk -v ok="$R_OK" -v d="$duration" 'BEGIN { printf "%.0f", (d > 0 ? ok / (d / 1e6) : 0) }')
}

# run_h2load SCENARIO URL RATE [h2=1] [key=1] [events=N] [nowarm=1]: RATE > 0: constant rate
# (--rps per client); RATE 0: full speed. h2=1: HTTP/2 (h2c, prior knowledge) with H2_STREAMS
# streams per connection, else HTTP/1.1. events=N: the NDJSON body of N events. nowarm=1: no
# warm-up (the server was just warmed). Percentiles from --log-file (h2load 1.52 prints only
# min/max/mean/sd). Sets R_*.
run_h2load() {
  local scenario="$1" url="$2" rate="$3" h2=0 key=0 events=1 warm="$WARM_SECS" opt
  shift 3
  for opt in "$@"; do
    case "$opt" in h2=1) h2=1 ;; key=1) key=1 ;; events=*) events="${opt#events=}" ;; nowarm=1) warm=0 ;; *) die "run_h2load: unknown option $opt" ;; esac
  done
  local s; s=$(slug "$scenario")
  local file="$RAW/$s.h2load.txt" reqlog="$RAW/$s.h2load.log" ctype=application/json
  (( events > 1 )) && ctype=application/x-ndjson
  local args=(-c "$CONNECTIONS" -t "$THREADS" -D "$SECS" -d "$RAW/body-$events.txt" -H "content-type: $ctype" --log-file "$reqlog")
  (( h2 == 1 )) && args+=(-m "$H2_STREAMS") || args+=(--h1)
  (( key == 1 )) && args+=(-H "x-api-key: $API_KEY")
  (( warm > 0 )) && args+=(--warm-up-time="$warm")
  if (( rate > 0 )); then
    local per_client=$(( rate / CONNECTIONS ))
    (( per_client >= 1 )) || per_client=1
    args+=(--rps "$per_client")
    log "h2load: $scenario, ${SECS}s at $(( per_client * CONNECTIONS )) req/s ($per_client per connection)"
  else
    log "h2load: $scenario, ${SECS}s at full speed, $CONNECTIONS connections x $H2_STREAMS streams"
  fi
  start_sampler "$RAW/rss.tmp"
  local before after
  before=$(cpu_snapshot)
  timeout --signal=INT $((SECS + warm + 60)) h2load "${args[@]}" "$url" >"$file" 2>&1 \
    || log "h2load returned non-zero for $scenario (see $file)"
  after=$(cpu_snapshot)
  stop_sampler
  R_OTHER=$(other_cpu_pct "$before" "$after")
  R_RSS=$(cat "$RAW/rss.tmp")
  local total ok
  total=$(awk '/^requests:/ { print $2 }' "$file" || true)
  ok=$(awk '/^status codes:/ { print $3 }' "$file" || true)
  total=${total:-0}; ok=${ok:-0}
  R_REQUESTS=$total; R_OK=$ok; R_NON2XX=$((total - ok)); R_SOCKERR="-"; R_EVENTS=$events
  # log columns: start (us since epoch), status (-1 = failed stream), us to end of response.
  local p
  p=$(awk '$2 >= 0 { print $3 }' "$reqlog" 2>/dev/null | sort -n | awk '
    { v[NR] = $1 }
    function at(p,  i) { i = int(p / 100 * NR); if (i < p / 100 * NR) i++; if (i < 1) i = 1; return v[i] }
    END { if (NR == 0) print "-1 -1 -1"; else print at(50), at(99), at(99.9) }' || true)
  read -r R_P50 R_P99 R_P999 <<<"$p"
  R_RPS=$(awk -v ok="$ok" -v d="$SECS" 'BEGIN { printf "%.0f", ok / d }')
}

# row LABEL [vs=TEXT] [events=N] [delivered=TEXT]: a table row from R_*.
row() {
  local label="$1" vs="-" events_s="" delivered="-" opt
  shift
  for opt in "$@"; do
    case "$opt" in
      vs=*) vs="${opt#vs=}" ;;
      events=*) events_s="${opt#events=}" ;;
      delivered=*) delivered="${opt#delivered=}" ;;
    esac
  done
  [[ -n "$events_s" ]] || events_s=$(( R_RPS * R_EVENTS ))
  ROWS+=("| $label | $R_RPS | $events_s | $(fmt_ms "$R_P50") | $(fmt_ms "$R_P99") | $(fmt_ms "$R_P999") | $R_NON2XX | $R_SOCKERR | $vs | $delivered | $(fmt_mib "$R_RSS") | $R_OTHER |")
}

# check_2xx SCENARIO: a scenario that answered no 2xx fails the run.
check_2xx() {
  if (( R_OK == 0 )); then
    NOTES+=("- FAILED: $1 answered no 2xx (see \`${RAW#"$ROOT"/}\`).")
    FAILED=1
  fi
}

# Sum of all series of a Prometheus counter on the gateway's admin port (0 when absent).
metric() { # ADMIN_PORT NAME
  curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" 2>/dev/null \
    | awk -v n="$2" 'index($0, n " ") == 1 || index($0, n "{") == 1 { s += $NF } END { printf "%.0f", s }'
}

gateway_counters() { # ADMIN_PORT SCENARIO
  NOTES+=("- $2: events accepted (incl. warm-up) $(metric "$1" ingest_events_accepted_total), access-log lines dropped $(metric "$1" ingest_access_log_dropped_total).")
}

delivery() { # ARGS...: the delivery client (create, send, count, delete) under a timeout
  timeout --signal=INT $((SECS + WARM_SECS + 120)) dotnet "$DELIVERY_DLL" "$@"
}

# ------------------------------------------------------------------ build ---

if [[ "${NO_BUILD:-0}" != "1" ]]; then
  log "building Release (baseline, delivery client, gateway)"
  for project in load/Baseline load/DeliveryBaseline src/Ingest.Gateway; do
    dotnet build "$ROOT/$project" -c Release -nologo -v q >"$RAW/build-$(slug "$project").log" 2>&1 \
      || { tail -n 20 "$RAW/build-$(slug "$project").log" >&2; die "$project build failed (another change in src/ in progress? retry in a few minutes)"; }
  done
fi
for dll in "$BASELINE_DLL" "$GATEWAY_DLL" "$DELIVERY_DLL"; do
  [[ -f "$dll" ]] || die "missing $dll (build it with -c Release)"
done

# The delivery scenarios need the SQS and Kinesis stand-ins; start them when they are down (and
# stop those again on exit). Stand-ins that were already up are shared: left alone.
for name in sqs kinesis; do
  if { [[ $name == sqs ]] && { want sqs || want memory; }; } || { [[ $name == kinesis ]] && want kinesis; }; then
    if ! scripts/standins.sh status "$name" >/dev/null 2>&1; then
      log "starting the $name stand-in"
      scripts/standins.sh start "$name" >&2 || die "could not start the $name stand-in"
      STARTED_STANDINS+=("$name")
    fi
  fi
done

# Other processes on the CPU (a build, a test run) lower every figure: record how busy it was.
cpu_busy_pct() { # non-idle share of all CPUs over 2 s, from /proc/stat
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  sleep 2
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2];
    printf "%.0f", (busy + idle > 0 ? 100 * busy / (busy + idle) : 0) }'
}
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_AT_START=$(cpu_busy_pct)
if (( BUSY_AT_START > 20 )); then
  log "warning: the CPU was ${BUSY_AT_START}% busy before the run; figures will be low"
  NOTES+=("- WARNING: other processes kept the CPU ${BUSY_AT_START}% busy just before the run (load average $LOAD_AT_START): every figure is lower than on an idle machine.")
fi

# -------------------------------------------------------------- scenarios ---

# 1. Baseline: bare Kestrel, HTTP/1.1 and an h2c listener.
BASE_P50=""; BASE_CLOSE_RPS=""; BASE_H2_RPS=""
if want baseline; then
  next_free_port; port=$PORT
  next_free_port; h2c_port=$PORT
  start_server baseline "post:http://127.0.0.1:$port/" \
    dotnet "$BASELINE_DLL" --urls "http://127.0.0.1:$port" --h2c-url "http://127.0.0.1:$h2c_port"
  run_wrk "baseline (bare Kestrel)" "http://127.0.0.1:$port/"
  row "baseline (bare Kestrel), wrk max" vs=1.00
  check_2xx "baseline (bare Kestrel)"
  BASE_RPS=$R_RPS
  RATE="${RATE:-$(( BASE_RPS / 2 ))}"
  if (( HAVE_H2LOAD == 1 && RATE > 0 )); then
    run_h2load "baseline (bare Kestrel), constant rate" "http://127.0.0.1:$port/" "$RATE"
    row "baseline (bare Kestrel), h2load $RATE req/s"
    BASE_P50=$R_P50; BASE_P99=$R_P99
  fi
  run_wrk "baseline (bare Kestrel), Connection: close" "http://127.0.0.1:$port/" close=1
  row "baseline (bare Kestrel), Connection: close, wrk max" vs=1.00
  check_2xx "baseline (bare Kestrel), Connection: close"
  BASE_CLOSE_RPS=$R_RPS
  if (( HAVE_H2LOAD == 1 )); then
    run_h2load "baseline (bare Kestrel), h2c" "http://127.0.0.1:$h2c_port/" 0 h2=1
    row "baseline (bare Kestrel), h2c x$H2_STREAMS streams, h2load max" vs=1.00
    check_2xx "baseline (bare Kestrel), h2c"
    BASE_H2_RPS=$R_RPS
  fi
  stop_server
fi
RATE="${RATE:-0}"

# 2. The front door: API key + local token bucket + access log to a file, blackhole target.
#    Same server: constant rate, NDJSON batches, Connection: close, h2c.
SINGLE_RPS=""
if want gateway; then
  rm -f "$OUT"/access.log*
  start_gateway gateway-blackhole blackhole.yaml
  url="http://127.0.0.1:$GW_PORT/v1/events"
  run_wrk "gateway" "$url" key=1
  SINGLE_RPS=$R_RPS
  row "gateway (API key, throttle, access log), wrk max" vs="**$(ratio "$R_RPS" "$BASE_RPS")**"
  check_2xx "gateway"
  target "Front door (API key + throttle + access log) / bare Kestrel, wrk max: $(ratio "$R_RPS" "$BASE_RPS") (target >= 0.85: $(met "$(ratio "$R_RPS" "$BASE_RPS")" '>=' 0.85))."
  if (( HAVE_H2LOAD == 1 && RATE > 0 )); then
    run_h2load "gateway, constant rate" "$url" "$RATE" key=1
    row "gateway (API key, throttle, access log), h2load $RATE req/s"
    p99ms=$(awk -v us="$R_P99" 'BEGIN { printf "%.2f", us / 1000 }')
    target "p99 at a constant $RATE req/s (half the baseline's max): $p99ms ms (target < 5 ms: $(met "$p99ms" '<' 5); bare Kestrel $(fmt_ms "${BASE_P99:-}"))."
    if [[ -n "$BASE_P50" ]]; then
      overhead=$(awk -v g="$R_P50" -v b="$BASE_P50" 'BEGIN { printf "%.2f", (g - b) / 1000 }')
      target "Gateway overhead at p50, same constant rate: $overhead ms (gateway $(fmt_ms "$R_P50") - bare Kestrel $(fmt_ms "$BASE_P50"); target < 1 ms: $(met "$overhead" '<' 1))."
    fi
    check_2xx "gateway, constant rate"
  fi
  run_wrk "gateway, NDJSON x$BATCH_EVENTS" "http://127.0.0.1:$GW_PORT/v1/batch" key=1 events="$BATCH_EVENTS"
  batch_ratio=$(ratio "$(( R_RPS * R_EVENTS ))" "$SINGLE_RPS")
  row "gateway, NDJSON $BATCH_EVENTS events/request, wrk max" vs="${batch_ratio}x single"
  check_2xx "gateway, NDJSON"
  target "Batched (NDJSON, $BATCH_EVENTS events/request) events/s / single-event events/s: $batch_ratio (target >= 10: $(met "$batch_ratio" '>=' 10))."
  run_wrk "gateway, Connection: close" "$url" key=1 close=1
  row "gateway, Connection: close, wrk max" vs="$(ratio "$R_RPS" "$BASE_CLOSE_RPS")"
  check_2xx "gateway, Connection: close"
  target "Connection: close, gateway / bare Kestrel (both with Connection: close): $(ratio "$R_RPS" "$BASE_CLOSE_RPS") (target >= 0.80: $(met "$(ratio "$R_RPS" "$BASE_CLOSE_RPS")" '>=' 0.80))."
  if (( HAVE_H2LOAD == 1 )); then
    run_h2load "gateway, h2c" "http://127.0.0.1:$H2C_PORT/v1/events" 0 h2=1 key=1
    row "gateway, h2c x$H2_STREAMS streams, h2load max" vs="$(ratio "$R_RPS" "$BASE_H2_RPS")"
    check_2xx "gateway, h2c"
    target "HTTP/2 (h2c, $CONNECTIONS connections x $H2_STREAMS streams): gateway $R_RPS req/s, bare Kestrel ${BASE_H2_RPS:--} req/s (ratio $(ratio "$R_RPS" "$BASE_H2_RPS"); measured, no target)."
  fi
  gateway_counters "$ADMIN_PORT" "gateway (API key, throttle, access log)"
  NOTES+=("- gateway (API key, throttle, access log): access log $(du -ch "$OUT"/access.log* 2>/dev/null | tail -1 | cut -f1) on disk.")
  stop_server
  rm -f "$OUT"/access.log*
fi

# 3./4. Access log off, then ack durable (WAL); the same API key and bucket.
MEMORY_RPS=""
for variant in "nolog|blackhole-nolog.yaml|gateway, access log off" "durable|blackhole-durable.yaml|gateway, ack durable (WAL), access log off"; do
  IFS='|' read -r key config scenario <<<"$variant"
  want "$key" || continue
  rm -rf "$OUT/wal"
  start_gateway "gateway-${config%.yaml}" "$config"
  url="http://127.0.0.1:$GW_PORT/v1/events"
  run_wrk "$scenario" "$url" key=1
  wrk_rps=$R_RPS
  row "$scenario, wrk max" vs="$(ratio "$R_RPS" "$BASE_RPS")"
  check_2xx "$scenario"
  if (( HAVE_H2LOAD == 1 && RATE > 0 && R_OK > 0 )); then
    run_h2load "$scenario, constant rate" "$url" "$RATE" key=1
    row "$scenario, h2load $RATE req/s"
  fi
  gateway_counters "$ADMIN_PORT" "$scenario"
  if [[ "$key" == nolog ]]; then
    MEMORY_RPS=$wrk_rps
  else
    fsyncs=$(metric "$ADMIN_PORT" ingest_wal_fsyncs_total)
    NOTES+=("- $scenario: WAL fsyncs (incl. warm-up) $fsyncs, one per group commit.")
    target "ack durable / ack memory (both access log off), wrk max: $(ratio "$wrk_rps" "$MEMORY_RPS") (target >= 0.50: $(met "$(ratio "$wrk_rps" "$MEMORY_RPS")" '>=' 0.5))."
  fi
  stop_server
  rm -rf "$OUT/wal"
done

# run_client KIND LABEL BATCH ENDPOINT NAME WHEN: the minimal batching client alone into a fresh
# queue / stream NAME (deleted afterwards); sets CLIENT_RATE and adds a row.
run_client() {
  local kind="$1" label="$2" batch="$3" endpoint="$4" name="$5" when="$6"
  # The client sends the same 512 bytes per event as post.lua (its own copy when no wrk run wrote the file yet).
  local body=()
  [[ -f "$RAW/body-1.txt" ]] && body=(--body-file "$RAW/body-1.txt")
  delivery create "$kind" "$name" --shards "$SHARDS" --endpoint "$endpoint" 2>>"$RAW/delivery.stderr" || die "could not create $kind $name"
  CREATED+=("$kind $name")
  log "client: $label minimal batching client ($when the gateway), ${SECS}s, $batch per batch, 4 in flight"
  local file="$RAW/$kind-client-$when.txt" before after sent
  SERVER_PID=""
  before=$(cpu_snapshot)
  delivery send "$kind" "$name" --seconds "$SECS" --warmup "$WARM_SECS" --batch "$batch" --in-flight 4 \
    "${body[@]}" --endpoint "$endpoint" >"$file" 2>>"$RAW/delivery.stderr" || log "$label client returned non-zero (see $file)"
  after=$(cpu_snapshot)
  CLIENT_RATE=$(sed -n 's/.* per_second=\([0-9]*\).*/\1/p' "$file"); CLIENT_RATE=${CLIENT_RATE:-0}
  sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' "$file"); sent=${sent:-0}
  R_NON2XX=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' "$file")
  R_OTHER=$(other_cpu_pct "$before" "$after")
  ROWS+=("| $label stand-in, minimal client ($batch/batch, 4 in flight), $when the gateway | - | $CLIENT_RATE | - | - | - | ${R_NON2XX:-?} | - | - | - | - | $R_OTHER |")
  if (( sent == 0 )); then
    NOTES+=("- FAILED: the $label minimal client stored nothing (see \`${file#"$ROOT"/}\`, \`${RAW#"$ROOT"/}/delivery.stderr\`).")
    FAILED=1
  fi
  if delivery delete "$kind" "$name" --endpoint "$endpoint" >/dev/null 2>>"$RAW/delivery.stderr"; then unset 'CREATED[-1]'; fi
}

# 5./6. Delivery into the SQS and Kinesis stand-ins: the minimal batching client alone, then the
# gateway pushed past what the stand-in takes. After the load stops: wait until the gateway has
# delivered what it accepted, then count the queue / stream.
run_delivery() { # KIND (sqs | kinesis)
  local kind="$1" label batch config endpoint_var name_var endpoint
  if [[ $kind == sqs ]]; then
    label="SQS"; batch=10; config=delivery-sqs.yaml; endpoint_var=INGEST_LOAD_SQS_ENDPOINT; name_var=INGEST_LOAD_QUEUE; endpoint=$SQS_ENDPOINT
  else
    label="Kinesis"; batch=500; config=delivery-kinesis.yaml; endpoint_var=INGEST_LOAD_KINESIS_ENDPOINT; name_var=INGEST_LOAD_STREAM; endpoint=$KINESIS_ENDPOINT
  fi
  STANDIN_PIDS=$(standin_pid "$kind")
  local client_name="$RUN_ID-$kind-client" gateway_name="$RUN_ID-$kind-gateway"
  # The minimal client alone, before the gateway (and again after it, below).
  run_client "$kind" "$label" "$batch" "$endpoint" "$client_name-1" before
  local client_before=$CLIENT_RATE client_rate=$CLIENT_RATE

  # The gateway in front of the same stand-in. Kinesis: the stream is made here with the client's shard count.
  if [[ $kind == kinesis ]]; then
    delivery create kinesis "$gateway_name" --shards "$SHARDS" --endpoint "$endpoint" 2>>"$RAW/delivery.stderr" || die "could not create kinesis $gateway_name"
  fi
  CREATED+=("$kind $gateway_name")
  start_gateway "gateway-delivery-$kind" "$config" "$endpoint_var=$endpoint" "$name_var=$gateway_name"
  local url="http://127.0.0.1:$GW_PORT/v1/batch" admin=$ADMIN_PORT
  # Delivered events are read from the gateway's counter around each measured run (warm-up excluded).
  local d0 t0 d1 t1
  # The warm-up also writes the NDJSON body file that h2load sends.
  env INGEST_LOAD_EVENTS="$DELIVERY_EVENTS" INGEST_LOAD_API_KEY="$API_KEY" INGEST_LOAD_BODY_FILE="$RAW/body-$DELIVERY_EVENTS.txt" \
    timeout --signal=INT $((WARM_SECS + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$(( WARM_SECS > 0 ? WARM_SECS : 1 ))s" -s "$LUA" "$url" >"$RAW/$kind-gateway.warmup" 2>&1 || true
  local warm_ok; warm_ok=$(( $(wrk_field "$RAW/$kind-gateway.warmup" requests) - $(wrk_field "$RAW/$kind-gateway.warmup" non2xx) ))

  # Sustained: a constant rate a quarter above what the minimal client stored, so the stand-in is
  # the limit (the excess gets 503) while the gateway does not spend the CPU it shares with the
  # stand-in on answering a flood of clients that ignore Retry-After.
  local offered=$(( client_rate * 5 / 4 / DELIVERY_EVENTS ))
  (( offered >= CONNECTIONS )) || offered=$CONNECTIONS
  d0=$(metric "$admin" ingest_events_delivered_total); t0=${EPOCHREALTIME/./}
  run_h2load "gateway to $label, NDJSON x$DELIVERY_EVENTS, constant rate" "$url" "$offered" key=1 events="$DELIVERY_EVENTS" nowarm=1
  d1=$(metric "$admin" ingest_events_delivered_total); t1=${EPOCHREALTIME/./}
  local sustained_rate; sustained_rate=$(per_second "$d0" "$d1" "$t0" "$t1")
  local sustained_ok=$R_OK sustained_refused=$R_NON2XX sustained_r; sustained_r=$(save_r)

  # Overload: wrk at full speed, far past what the stand-in takes: clients must get 503 with
  # Retry-After, not timeouts.
  d0=$(metric "$admin" ingest_events_delivered_total); t0=${EPOCHREALTIME/./}
  run_wrk "gateway to $label, NDJSON x$DELIVERY_EVENTS" "$url" key=1 events="$DELIVERY_EVENTS" count=1 nowarm=1
  d1=$(metric "$admin" ingest_events_delivered_total); t1=${EPOCHREALTIME/./}
  local delivered_rate; delivered_rate=$(per_second "$d0" "$d1" "$t0" "$t1")
  local ok_events=$(( (R_OK + warm_ok + sustained_ok) * DELIVERY_EVENTS )) overload_r; overload_r=$(save_r)
  # Drain: everything accepted is delivered or dead-lettered (bounded wait), then count.
  local accepted delivered dead deadline=$((SECONDS + 120))
  while true; do
    accepted=$(metric "$admin" ingest_events_accepted_total)
    delivered=$(metric "$admin" ingest_events_delivered_total)
    dead=$(metric "$admin" ingest_events_dead_lettered_total)
    (( delivered + dead >= accepted || SECONDS >= deadline )) && break
    sleep 0.5
  done
  local counted
  counted=$(delivery count "$kind" "$gateway_name" --expect "$accepted" --timeout 60 --endpoint "$endpoint" 2>>"$RAW/delivery.stderr" | tail -1 || true)
  counted=${counted:-0}
  stop_server
  if delivery delete "$kind" "$gateway_name" --endpoint "$endpoint" >/dev/null 2>>"$RAW/delivery.stderr"; then unset 'CREATED[-1]'; fi

  # The client again: the stand-in slows as it holds more (garbage collection in its process), so
  # the client is measured on both sides of the gateway and the mean is the baseline.
  run_client "$kind" "$label" "$batch" "$endpoint" "$client_name-2" after
  client_rate=$(( (client_before + CLIENT_RATE) / 2 ))
  restore_r "$sustained_r"
  row "gateway to $label stand-in, NDJSON $DELIVERY_EVENTS events/request, h2load $(( offered / CONNECTIONS * CONNECTIONS * DELIVERY_EVENTS )) events/s offered" \
    events="$sustained_rate" vs="$(ratio "$sustained_rate" "$client_rate")"
  restore_r "$overload_r"
  row "gateway to $label stand-in, NDJSON $DELIVERY_EVENTS events/request, wrk max (overload)" \
    events="$delivered_rate" vs="$(ratio "$delivered_rate" "$client_rate")" delivered="$counted / $accepted"
  check_2xx "gateway to $label"
  NOTES+=("- gateway to $label: events/s = events the stand-in confirmed per second during each measured run (gateway counter ingest_events_delivered_total), vs the minimal client's rate (mean of its runs before and after the gateway: $client_before and $CLIENT_RATE); the constant-rate run offers 1.25x the client's first rate. Accepted (202, incl. warm-up) $accepted events (gateway counter ingest_events_accepted_total; 2xx answers x events per request: $ok_events, higher when a 202 took part of a batch and listed the rest as rejected once the buffer filled); delivered $delivered, dead-lettered $dead; counted in the $([[ $kind == sqs ]] && echo queue || echo stream) after the load: $counted (duplicates from retries would count too). Answers: $R_REQUESTS requests, $R_OK 2xx, $R_503 503 ($(pct "$R_RA503" "$R_503") of them with Retry-After), $R_TIMEOUTS timeouts (wrk, 2 s), $((R_NON2XX - R_503)) other non-2xx.")
  target "Delivery into the $label stand-in at a constant rate just past its pace: gateway $sustained_rate events/s vs minimal client $client_rate events/s = $(ratio "$sustained_rate" "$client_rate") (target >= 0.90: $(met "$(ratio "$sustained_rate" "$client_rate")" '>=' 0.9)); $sustained_refused of $(( sustained_ok + sustained_refused )) requests refused with 503 there. Under overload (wrk max) $delivered_rate events/s ($(ratio "$delivered_rate" "$client_rate")); overload answered with 503 + Retry-After: $R_RA503 of $R_503 503s, $R_TIMEOUTS timeouts; every 202'd event counted: $counted of $accepted ($( (( counted >= accepted && accepted > 0 )) && echo met || echo 'NOT met'))."
  if (( counted < accepted || accepted == 0 )); then
    NOTES+=("- FAILED: $label: $counted events counted in the $([[ $kind == sqs ]] && echo queue || echo stream) for $accepted accepted.")
    FAILED=1
  fi
  STANDIN_PIDS=""
}
want sqs && run_delivery sqs
want kinesis && run_delivery kinesis

# 7. Memory: the gateway in front of a private SQS stand-in, which is stopped after the warm-up;
# clients keep sending NDJSON at full speed. RSS must stay under bufferBytes + 100 MB, clients
# get 503 with Retry-After, and the process survives.
if want memory; then
  nodes=("$ROOT"/.standins/node_modules/node-linux-*/bin/node)
  node_bin="${nodes[0]}"
  [[ -x "$node_bin" && -f "$ROOT/.standins/fauxqs.mjs" ]] || die "stand-ins not installed (scripts/standins.sh install)"
  next_free_port; sqs_port=$PORT
  "$node_bin" "$ROOT/.standins/fauxqs.mjs" "$sqs_port" >"$RAW/private-sqs.log" 2>&1 &
  STANDIN_PID=$!
  deadline=$((SECONDS + 30))
  until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$sqs_port/health"; do
    kill -0 "$STANDIN_PID" 2>/dev/null || die "private SQS stand-in exited (see $RAW/private-sqs.log)"
    (( SECONDS < deadline )) || die "private SQS stand-in not ready after 30s"
    sleep 0.2
  done
  buffer_bytes=$(awk '/^  bufferBytes:/ { print $2 }' "$ROOT/load/configs/memory.yaml")
  limit_kb=$(( (buffer_bytes + 100000000) / 1024 ))
  start_gateway gateway-memory memory.yaml INGEST_LOAD_SQS_ENDPOINT="http://127.0.0.1:$sqs_port" INGEST_LOAD_QUEUE="$RUN_ID-memory"
  url="http://127.0.0.1:$GW_PORT/v1/batch"
  # Warm-up with the backend up (its RSS is part of the peak), then stop the backend.
  start_sampler "$RAW/rss-memory-warm.tmp"
  if (( WARM_SECS > 0 )); then
    env INGEST_LOAD_EVENTS="$MEMORY_EVENTS" INGEST_LOAD_API_KEY="$API_KEY" INGEST_LOAD_BODY_FILE="$RAW/body-$MEMORY_EVENTS.txt" \
      timeout --signal=INT $((WARM_SECS + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARM_SECS}s" -s "$LUA" "$url" >"$RAW/memory.warmup" 2>&1 || true
  fi
  stop_sampler
  warm_rss=$(cat "$RAW/rss-memory-warm.tmp")
  log "stopping the private SQS stand-in (pid $STANDIN_PID): backend down from here on"
  stop_private_standin
  run_wrk "memory, backend stopped, NDJSON x$MEMORY_EVENTS" "$url" key=1 events="$MEMORY_EVENTS" count=1 nowarm=1
  (( warm_rss > R_RSS )) && R_RSS=$warm_rss
  alive=yes
  if ! kill -0 "$SERVER_PID" 2>/dev/null || ! curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$ADMIN_PORT/healthz"; then
    alive=no
    NOTES+=("- FAILED: memory: the gateway did not survive the backend outage (see \`${RAW#"$ROOT"/}/gateway-memory.stderr\`).")
    FAILED=1
  fi
  queued=$(( $(metric "$ADMIN_PORT" ingest_events_accepted_total) - $(metric "$ADMIN_PORT" ingest_events_delivered_total) ))
  row "memory: backend stopped, NDJSON $MEMORY_EVENTS events/request, wrk max" vs="RSS $(pct "$R_RSS" "$limit_kb") of limit"
  rss_ok=$( (( R_RSS > 0 && R_RSS < limit_kb )) && echo met || echo 'NOT met')
  NOTES+=("- memory: bufferBytes $((buffer_bytes / 1048576)) MiB; limit bufferBytes + 100 MB = $(fmt_mib "$limit_kb"). Backend stopped after the warm-up; then $R_REQUESTS requests: $R_OK 2xx, $R_503 503 ($(pct "$R_503" "$R_REQUESTS") of all answers; $(pct "$R_RA503" "$R_503") of the 503s with Retry-After), $R_TIMEOUTS timeouts, $((R_NON2XX - R_503)) other non-2xx. Events accepted but not delivered at the end (held in memory): $queued. Gateway alive afterwards: $alive.")
  target "Memory with the backend stopped: peak RSS $(fmt_mib "$R_RSS") vs limit $(fmt_mib "$limit_kb") ($rss_ok); 503 share of answers $(pct "$R_503" "$R_REQUESTS"), timeouts $R_TIMEOUTS; survived: $alive."
  stop_server
  rm -rf "$OUT/spill-memory"
fi

(( HAVE_H2LOAD == 1 )) || NOTES+=("- h2load not installed (apt package nghttp2-client): constant-rate and h2c scenarios skipped.")

# ----------------------------------------------------------------- report ---

{
  echo "## Ingest load run $STAMP"
  echo
  echo "Machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release 2>/dev/null); $(dotnet --version 2>/dev/null | sed 's/^/.NET SDK /'); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)$( (( HAVE_H2LOAD == 1 )) && echo ", $(h2load --version | head -1)")."
  echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)'). CPU busy before start: ${BUSY_AT_START}% (load average $LOAD_AT_START)."
  echo "Per scenario: ${WARM_SECS}s warm-up, ${SECS}s measured, $CONNECTIONS connections, $THREADS threads, POST 512 B JSON events (NDJSON: one per line); servers, stand-ins and load generator share the machine."
  echo
  echo "| scenario | 2xx req/s | events/s | p50 | p99 | p99.9 | non-2xx | socket errors | vs baseline | delivered / accepted | peak RSS | other CPU |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  if ((${#TARGETS[@]})); then
    echo "Targets:"
    echo
    printf '%s\n' "${TARGETS[@]}"
    echo
  fi
  echo "- 2xx req/s = (responses - non-2xx) / measured duration; events/s = 2xx req/s x events per request, except the delivery rows (events the stand-in confirmed per second) and the minimal client (messages/records stored per second). wrk rows: closed loop at full speed; h2load rows: constant rate (half the baseline's wrk max; delivery: 1.25x the minimal client's rate) or full speed (h2c), latency from request start (coordinated omission not corrected). vs baseline: against bare Kestrel in the same mode (keep-alive, Connection: close, h2c); NDJSON against the single-event events/s; delivery against the minimal client; memory: peak RSS against bufferBytes + 100 MB. other CPU: share of all cores used by processes other than the server, the stand-in in use and the load generator during the measured run (h2load: warm-up included); above a few % the row understates the servers."
  (( ${#NOTES[@]} > 0 )) && printf '%s\n' "${NOTES[@]}"
  echo "- Raw output: \`load/out/raw-$STAMP/\`."
} | tee "$RESULTS"
log "results written to ${RESULTS#"$ROOT"/}"

if (( FAILED != 0 )); then
  log "FAILED: a scenario answered no 2xx, an event count was short, or the gateway died (see the notes)"
  exit 1
fi
