#!/usr/bin/env bash
# Query channels and search of the Stream-compatible API on one node holding CHANNELS channels
# (messaging:c0…, creator and two members from USERS users, so each user is in ~3*CHANNELS/USERS
# channels, custom field `level`) and MESSAGES messages (three random words of 1,000 each).
# Seeds over HTTP with wrk (fsync none), restarts the node (so history is read from the store and
# its FTS5 index), then runs each query for DURATION seconds with wrk and prints latency and
# server CPU per request (utime+stime of the node from /proc, over the requests wrk completed).
#
#   Benchmarks/stream/run.sh                                  # 100,000 channels, 1,000,000 messages
#   CHANNELS=10000 MESSAGES=100000 Benchmarks/stream/run.sh   # a quick run
#   WORK_DIR=/tmp/stream-bench Benchmarks/stream/run.sh       # keep the seeded node; a second run skips seeding
set -euo pipefail

CHANNELS=${CHANNELS:-100000}
MESSAGES=${MESSAGES:-1000000}
USERS=${USERS:-10000}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-8}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/Benchmarks/stream
OUT=${OUT:-$HERE/results}
mkdir -p "$OUT"
command -v wrk >/dev/null || { { apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; } >/dev/null 2>&1 || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }; }
(cd "$ROOT" && swift build -c release --product chorus >"$OUT/build.log" 2>&1) || { cat "$OUT/build.log"; exit 1; }
CHORUS=$ROOT/.build/release/chorus
WORK=${WORK_DIR:-$(mktemp -d)}
mkdir -p "$WORK"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
export CHORUS_JWT_SECRET=stream-bench-secret
NODE=
trap '[ -n "$NODE" ] && kill "$NODE" 2>/dev/null; wait 2>/dev/null; [ -n "${WORK_DIR:-}" ] || rm -rf "$WORK"' EXIT

# The per-user rate limit lifted: the benchmark measures cost, not the limiter.
printf 'limits:\n  user_requests_per_second: 1000000\n  user_request_burst: 1000000\n' >"$WORK/node.yaml"
start() {
    "$CHORUS" serve --config "$WORK/node.yaml" --port "$PORT" --data-dir "$WORK/data" --fsync none --log-level warning >>"$OUT/node.log" 2>&1 &
    NODE=$!
    for _ in $(seq 1 600); do curl -sf "$BASE/healthz" >/dev/null && return; sleep 0.1; done
    echo "node did not start" >&2; exit 1
}
cpu() { awk '{print $14 + $15}' "/proc/$NODE/stat"; }   # clock ticks (1/100 s)
SERVER=$("$CHORUS" token --server --ttl 0)
USER_TOKEN=$("$CHORUS" token --user u1 --ttl 0)

: >"$OUT/node.log"
start
if [ -e "$WORK/seeded" ]; then
echo "== $WORK is seeded already (WORK_DIR): not seeding"
else
echo "== seeding $USERS users, $CHANNELS channels, $MESSAGES messages (node pid $NODE)"
for ((first = 0; first < USERS; first += 100)); do
    python3 -c "import json,sys; f=int(sys.argv[1]); n=int(sys.argv[2]); print(json.dumps({'users': {f'u{i}': {'id': f'u{i}', 'name': f'User {i}'} for i in range(f, min(f + 100, n))}}))" "$first" "$USERS" \
        | curl -sf -XPOST "$BASE/users?api_key=chorus" -H "Authorization: $SERVER" -H 'Content-Type: application/json' -d @- >/dev/null
done
seed() {  # MODE TOTAL: wrk until both of its threads have had all their answers, then SIGINT.
    local started=$SECONDS done=$WORK/done-$1
    mkdir -p "$done"
    MODE=$1 TOTAL=$2 CHANNELS=$CHANNELS USERS=$USERS THREADS=2 SERVER_TOKEN=$SERVER DONE_DIR=$done \
        wrk -t2 -c32 -d3600s -s "$HERE/seed.lua" "$BASE" >"$OUT/seed-$1.txt" &
    local seeder=$!
    while [ "$(ls "$done" | wc -l)" -lt 2 ]; do
        kill -0 "$seeder" 2>/dev/null || { cat "$OUT/seed-$1.txt"; echo "wrk ended early" >&2; exit 1; }
        sleep 0.5
    done
    kill -INT "$seeder"; wait "$seeder" || true
    local failed=$(grep -c '^status' "$OUT/seed-$1.txt" || true)
    echo "   $1: $2 in $((SECONDS - started)) s ($failed errors shown in $OUT/seed-$1.txt)"
    [ "$failed" = 0 ] || { head -5 "$OUT/seed-$1.txt"; exit 1; }
}
seed channels "$CHANNELS"
seed messages "$MESSAGES"
touch "$WORK/seeded"
fi
echo "== restart (checkpoint on stop, then recovery)"
kill -INT "$NODE"; wait "$NODE" || true
started=$SECONDS
start
echo "   ready $((SECONDS - started)) s after start; RSS $(awk '/VmRSS/ {print $2 / 1024 " MiB"}' /proc/$NODE/status)"

measure() {  # NAME METHOD PATH BODY TOKEN [CONNECTIONS]
    local name=$1 connections=${6:-$CONNECTIONS}
    # Warm up (activates the channels the query reads), then measure.
    METHOD=$2 REQUEST_PATH=$3 BODY=$4 TOKEN=$5 wrk -t1 -c"$connections" -d3s --timeout 30s -s "$HERE/query.lua" "$BASE" >/dev/null
    local before=$(cpu)
    METHOD=$2 REQUEST_PATH=$3 BODY=$4 TOKEN=$5 wrk -t1 -c"$connections" -d"${DURATION}s" --timeout 30s --latency -s "$HERE/query.lua" "$BASE" >"$OUT/$name.txt"
    local after=$(cpu)
    local requests=$(awk '/requests in/ {print $1}' "$OUT/$name.txt")
    local p50=$(awk '$1 == "50%" {print $2}' "$OUT/$name.txt") p99=$(awk '$1 == "99%" {print $2}' "$OUT/$name.txt")
    local errors=$(grep -c '^status' "$OUT/$name.txt" || true)
    [ "${requests:-0}" -gt 0 ] || { printf '%-34s no request completed\n' "$name"; return; }
    printf '%-34s %9s req  p50 %8s  p99 %8s  CPU/req %8.0f µs  errors %s\n' "$name" "$requests" "$p50" "$p99" \
        "$(echo "($after - $before) * 10000 / $requests" | bc -l)" "$errors"
}
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
echo "== queries ($DURATION s each, $CONNECTIONS connections; user u1 is in $((3 * CHANNELS / USERS)) channels or so)"
SORT='"sort": [{"field": "last_message_at", "direction": -1}]'
measure query-channels-user POST "/channels?api_key=chorus" "{\"filter_conditions\": {\"members\": {\"\$in\": [\"u1\"]}}, $SORT, \"limit\": 10, \"message_limit\": 5}" "$USER_TOKEN"
measure query-channels-user-custom POST "/channels?api_key=chorus" "{\"filter_conditions\": {\"level\": {\"\$gte\": 5}}, $SORT, \"limit\": 10, \"message_limit\": 5}" "$USER_TOKEN"
measure query-channels-server-members POST "/channels?api_key=chorus" "{\"filter_conditions\": {\"members\": {\"\$in\": [\"u1\", \"u2\"]}}, $SORT, \"limit\": 10}" "$SERVER"
measure search-user-channels GET "/search?api_key=chorus&payload=$(urlencode '{"filter_conditions": {"members": {"$in": ["u1"]}}, "query": "w42"}')" "" "$USER_TOKEN"
measure search-one-channel GET "/search?api_key=chorus&payload=$(urlencode '{"filter_conditions": {"cid": "messaging:c7"}, "query": "w42 w7"}')" "" "$SERVER" 
measure query-members GET "/members?api_key=chorus&payload=$(urlencode '{"type": "messaging", "id": "c7", "filter_conditions": {"name": {"$autocomplete": "user"}}}')" "" "$SERVER"
echo "== server queries that name neither channels nor members: the channel index"
measure query-channels-server-index POST "/channels?api_key=chorus" "{\"filter_conditions\": {\"level\": 3}, \"limit\": 10}" "$SERVER"
measure query-channels-server-type POST "/channels?api_key=chorus" "{\"filter_conditions\": {\"type\": \"messaging\"}, \"sort\": [{\"field\": \"created_at\", \"direction\": -1}], \"limit\": 10, \"offset\": 100}" "$SERVER"
echo "== the same, when the index cannot stop early: no match, or a sort it does not keep (1 connection)"
measure query-channels-server-nomatch POST "/channels?api_key=chorus" "{\"filter_conditions\": {\"level\": 99}, \"limit\": 10}" "$SERVER" 1
measure query-channels-server-lastmsg POST "/channels?api_key=chorus" "{\"filter_conditions\": {\"level\": 3}, $SORT, \"limit\": 10}" "$SERVER" 1
