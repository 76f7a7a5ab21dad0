#!/usr/bin/env bash
# Ingest load run: the gateway's front door against a bare Kestrel baseline, same machine,
# same load generator, same connection count, in one run. See load/README.md.
#
#   load/run.sh                      # 30s per scenario
#   DURATION=15s load/run.sh         # shorter
#   SMOKE=1 load/run.sh              # 3s per scenario, 1s warm-up (CI)
#
# Environment (defaults in brackets):
#   DURATION [30s]     measured time per scenario (Ns or Nm)
#   WARMUP [5s]        load before each measured scenario, discarded (JIT, tiered PGO, pools)
#   CONNECTIONS [64]   wrk/h2load connections
#   THREADS [2]        wrk/h2load threads
#   SMOKE [0]          1: DURATION=3s WARMUP=1s
#   NO_BUILD [0]       1: use the existing Release builds
#   RATE [auto]        constant-rate scenario, total req/s (default: half the baseline's wrk max)
#   BASE_PORT [15080]  first port tried; free ports are picked upward from it
#
# Output: a markdown table on stdout, also written to load/out/results-<UTC time>.md; raw tool
# output in load/out/raw-<UTC time>/. Exit 1 when a gateway scenario answered no 2xx at all,
# 2 when a prerequisite is missing or a server did not start.
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
WARMUP="${WARMUP:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
SECS="$(to_seconds "$DURATION")"
WARM_SECS="$(to_seconds "$WARMUP")"
[[ "$SECS" =~ ^[0-9]+$ && "$SECS" -ge 1 && "$SECS" -le 600 ]] || die "DURATION must be 1s..10m, got '$DURATION'"
[[ "$WARM_SECS" =~ ^[0-9]+$ && "$WARM_SECS" -le 120 ]] || die "WARMUP must be 0s..2m, got '$WARMUP'"
[[ "$CONNECTIONS" =~ ^[0-9]+$ && "$CONNECTIONS" -ge 1 && "$CONNECTIONS" -le 1024 ]] || die "CONNECTIONS must be 1..1024"
[[ "$THREADS" =~ ^[0-9]+$ && "$THREADS" -ge 1 && "$THREADS" -le "$CONNECTIONS" ]] || die "THREADS must be 1..CONNECTIONS"

command -v wrk >/dev/null 2>&1 || die "wrk not found: run scripts/standins.sh install (apt package wrk)"
command -v curl >/dev/null 2>&1 || die "curl not found"
HAVE_H2LOAD=0
command -v h2load >/dev/null 2>&1 && HAVE_H2LOAD=1

STAMP="$(date -u +%Y-%m-%dT%H%M%SZ)"
OUT="$ROOT/load/out"
RAW="$OUT/raw-$STAMP"
RESULTS="$OUT/results-$STAMP.md"
mkdir -p "$RAW"
BODY_FILE="$RAW/body.json"
LUA="$ROOT/load/post.lua"

BASELINE_DLL="$ROOT/load/Baseline/bin/Release/net10.0/ingest-load-baseline.dll"
GATEWAY_DLL="$ROOT/src/Ingest.Gateway/bin/Release/net10.0/ingest.dll"

# ------------------------------------------------------------- processes ---

SERVER_PID=""
SAMPLER_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  stop_server
  # Load generators run in the foreground under `timeout`; nothing else of ours is left.
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_server() {
  local pid="$SERVER_PID"
  [[ -z "$pid" ]] && return 0
  SERVER_PID=""
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "pid $pid did not stop in 10s; killing"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
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
      log "$name exited during start; last lines of $RAW/$name.stderr:"
      tail -n 20 "$RAW/$name.stderr" >&2 || true
      SERVER_PID=""
      die "$name did not start"
    fi
    (( SECONDS < deadline )) || die "$name not ready after 60s ($ready)"
    sleep 0.2
  done
  # RSS is sampled from this pid: make sure it is the server itself, not a wrapper shell.
  [[ "$(readlink "/proc/$SERVER_PID/exe" 2>/dev/null)" == */dotnet ]] \
    || log "warning: pid $SERVER_PID of $name is $(readlink "/proc/$SERVER_PID/exe" 2>/dev/null), not dotnet; RSS may be wrong"
}

# Peak VmRSS (kB) of SERVER_PID, sampled every second into FILE until stopped.
start_sampler() {
  local pid="$SERVER_PID" file="$1"
  echo 0 >"$file"
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

# CPU used by processes other than the server and the load generator while a scenario ran: on a
# shared machine (a build, a test run) this is what makes a run unrepresentative. A snapshot is
# "wall_us all_busy_ticks server_ticks reaped_children_ticks"; the load generator's ticks land in
# this shell's cutime/cstime once it has been waited for.
cpu_snapshot() {
  local all server children
  all=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat)
  server=$(sed 's/^.*) //' "/proc/$SERVER_PID/stat" 2>/dev/null | awk '{ print $12 + $13 }')
  children=$(sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }')
  echo "${EPOCHREALTIME/./} $all ${server:-0} $children"
}
other_cpu_pct() { # SNAPSHOT_BEFORE SNAPSHOT_AFTER -> % of all cores used by other processes
  awk -v a="$1" -v b="$2" -v cores="$(nproc)" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    wall = (y[1] - x[1]) / 1e6 * hz * cores;
    other = (y[2] - x[2]) - (y[3] - x[3]) - (y[4] - x[4]);
    if (other < 0) other = 0;
    printf "%.0f%%", (wall > 0 ? 100 * other / wall : 0) }'
}

ROWS=()        # markdown rows
NOTES=()       # lines under the table
FAILED=0
BASE_RPS=""

fmt_ms() { awk -v us="$1" 'BEGIN { if (us == "" || us < 0) print "-"; else printf "%.2f ms", us / 1000 }'; }
fmt_mib() { awk -v kb="$1" 'BEGIN { if (kb == "" || kb <= 0) print "-"; else printf "%.0f MiB", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b <= 0) print "-"; else printf "%.2f", a / b }'; }

warm_up() { # URL
  (( WARM_SECS > 0 )) || return 0
  INGEST_LOAD_BODY_FILE="$BODY_FILE" timeout --signal=INT $((WARM_SECS + 30)) \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARM_SECS}s" -s "$LUA" "$1" >"$RAW/warmup.last" 2>&1 \
    || log "warm-up against $1 returned non-zero (see $RAW/warmup.last)"
}

# run_wrk SCENARIO URL: full-speed closed loop; appends a row; sets LAST_RPS.
run_wrk() {
  local scenario="$1" url="$2" file
  file="$RAW/$(echo "$1" | tr -c 'a-zA-Z0-9\n' '-').wrk.txt"
  start_sampler "$RAW/rss.tmp"
  warm_up "$url"
  log "wrk: $scenario, ${SECS}s, $CONNECTIONS connections, $THREADS threads"
  local before after
  before=$(cpu_snapshot)
  INGEST_LOAD_BODY_FILE="$BODY_FILE" timeout --signal=INT $((SECS + 60)) \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECS}s" --latency -s "$LUA" "$url" >"$file" 2>&1 \
    || log "wrk returned non-zero for $scenario (see $file)"
  after=$(cpu_snapshot)
  stop_sampler
  local other; other=$(other_cpu_pct "$before" "$after")
  local rss; rss=$(cat "$RAW/rss.tmp")
  local line; line=$(grep '^INGEST_RESULT ' "$file" || true)
  if [[ -z "$line" ]]; then
    ROWS+=("| $scenario, wrk max | 0 | - | - | - | - | - | - | $(fmt_mib "$rss") | $other |")
    NOTES+=("- $scenario: wrk printed no result; see \`$file\`.")
    LAST_RPS=0
    return
  fi
  field() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=\([0-9]*\)\$/\1/p"; }
  local requests duration non2xx p50 p99 p999 sockerr
  requests=$(field requests); duration=$(field duration_us); non2xx=$(field non2xx)
  p50=$(field p50_us); p99=$(field p99_us); p999=$(field p999_us)
  sockerr=$(( $(field connect) + $(field read) + $(field write) + $(field timeout) ))
  # wrk counts status > 399 as "Non-2xx or 3xx"; these servers answer 202 or an error, never 1xx/3xx.
  local ok=$((requests - non2xx))
  LAST_RPS=$(awk -v ok="$ok" -v d="$duration" 'BEGIN { printf "%.0f", (d > 0 ? ok / (d / 1e6) : 0) }')
  local vs; vs=$([[ -n "$BASE_RPS" ]] && ratio "$LAST_RPS" "$BASE_RPS" || echo "1.00")
  ROWS+=("| $scenario, wrk max | $LAST_RPS | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $(fmt_ms "$p999") | $non2xx | $sockerr | $vs | $(fmt_mib "$rss") | $other |")
}

# run_h2load SCENARIO URL RATE: constant rate (h2load --rps per client); percentiles computed
# from --log-file (h2load 1.52 prints only min/max/mean/sd). Appends a row.
run_h2load() {
  local scenario="$1" url="$2" rate="$3"
  local slug; slug=$(echo "$1" | tr -c 'a-zA-Z0-9\n' '-')
  local file="$RAW/$slug.h2load.txt" reqlog="$RAW/$slug.h2load.log"
  local per_client=$(( rate / CONNECTIONS ))
  (( per_client >= 1 )) || per_client=1
  local target=$(( per_client * CONNECTIONS ))
  start_sampler "$RAW/rss.tmp"
  log "h2load: $scenario, ${SECS}s at $target req/s ($per_client per connection)"
  local warm=()
  (( WARM_SECS > 0 )) && warm=(--warm-up-time="$WARM_SECS")
  local before after
  before=$(cpu_snapshot)
  timeout --signal=INT $((SECS + WARM_SECS + 60)) \
    h2load --h1 -c "$CONNECTIONS" -t "$THREADS" --rps "$per_client" -D "$SECS" "${warm[@]}" \
      -d "$BODY_FILE" -H 'content-type: application/json' --log-file "$reqlog" "$url" >"$file" 2>&1 \
    || log "h2load returned non-zero for $scenario (see $file)"
  after=$(cpu_snapshot)
  stop_sampler
  local other; other=$(other_cpu_pct "$before" "$after")
  local rss; rss=$(cat "$RAW/rss.tmp")
  local total ok
  total=$(awk '/^requests:/ { print $2 }' "$file" || true)
  ok=$(awk '/^status codes:/ { print $3 }' "$file" || true)
  total=${total:-0}; ok=${ok:-0}
  local failed=$((total - ok))
  # log columns: start (us since epoch), status (-1 = failed stream), us to end of response.
  local pct
  pct=$(awk '$2 >= 0 { print $3 }' "$reqlog" 2>/dev/null | sort -n | awk '
    { v[NR] = $1 }
    function at(p,  i) { i = int(p / 100 * NR); if (i < p / 100 * NR) i++; if (i < 1) i = 1; return v[i] }
    END { if (NR == 0) print "-1 -1 -1"; else print at(50), at(99), at(99.9) }' || true)
  local p50 p99 p999
  read -r p50 p99 p999 <<<"$pct"
  local rps; rps=$(awk -v ok="$ok" -v d="$SECS" 'BEGIN { printf "%.0f", ok / d }')
  ROWS+=("| $scenario, h2load $target req/s | $rps | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $(fmt_ms "$p999") | $failed | - | - | $(fmt_mib "$rss") | $other |")
}

# Counters the gateway exported (accepted events, access-log lines dropped).
gateway_counters() { # ADMIN_PORT SCENARIO
  local metrics
  metrics=$(curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" 2>/dev/null || true)
  local accepted dropped
  accepted=$(echo "$metrics" | awk '/^ingest_events_accepted_total/ { s += $NF } END { printf "%.0f", s }')
  dropped=$(echo "$metrics" | awk '/^ingest_access_log_dropped_total/ { s += $NF } END { printf "%.0f", s }')
  NOTES+=("- $2: events accepted (incl. warm-up) $accepted, access-log lines dropped $dropped.")
}

# ------------------------------------------------------------------ build ---

if [[ "${NO_BUILD:-0}" != "1" ]]; then
  log "building Release (baseline, gateway)"
  dotnet build "$ROOT/load/Baseline" -c Release -nologo -v q >"$RAW/build-baseline.log" 2>&1 \
    || { tail -n 20 "$RAW/build-baseline.log" >&2; die "baseline build failed"; }
  dotnet build "$ROOT/src/Ingest.Gateway" -c Release -nologo -v q >"$RAW/build-gateway.log" 2>&1 \
    || { tail -n 20 "$RAW/build-gateway.log" >&2; die "gateway build failed (another change in src/ in progress? retry in a few minutes)"; }
fi
[[ -f "$BASELINE_DLL" ]] || die "missing $BASELINE_DLL (build load/Baseline -c Release)"
[[ -f "$GATEWAY_DLL" ]] || die "missing $GATEWAY_DLL (build src/Ingest.Gateway -c Release)"

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
  NOTES+=("- WARNING: other processes kept the CPU ${BUSY_AT_START}% busy just before the run: every figure is lower than on an idle machine.")
fi

# -------------------------------------------------------------- scenarios ---

# 1. Baseline: bare Kestrel.
next_free_port
port=$PORT
start_server baseline "post:http://127.0.0.1:$port/" dotnet "$BASELINE_DLL" --urls "http://127.0.0.1:$port"
run_wrk "baseline (bare Kestrel)" "http://127.0.0.1:$port/"
BASE_RPS=$LAST_RPS
if (( LAST_RPS == 0 )); then
  NOTES+=("- baseline answered no 2xx: the comparison is void.")
  FAILED=1
fi
RATE="${RATE:-$(( BASE_RPS / 2 ))}"
if (( HAVE_H2LOAD == 1 && RATE > 0 )); then
  run_h2load "baseline (bare Kestrel)" "http://127.0.0.1:$port/" "$RATE"
fi
stop_server

# 2./3. Gateway, blackhole route, access log to a file, then off.
# 4. ack durable: every 202 waits for the write-ahead log's group commit (fsync); compared with 3.
MEMORY_RPS=""
for variant in "blackhole.yaml|gateway, access log to file" "blackhole-nolog.yaml|gateway, access log off" "blackhole-durable.yaml|gateway, ack durable (WAL), access log off"; do
  config="${variant%%|*}"
  scenario="${variant#*|}"
  rm -f "$OUT/access.log" "$OUT/access.log.1"
  rm -rf "$OUT/wal"
  next_free_port
  gw_port=$PORT
  next_free_port
  admin_port=$PORT
  INGEST_LOAD_PORT=$gw_port INGEST_LOAD_ADMIN_PORT=$admin_port \
    start_server "gateway-${config%.yaml}" "get:http://127.0.0.1:$admin_port/readyz" \
    dotnet "$GATEWAY_DLL" serve --config "$ROOT/load/configs/$config"
  run_wrk "$scenario" "http://127.0.0.1:$gw_port/v1/events"
  LAST_WRK_RPS=$LAST_RPS
  if (( LAST_RPS == 0 )); then
    NOTES+=("- $scenario: the gateway answered no 2xx (see $RAW).")
    FAILED=1
  elif (( HAVE_H2LOAD == 1 && RATE > 0 )); then
    run_h2load "$scenario" "http://127.0.0.1:$gw_port/v1/events" "$RATE"
  fi
  gateway_counters "$admin_port" "$scenario"
  if [[ "$config" == "blackhole-nolog.yaml" ]]; then
    MEMORY_RPS=$LAST_WRK_RPS
  elif [[ "$config" == "blackhole-durable.yaml" ]]; then
    fsyncs=$(curl -fsS --max-time 5 "http://127.0.0.1:$admin_port/metrics" 2>/dev/null | awk '/^ingest_wal_fsyncs_total/ { s += $NF } END { printf "%.0f", s }')
    NOTES+=("- $scenario: ack durable / ack memory throughput (wrk max) = $(ratio "$LAST_WRK_RPS" "$MEMORY_RPS"); WAL fsyncs (incl. warm-up) ${fsyncs:-?}, one per group commit.")
  fi
  if [[ -f "$OUT/access.log" ]]; then
    NOTES+=("- $scenario: access log $(du -ch "$OUT"/access.log* | tail -1 | cut -f1) on disk.")
  fi
  stop_server
done
rm -f "$OUT/access.log" "$OUT/access.log.1"
rm -rf "$OUT/wal"

(( HAVE_H2LOAD == 1 )) || NOTES+=("- h2load not installed (apt package nghttp2-client): constant-rate scenario skipped.")

# ----------------------------------------------------------------- report ---

{
  echo "## Ingest load run $STAMP"
  echo
  echo "Machine: $(nproc) cores, $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(dotnet --version 2>/dev/null | sed 's/^/.NET SDK /'); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)$( (( HAVE_H2LOAD == 1 )) && echo ", $(h2load --version | head -1)")."
  echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)'). CPU busy before start: ${BUSY_AT_START}% (load average $LOAD_AT_START)."
  echo "Per scenario: ${WARM_SECS}s warm-up, ${SECS}s measured, $CONNECTIONS connections, $THREADS threads, POST 512 B JSON; servers and load generator share the machine."
  echo
  echo "| scenario | 2xx req/s | p50 | p99 | p99.9 | non-2xx | socket errors | vs baseline | peak RSS | other CPU |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "- 2xx req/s = (responses - non-2xx) / measured duration. wrk rows: closed loop at full speed; h2load rows: constant rate (half the baseline's wrk max), latency from request start (coordinated omission not corrected). other CPU: share of all cores used by processes other than the server and the load generator during the measured run (h2load: warm-up included); above a few % the row understates the servers."
  (( ${#NOTES[@]} > 0 )) && printf '%s\n' "${NOTES[@]}"
  echo "- Raw output: \`load/out/raw-$STAMP/\`."
} | tee "$RESULTS"
log "results written to ${RESULTS#"$ROOT"/}"

if (( FAILED != 0 )); then
  log "FAILED: a server answered no 2xx"
  exit 1
fi
