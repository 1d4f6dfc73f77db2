#!/usr/bin/env bash
# List Channels (GET /v1/channels, with each channel's unread count) against the length of the
# channel's history. One node, release build, fsync none, rate limit lifted:
#
#  1. alice makes a group with bob (a member from the start) and posts for SEED_SECONDS with wrk;
#     dave has a channel of his own with 10 messages.
#  2. The node restarts (checkpoint on stop), so the history is in the store; carol and erin
#     join, and erin marks the group's first message read.
#  3. wrk lists channels for DURATION seconds as dave (10 messages), bob (a member from the start),
#     carol (joined the long history) and erin (read up to a message only the store holds: her
#     count comes from the store), printing latency and server CPU per request.
#
#   Benchmarks/unread/run.sh
#   SEED_SECONDS=5 DURATION=5 Benchmarks/unread/run.sh   # a quick run
set -euo pipefail

SEED_SECONDS=${SEED_SECONDS:-20}
DURATION=${DURATION:-10}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/Benchmarks/unread/results}
mkdir -p "$OUT"
command -v wrk >/dev/null || { { apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; } >/dev/null 2>&1 || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }; }
(cd "$ROOT" && swift build -c release --product chorus >"$OUT/build.log" 2>&1) || { cat "$OUT/build.log"; exit 1; }
CHORUS=$ROOT/.build/release/chorus
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
export CHORUS_JWT_SECRET=unread-bench-secret
NODE=
trap '[ -n "$NODE" ] && kill "$NODE" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

printf 'limits:\n  user_requests_per_second: 1000000\n  user_request_burst: 1000000\n' >"$WORK/node.yaml"
start() {
    "$CHORUS" serve --config "$WORK/node.yaml" --port "$PORT" --data-dir "$WORK/data" --fsync none --log-level warning >>"$OUT/node.log" 2>&1 &
    NODE=$!
    for _ in $(seq 1 600); do curl -sf "$BASE/healthz" >/dev/null && return; sleep 0.1; done
    echo "node did not start" >&2; exit 1
}
cpu() { awk '{print $14 + $15}' "/proc/$NODE/stat"; }   # clock ticks (1/100 s)
token() { "$CHORUS" token --user "$1" --ttl 0; }
ALICE=$(token alice); BOB=$(token bob); CAROL=$(token carol); DAVE=$(token dave); ERIN=$(token erin)
post() {  # TOKEN PATH BODY
    curl -sf -XPOST "$BASE$2" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$3"
}
id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

: >"$OUT/node.log"
start
for t in "$BOB" "$CAROL" "$DAVE" "$ERIN"; do curl -sf "$BASE/v1/channels" -H "Authorization: Bearer $t" >/dev/null; done  # creates the users
GROUP=$(post "$ALICE" /v1/channels '{"type":"group","name":"Long"}' | id)
post "$ALICE" "/v1/channels/$GROUP/members" '{"user_id":"bob","role":"member"}' >/dev/null
SMALL=$(post "$DAVE" /v1/channels '{"type":"group","name":"Small"}' | id)
for i in $(seq 1 10); do post "$DAVE" "/v1/channels/$SMALL/messages" "{\"body\":\"m$i\"}" >/dev/null; done
FIRST=$(post "$ALICE" "/v1/channels/$GROUP/messages" '{"body":"the first"}' | id)
cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"body":"a message of the long history"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $ALICE"
EOF
echo "== alice posts to the group for $SEED_SECONDS s (node pid $NODE)"
wrk -t2 -c16 -d"${SEED_SECONDS}s" -s "$WORK/post.lua" "$BASE/v1/channels/$GROUP/messages" >"$OUT/seed.txt"
echo "   $(awk '/requests in/ {print $1}' "$OUT/seed.txt") messages"
echo "== restart (checkpoint on stop; the history is read from the store)"
kill -INT "$NODE"; wait "$NODE" || true
start
# carol and erin join now, when only the newest messages are in memory; erin reads the first.
post "$ALICE" "/v1/channels/$GROUP/members" '{"user_id":"carol","role":"member"}' >/dev/null
post "$ALICE" "/v1/channels/$GROUP/members" '{"user_id":"erin","role":"member"}' >/dev/null
post "$ERIN" "/v1/channels/$GROUP/read" "{\"last_read_message_id\":\"$FIRST\"}" >/dev/null

measure() {  # NAME TOKEN
    cat >"$WORK/get.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $2"
EOF
    wrk -t1 -c4 -d2s -s "$WORK/get.lua" "$BASE/v1/channels" >/dev/null   # warm-up (activates the channels)
    local before=$(cpu)
    wrk -t1 -c4 -d"${DURATION}s" --latency -s "$WORK/get.lua" "$BASE/v1/channels" >"$OUT/$1.txt"
    local after=$(cpu) requests=$(awk '/requests in/ {print $1}' "$OUT/$1.txt")
    local unread=$(curl -sf "$BASE/v1/channels" -H "Authorization: Bearer $2" | python3 -c 'import json,sys; print([c["unread_count"] for c in json.load(sys.stdin)])')
    printf '%-44s %8s req  p50 %8s  p99 %8s  CPU/req %8.0f µs  unread %s\n' "$1" "$requests" \
        "$(awk '$1 == "50%" {print $2}' "$OUT/$1.txt")" "$(awk '$1 == "99%" {print $2}' "$OUT/$1.txt")" \
        "$(echo "($after - $before) * 10000 / $requests" | bc -l)" "$unread"
}
echo "== GET /v1/channels ($DURATION s each, 4 connections)"
measure "dave: 10 messages" "$DAVE"
measure "bob: the long history, counted" "$BOB"
measure "carol: joined the long history" "$CAROL"
measure "erin: read an old message, from the store" "$ERIN"
