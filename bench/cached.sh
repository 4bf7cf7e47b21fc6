#!/usr/bin/env bash
# The cached browse path under load (issue 3, point 8): gunicorn with 2 sync
# workers on the 16,000-entry bench database, one repeated browse URL measured
# with wrk on 127.0.0.1. Target: at least 2,000 requests/s.
#
#   bash bench/cached.sh                          # /browse/?kind=guide, page cache on
#   bash bench/cached.sh '/browse/?q=istio'       # another URL
#   UNCACHED=1 bash bench/cached.sh               # also the same URL with BROWSE_CACHE_SECONDS=0
#
# Environment: ENTRIES (16000), DB_DIR (/tmp/meshportal-bench), DURATION (10s);
# DATABASE_CONN_MAX_AGE passes through to the server (the default 0 opens a
# connection per request, which a cache hit pays for its version query).
# Needs wrk (apt-get install -y wrk). The server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

URL_PATH=${1:-/browse/?kind=guide}
ENTRIES=${ENTRIES:-16000}
DB_DIR=${DB_DIR:-/tmp/meshportal-bench}
DURATION=${DURATION:-10s}
TARGET=2000
PY=.venv/bin/python

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
DB=$("$PY" bench/browse.py --entries "$ENTRIES" --db-dir "$DB_DIR" --build-only | tail -n 1)
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT$URL_PATH"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

# One leg: start gunicorn with BROWSE_CACHE_SECONDS=$1, warm both workers, measure.
run_leg() {
  local cache_seconds=$1 label=$2
  env -u DJANGO_DEBUG -u REDIS_URL -u CACHE_URL \
    DATABASE_URL="sqlite:///$DB" \
    DJANGO_SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DJANGO_ALLOWED_HOSTS=127.0.0.1 \
    DJANGO_SECURE_SSL_REDIRECT=0 \
    DJANGO_LOG_LEVEL=ERROR \
    PYTHONWARNINGS="ignore:No directory at:UserWarning" \
    MESHPORTAL_RELEASE=bench \
    BROWSE_CACHE_SECONDS="$cache_seconds" \
    .venv/bin/gunicorn meshportal.wsgi --workers 2 --bind "127.0.0.1:$PORT" --log-level warning &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.2
  done
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' "$URL")
  if [ "$status" != 200 ]; then
    echo "$URL answered HTTP $status (expected 200)" >&2
    exit 1
  fi
  # Warm-up: each worker builds its facet index and fills its own cache.
  wrk -t2 -c4 -d2s "$URL" >/dev/null
  echo "== $label: wrk -t2 -c4 -d$DURATION $URL (gunicorn, 2 sync workers, $ENTRIES entries)"
  local out
  out=$(wrk -t2 -c4 -d"$DURATION" --latency "$URL")
  echo "$out"
  local rps
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  if grep -q "Non-2xx or 3xx responses" <<<"$out"; then
    echo "RESULT $label: some responses were not 2xx/3xx: FAIL"
  elif [ "$label" = cached ]; then
    awk -v r="$rps" -v t="$TARGET" -v l="$label" \
      'BEGIN { printf "RESULT %s: %.0f requests/s (target >= %d): %s\n", l, r, t, (r >= t ? "PASS" : "FAIL") }'
  else
    echo "RESULT $label: $rps requests/s (no target; for comparison)"
  fi
  stop_server
}

run_leg 600 cached
if [ "${UNCACHED:-0}" = 1 ]; then
  run_leg 0 uncached
fi
