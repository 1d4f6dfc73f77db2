#!/usr/bin/env bash
# Server CPU per REST request, against nginx on the same machine. One node, release build,
# rate limit lifted, wrk on the same cores; CPU is the server's utime + stime from /proc over
# the requests wrk completed (so wrk's own CPU is not counted).
#
#   GET /healthz                       wrk -t1 -c4   (nginx: `return 200` on the same wrk line;
#                                      answered on the event loop, HealthCheckHandler)
#   GET /readyz                        wrk -t1 -c4   (the node's state; also on the event loop
#                                      while the node is ready)
#   POST /v1/channels/{id}/messages    wrk -t1 -c16, one group, fsync always (durable sends)
#   GET /v1/channels                   wrk -t1 -c4, one member of one group
#
#   Benchmarks/rest/run.sh
#   DURATION=5 Benchmarks/rest/run.sh                 # a quick run
#   PERF=healthz Benchmarks/rest/run.sh               # also perf-record the node during that row
#   CHORUS_BIN=/tmp/old/chorus Benchmarks/rest/run.sh # another build of chorus
#   PEERS=1 Benchmarks/rest/run.sh                    # also the reference servers of
#       chorus-benchmarks http-peer (NIO answering on the event loop, the same with a hop to a
#       Swift task, a bare Hummingbird app), with the /healthz wrk line
set -euo pipefail

DURATION=${DURATION:-10}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/Benchmarks/rest/results}
mkdir -p "$OUT"
need() {  # COMMAND PACKAGE
    command -v "$1" >/dev/null || { { apt-get install -y "$2" || { apt-get update && apt-get install -y "$2"; }; } >/dev/null 2>&1 || { echo "$1 is needed (apt-get install $2)" >&2; exit 1; }; }
}
need wrk wrk
need nginx nginx
# CHORUS_BIN=PATH measures another build (for a before/after) instead of building this one.
if [ -n "${CHORUS_BIN:-}" ]; then
    CHORUS=$CHORUS_BIN
else
    (cd "$ROOT" && swift build -c release --product chorus >"$OUT/build.log" 2>&1) || { cat "$OUT/build.log"; exit 1; }
    CHORUS=$ROOT/.build/release/chorus
fi
WORK=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
NGINX_PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export CHORUS_JWT_SECRET=rest-bench-secret
NODE=
NGINX=
trap '[ -n "$NODE" ] && kill "$NODE" 2>/dev/null; [ -n "$NGINX" ] && kill "$NGINX" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# Checkpoints every 5 s (not 60): each message's write to the store belongs in a send's CPU.
printf 'limits:\n  user_requests_per_second: 1000000\n  user_request_burst: 1000000\nstorage:\n  checkpoint_interval_seconds: 5\n' >"$WORK/node.yaml"
"$CHORUS" serve --config "$WORK/node.yaml" --port "$PORT" --data-dir "$WORK/data" --fsync always --log-level warning >"$OUT/node.log" 2>&1 &
NODE=$!
for _ in $(seq 1 600); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/healthz" >/dev/null || { echo "node did not start" >&2; exit 1; }

# nginx in the foreground, one worker (the node's event loops and pool use both cores).
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
    uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
    server { listen 127.0.0.1:$NGINX_PORT; location / { return 200 '{"status":"ok"}'; } }
}
EOF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$NGINX_PORT/healthz" >/dev/null && break; sleep 0.1; done

# User and system clock ticks (1/100 s), and the context switches of all the process's threads.
cpu() {
    echo "$(awk '{print $14, $15}' "/proc/$1/stat") $(cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ {s += $2} END {print s + 0}')"
}
# nginx's worker is a child of its master; count both.
nginx_cpu() {
    local user=0 system=0 switches=0 u s w
    for p in $NGINX $(pgrep -P "$NGINX"); do read -r u s w < <(cpu "$p"); user=$((user + u)); system=$((system + s)); switches=$((switches + w)); done
    echo "$user $system $switches"
}
token() { "$CHORUS" token --user "$1" --ttl 0; }
ALICE=$(token alice)
post() {  # PATH BODY
    curl -sf -XPOST "$BASE$1" -H "Authorization: Bearer $ALICE" -H 'Content-Type: application/json' -d "$2"
}
GROUP=$(post /v1/channels '{"type":"group","name":"Bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"body":"a durable message of about sixty-four bytes, as chat has them"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $ALICE"
EOF
cat >"$WORK/get.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $ALICE"
EOF

measure() {  # NAME PID-FUNCTION CONNECTIONS URL [SCRIPT]
    local name=$1 cpufn=$2 connections=$3 url=$4 script=${5:-}
    local args=(-t1 -c"$connections" --latency)
    [ -n "$script" ] && args+=(-s "$script")
    wrk "${args[@]}" -d2s "$url" >/dev/null   # warm-up
    local perf=
    if [ "${PERF:-}" = "$name" ]; then
        perf record -e cpu-clock -F 2000 -g -p "$NODE" -o "$OUT/$name.perf" -- sleep "$DURATION" >/dev/null 2>&1 &
        perf=$!
    fi
    local user0 system0 switches0 user1 system1 switches1
    read -r user0 system0 switches0 < <($cpufn)
    wrk "${args[@]}" -d"${DURATION}s" "$url" >"$OUT/$name.txt"
    read -r user1 system1 switches1 < <($cpufn)
    local requests=$(awk '/requests in/ {print $1}' "$OUT/$name.txt")
    [ -n "$perf" ] && wait "$perf"
    # User and kernel time apart: this shared host's noise is mostly in the kernel's (wake-ups).
    # Context switches per request vary far less between runs than CPU time.
    printf '%-28s %9s req  %9.0f req/s  p50 %8s  p99 %8s  server CPU/req %7.1f µs (user %5.1f, kernel %5.1f)  switches/req %5.2f\n' "$name" "$requests" \
        "$(echo "$requests / $DURATION" | bc -l)" \
        "$(awk '$1 == "50%" {print $2}' "$OUT/$name.txt")" "$(awk '$1 == "99%" {print $2}' "$OUT/$name.txt")" \
        "$(echo "($user1 + $system1 - $user0 - $system0) * 10000 / $requests" | bc -l)" \
        "$(echo "($user1 - $user0) * 10000 / $requests" | bc -l)" "$(echo "($system1 - $system0) * 10000 / $requests" | bc -l)" \
        "$(echo "($switches1 - $switches0) / $requests" | bc -l)"
}
node_cpu() { cpu "$NODE"; }
echo "== $DURATION s a row (node pid $NODE, nginx pid $NGINX)"
measure nginx nginx_cpu 4 "http://127.0.0.1:$NGINX_PORT/healthz"
measure healthz node_cpu 4 "$BASE/healthz"
measure readyz node_cpu 4 "$BASE/readyz"
measure send node_cpu 16 "$BASE/v1/channels/$GROUP/messages" "$WORK/post.lua"
measure channels node_cpu 4 "$BASE/v1/channels" "$WORK/get.lua"

if [ "${PEERS:-}" = 1 ]; then
    (cd "$ROOT/Benchmarks" && swift build -c release --product chorus-benchmarks >"$OUT/build-peers.log" 2>&1) || { cat "$OUT/build-peers.log"; exit 1; }
    for kind in loop task hummingbird; do
        PEER_PORT=$(free_port)
        "$ROOT/Benchmarks/.build/release/chorus-benchmarks" http-peer "$kind" "$PEER_PORT" >"$OUT/peer-$kind.log" 2>&1 &
        PEER=$!
        for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PEER_PORT/healthz" >/dev/null && break; sleep 0.1; done
        peer_cpu() { cpu "$PEER"; }
        measure "peer: $kind" peer_cpu 4 "http://127.0.0.1:$PEER_PORT/healthz"
        kill "$PEER"; wait "$PEER" 2>/dev/null || true
    done
fi
