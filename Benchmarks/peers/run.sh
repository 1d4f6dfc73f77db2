#!/usr/bin/env bash
# Chorus and mosquitto under the same workload, in one run, on this machine:
# one room (topic), SUBSCRIBERS WebSocket subscribers, one sender at RATE messages/s, 64-byte payload.
# Prints both rows and the ratios; writes the JSON results and a plot into OUT.
#
#   sudo Benchmarks/peers/run.sh                       # 200 subscribers, 200 msg/s, 10 s
#   SUBSCRIBERS=1000 RATES=50,100,200 Benchmarks/peers/run.sh
#
# mosquitto's WebSocket listener binds every interface whatever its config says, so both servers and
# the load generator run inside a network namespace that has only loopback. Needs root (ip netns).
set -euo pipefail

SUBSCRIBERS=${SUBSCRIBERS:-200}
RATES=${RATES:-${RATE:-200}}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
PAYLOAD=64
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/Benchmarks/peers/results}

mkdir -p "$OUT"
if [ "$(id -u)" != 0 ]; then echo "run as root: network namespaces need it" >&2; exit 2; fi
if ! command -v mosquitto >/dev/null; then
    apt-get install -y mosquitto >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y mosquitto >/dev/null; }
fi
command -v ip >/dev/null || apt-get install -y iproute2 >/dev/null

(cd "$ROOT" && swift build -c release --product chorus >"$OUT/build.log" 2>&1) || { cat "$OUT/build.log"; exit 1; }
CHORUS=$ROOT/.build/release/chorus

NS=chorus-peers-$$
WORK=$(mktemp -d)
MOSQUITTO_PID=
cleanup() {
    [ -n "$MOSQUITTO_PID" ] && kill "$MOSQUITTO_PID" 2>/dev/null && wait "$MOSQUITTO_PID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up

# mosquitto 2.0 refuses to start with only a WebSocket listener, hence the plain one on 1883.
cat > "$WORK/mosquitto.conf" <<CONF
listener 1883 127.0.0.1
listener 9001
protocol websockets
allow_anonymous true
persistence false
log_type error
CONF
# `ip netns exec` execs mosquitto, so this pid is the broker's own (its CPU time is read from /proc).
ip netns exec "$NS" mosquitto -c "$WORK/mosquitto.conf" &
MOSQUITTO_PID=$!
for _ in $(seq 100); do
    ip netns exec "$NS" bash -c 'echo > /dev/tcp/127.0.0.1/9001' 2>/dev/null && break
    sleep 0.1
done

shape=(--subscribers "$SUBSCRIBERS" --senders 1 --channels 1 --payload "$PAYLOAD" --duration "$DURATION" --warmup "$WARMUP")
if [[ "$RATES" == *,* ]]; then rate=(--rates "$RATES" --p99-limit 1000000); else rate=(--rate "$RATES"); fi

echo "== chorus (single node, fsync always)"
ip netns exec "$NS" "$CHORUS" bench fanout --spawn "${shape[@]}" "${rate[@]}" --json "$OUT/chorus.json"
echo "== mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') (MQTT 3.1.1 over WebSocket, QoS 1 publish, QoS 0 subscriptions)"
ip netns exec "$NS" "$CHORUS" bench fanout --protocol mqtt --name mosquitto --url ws://127.0.0.1:9001/ \
    --server-pid "$MOSQUITTO_PID" "${shape[@]}" "${rate[@]}" --json "$OUT/mosquitto.json"
echo "== side by side"
"$CHORUS" bench compare "$OUT/chorus.json" "$OUT/mosquitto.json" --plot "$OUT/peers.png"
