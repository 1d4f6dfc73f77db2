#!/usr/bin/env bash
# What replication costs a send: the same 3-node cluster (cluster.example.yaml's addresses, every node
# on this machine) at replication_factor 1 and 3, under the same load: CHANNELS rooms with one
# subscriber each (so a delivery is a message), RATE messages/s. Prints both rows and the ratios
# (server CPU per message, ack latency); writes the JSON results into OUT.
#
#   Benchmarks/replication/run.sh                      # 20 rooms, 200 msg/s, 20 s
#   RATE=400 DURATION=30 Benchmarks/replication/run.sh
set -euo pipefail

CHANNELS=${CHANNELS:-20}
RATE=${RATE:-200}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$ROOT/Benchmarks/replication/results}

mkdir -p "$OUT"
(cd "$ROOT" && swift build -c release --product chorus >"$OUT/build.log" 2>&1) || { cat "$OUT/build.log"; exit 1; }
CHORUS=$ROOT/.build/release/chorus
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for factor in 1 3; do
    # The example's cluster with the factor set (the bench moves the data directories into a scratch one).
    sed "s/^  replication_factor: .*/  replication_factor: $factor/" "$ROOT/cluster.example.yaml" > "$WORK/rf$factor.yaml"
    grep -q "^  replication_factor: $factor" "$WORK/rf$factor.yaml" || { echo "cluster.example.yaml has no replication_factor line" >&2; exit 1; }
    echo "== replication_factor $factor"
    "$CHORUS" bench fanout --cluster "$WORK/rf$factor.yaml" --name "rf$factor" --channels "$CHANNELS" --subscribers 1 \
        --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" --json "$OUT/rf$factor.json"
done
echo "== side by side"
"$CHORUS" bench compare "$OUT/rf1.json" "$OUT/rf3.json"
