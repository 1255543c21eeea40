#!/usr/bin/env bash
# Runs the service locally for `make run`: a private JetStream nats-server, then `cargo run --release -- serve`.
set -euo pipefail

cd "$(dirname "$0")/.."

scripts/ensure-tools.sh nats >/dev/null

# Debian puts nats-server in /usr/sbin, which a non-root PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
export PATH

DATA_DIR=./data
NATS_LOG="$DATA_DIR/nats.log"
mkdir -p "$DATA_DIR/nats"

# True when nothing listens on 127.0.0.1:$1.
port_free() {
    python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nats-server: TIME_WAIT is no conflict
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

if [ -z "${NATS_PORT:-}" ]; then
    if port_free 4222; then
        NATS_PORT=4222
    else
        NATS_PORT="$(free_port)"
        echo "run-local: port 4222 is in use; NATS will listen on $NATS_PORT" >&2
    fi
fi
HTTP_ADDR="${HTTP_ADDR:-127.0.0.1:8080}"
STORE_URL="${STORE_URL:-sqlite://$DATA_DIR/alarm-digest.db}"
NATS_URL="nats://127.0.0.1:$NATS_PORT"
export NATS_PORT HTTP_ADDR STORE_URL NATS_URL

NATS_PID=""
APP_PID=""
TAIL_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local pid i
    # The service first, as Ctrl-C would (SIGINT), with up to 10 s to finish; then SIGTERM.
    if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
        kill -INT "$APP_PID" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$APP_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$APP_PID" 2>/dev/null || true
        wait "$APP_PID" 2>/dev/null || true
    fi
    for pid in "$TAIL_PID" "$NATS_PID"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

: >"$NATS_LOG"
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$DATA_DIR/nats" >>"$NATS_LOG" 2>&1 &
NATS_PID=$!

# Follow the log until the server says it is ready, for at most 20 s (tail stops early
# if nats-server exits).
exec 3< <(exec timeout 20 tail -n +1 -F --pid="$NATS_PID" "$NATS_LOG" 2>/dev/null)
TAIL_PID=$!
ready=0
while IFS= read -r -u 3 line; do
    case "$line" in
        *"Server is ready"*)
            ready=1
            break
            ;;
    esac
done
kill "$TAIL_PID" 2>/dev/null || true
wait "$TAIL_PID" 2>/dev/null || true
TAIL_PID=""
exec 3<&-
if [ "$ready" -ne 1 ]; then
    echo "run-local: nats-server exited or was not ready within 20 s; last lines of $NATS_LOG:" >&2
    tail -n 20 "$NATS_LOG" >&2
    exit 1
fi

cat <<BANNER

  NATS (JetStream)  $NATS_URL   (pid $NATS_PID, log $NATS_LOG)
  HTTP              http://$HTTP_ADDR
  store             $STORE_URL

  Try it, in another terminal:
    export NATS_URL=$NATS_URL
    cargo run --release -q -- sub AlarmDigest
  and in a third one (with NATS_URL exported too):
    cargo run --release -q -- pub AlarmStatusChanged '{"UserID":"1","AlarmID":"disk","Status":"CRITICAL","ChangedAt":"2021-06-07T20:40:15.598765212Z"}'
    cargo run --release -q -- pub SendAlarmDigest '{"UserID":"1"}'
  The nats CLI works the same: nats sub AlarmDigest, nats pub SendAlarmDigest '{"UserID":"1"}'.
  Demo traffic (flapping alarms, duplicates, late events, digest requests), 200 messages/s:
    cargo run --release -q -- load --rate 200 --start-at now

  Starting the service: cargo run --release -- serve   (Ctrl-C stops it and nats-server)

BANNER

# In the background so that a TERM to this script reaches its trap at once; the subshell
# restores SIGINT (which bash ignores in background jobs) so Ctrl-C still reaches cargo.
(
    trap - INT QUIT
    exec cargo run --release -- serve
) &
APP_PID=$!
status=0
wait "$APP_PID" || status=$?
APP_PID=""
exit "$status"
