#!/usr/bin/env bash
# A campaign to USERS users (default 100,000) on one node (release build, fsync always), in two parts:
#
#  1. Throughput: the campaign runs unthrottled (chat.campaign_messages_per_second 100000) to the
#     end: messages per second, and server CPU per message (utime+stime of the node from /proc).
#     Each message creates the channel of the sender and the user first (no channel exists yet).
#  2. Chat while a campaign runs: `chorus bench fanout` (CHAT_CHANNELS rooms x 2 subscribers at
#     CHAT_RATE msg/s) alone, then again while a second campaign to the same users runs at the
#     default throttle (THROTTLE, 100 msg/s): end-to-end latency of live chat, before and during.
#
#   Benchmarks/campaign/run.sh                  # 100,000 users
#   USERS=10000 Benchmarks/campaign/run.sh      # a quick run
set -euo pipefail

USERS=${USERS:-100000}
THROTTLE=${THROTTLE:-100}
CHAT_CHANNELS=${CHAT_CHANNELS:-20}
CHAT_RATE=${CHAT_RATE:-200}
CHAT_SECONDS=${CHAT_SECONDS:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/Benchmarks/campaign/results}
mkdir -p "$OUT"
(cd "$ROOT" && swift build -c release --product chorus >"$OUT/build.log" 2>&1) || { cat "$OUT/build.log"; exit 1; }
CHORUS=$ROOT/.build/release/chorus
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
export CHORUS_JWT_SECRET=campaign-bench-secret
NODE=
trap '[ -n "$NODE" ] && kill "$NODE" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

start() {  # RATE: the campaign throttle
    printf 'limits:\n  user_requests_per_second: 1000000\n  user_request_burst: 1000000\nchat:\n  campaign_messages_per_second: %s\n' "$1" >"$WORK/node.yaml"
    "$CHORUS" serve --config "$WORK/node.yaml" --port "$PORT" --data-dir "$WORK/data" --fsync always --log-level warning >>"$OUT/node.log" 2>&1 &
    NODE=$!
    for _ in $(seq 1 600); do curl -sf "$BASE/healthz" >/dev/null && return; sleep 0.1; done
    echo "node did not start" >&2; exit 1
}
cpu() { awk '{print $14 + $15}' "/proc/$NODE/stat"; }   # clock ticks (1/100 s)
SERVER=$("$CHORUS" token --server --ttl 0)
api() {  # METHOD PATH [BODY]
    curl -sf -X "$1" "$BASE$2?api_key=chorus" -H "Authorization: $SERVER" -H 'stream-auth-type: jwt' -H 'Content-Type: application/json' ${3:+-d "$3"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['campaign']['$1'])"; }

: >"$OUT/node.log"
start 100000
echo "== seeding $USERS users and the sender (node pid $NODE)"
python3 - "$BASE" "$SERVER" "$USERS" <<'EOF'
import http.client, json, sys, urllib.parse
base, token, count = urllib.parse.urlparse(sys.argv[1]), sys.argv[2], int(sys.argv[3])
connection = http.client.HTTPConnection(base.hostname, base.port)
headers = {"Authorization": token, "stream-auth-type": "jwt", "Content-Type": "application/json"}
ids = ["brand"] + [f"u{i:06d}" for i in range(count)]
for first in range(0, len(ids), 100):
    users = {i: {"id": i, "name": f"Name {i}"} for i in ids[first:first + 100]}
    connection.request("POST", "/users?api_key=chorus", json.dumps({"users": users}), headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 201, response.status
EOF
started=$(date +%s.%N)
api POST /segments '{"segment": {"id": "all", "name": "All", "type": "user", "filter": {"id": {"$gt": "u"}}}}' >"$OUT/segment.json"
echo "   segment of $(python3 -c "import json; print(json.load(open('$OUT/segment.json'))['segment']['size'])" ) users counted in $(echo "$(date +%s.%N) - $started" | bc) s"

echo "== part 1: one campaign to $USERS users, unthrottled"
api POST /campaigns '{"campaign": {"id": "fast", "name": "Fast", "text": "Hello {{ user.name }}", "segment_id": "all", "sender_id": "brand"}}' >/dev/null
before=$(cpu); started=$(date +%s.%N)
api PATCH /campaigns/fast/schedule '{"scheduled_for": 0}' >/dev/null
while [ "$(api GET /campaigns/fast | field status)" != completed ]; do sleep 1; done
after=$(cpu); elapsed=$(echo "$(date +%s.%N) - $started" | bc)
sent=$(api GET /campaigns/fast | field messages_sent); failed=$(api GET /campaigns/fast | field failed)
printf '   %s sent, %s failed in %.1f s: %.0f messages/s, %.0f µs server CPU per message (RSS %s)\n' "$sent" "$failed" "$elapsed" \
    "$(echo "$sent / $elapsed" | bc -l)" "$(echo "($after - $before) * 10000 / $sent" | bc -l)" "$(awk '/VmRSS/ {print $2 / 1024 " MiB"}' /proc/$NODE/status)"

echo "== part 2: live chat ($CHAT_CHANNELS rooms x 2 subscribers, $CHAT_RATE msg/s), alone and during a campaign at $THROTTLE msg/s"
kill -INT "$NODE"; wait "$NODE" || true
start "$THROTTLE"
chat() {  # NAME
    "$CHORUS" bench fanout --url "$BASE" --server-pid "$NODE" --channels "$CHAT_CHANNELS" --subscribers 2 --rate "$CHAT_RATE" \
        --duration "$CHAT_SECONDS" --json "$OUT/chat-$1.json" >"$OUT/chat-$1.txt" 2>&1
}
chat alone
api POST /campaigns '{"campaign": {"id": "slow", "name": "Slow", "text": "Again {{ user.name }}", "segment_id": "all", "sender_id": "brand"}}' >/dev/null
before=$(cpu); started=$(date +%s.%N)
api PATCH /campaigns/slow/schedule '{"scheduled_for": 0}' >/dev/null
chat during-campaign
api PATCH /campaigns/slow/stop >/dev/null
sent=$(api GET /campaigns/slow | field messages_sent)
printf '   the throttled campaign sent %s messages in %.1f s\n' "$sent" "$(echo "$(date +%s.%N) - $started" | bc)"
echo "   live chat alone (first row) and during the campaign (second row):"
"$CHORUS" bench compare "$OUT/chat-alone.json" "$OUT/chat-during-campaign.json" | tee "$OUT/compare.txt"
