#!/usr/bin/env bash
# Where the time goes: py-spy attached to the services during a benchmark run.
# Needs py-spy on PATH (`pip install py-spy`; it is not a project dependency). Writes raw
# stacks to ${PROFILE_DIR:-/tmp/orderflow-profile} and prints a summary per service.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${PROFILE_DIR:-/tmp/orderflow-profile}
rm -rf "$out" && mkdir -p "$out"
.venv/bin/python -m bench --reports 20000 --ceiling-reports 3000 --chain-reports 4000 \
  --chain-ceiling-reports 500 --single 10 --open-rate 50 --open-seconds 3 --replica-reports 300 \
  --timeout 300 --output "$out/bench.json" --history "$out/history.jsonl" > "$out/bench.log" 2>&1 &
bench=$!
until grep -q "full chain: [0-9]" "$out/bench.log"; do sleep 0.2; done
sleep 1
for s in ingest status_tracker attribution rewards notifier; do
  pid=$(pgrep -f "orderflow.services.$s" | tail -1)
  py-spy record -r 50 -d 8 -f raw -o "$out/chain-$s.txt" -p "$pid" > /dev/null 2>&1 &
done
wait "$bench"
.venv/bin/python bench/profile_summary.py "$out"/chain-*.txt
