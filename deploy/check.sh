#!/usr/bin/env bash
# Offline checks of the container setup (no Docker engine needed):
#   1. docker-compose.yml parses and is valid (`docker compose config -q`, or docker-compose v1);
#   2. deploy/nginx/ingest.conf passes `nginx -t`, with the compose host names mapped to loopback.
# Installs docker-compose and nginx from apt when neither client is present (CI runs as root).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "deploy/check.sh: $* missing and not root: install it (apt-get install $*)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
  compose=(docker-compose)
fi
"${compose[@]}" -f docker-compose.yml config -q
echo "deploy/check.sh: docker-compose.yml ok (${compose[*]})"

nginx_bin="$(command -v nginx || true)"
[ -n "$nginx_bin" ] || [ ! -x /usr/sbin/nginx ] || nginx_bin=/usr/sbin/nginx
if [ -z "$nginx_bin" ]; then
  apt_install nginx
  nginx_bin=/usr/sbin/nginx
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed -e 's/server gateway-a:8080/server 127.0.0.1:18080/' -e 's/server gateway-b:8080/server 127.0.0.1:18081/' \
  deploy/nginx/ingest.conf >"$tmp/ingest.conf"
cat >"$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events {}
http {
  client_body_temp_path $tmp/client_body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  access_log off;
  include $tmp/ingest.conf;
}
CONF
"$nginx_bin" -t -q -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/error.log"
echo "deploy/check.sh: deploy/nginx/ingest.conf ok (nginx -t)"
