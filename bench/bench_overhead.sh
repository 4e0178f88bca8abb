#!/bin/sh
# Bench overhead: does running the probe under `rtcell bench` (its
# orchestration, progress and report machinery) change what the probe
# measures? Alternates a bare `rtcell latency` run and a one-row
# `rtcell bench --rows native-idle` run with the same parameters, ROUNDS
# times each, and prints the p99 of the measuring threads (total) of each and
# the ratio of the medians. Target: bench / bare within 1.05. Never asserts:
# a measurement, not a test. Needs root (SCHED_FIFO) and python3.
#
#   bench/bench_overhead.sh [RTCELL] [ROUNDS] [DURATION]
set -eu
RTCELL=${1:-build/src/cli/rtcell}
ROUNDS=${2:-5}
DURATION=${3:-10s}
CPUS=${CPUS:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

p99_latency() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["percentiles"]["p99"])' "$1"; }
p99_bench() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"][0]["repeats"][0]["total"]["percentiles"]["p99"])' "$1"; }

bare=""
bench=""
i=1
while [ "$i" -le "$ROUNDS" ]; do
    "$RTCELL" latency -a "$CPUS" -S -p 80 -i 200 -D "$DURATION" -q --json "$tmp/bare.json" >/dev/null
    "$RTCELL" bench --cpus "$CPUS" --rows native-idle -D "$DURATION" --no-history --no-check \
        --json "$tmp/bench.json" >/dev/null 2>&1
    b=$(p99_latency "$tmp/bare.json")
    r=$(p99_bench "$tmp/bench.json")
    echo "round $i: p99 bare ${b} ns, under bench ${r} ns"
    bare="$bare $b"
    bench="$bench $r"
    i=$((i + 1))
done
python3 - "$bare" "$bench" <<'PY'
import statistics, sys
bare = [int(x) for x in sys.argv[1].split()]
bench = [int(x) for x in sys.argv[2].split()]
mb, mr = statistics.median(bare), statistics.median(bench)
print(f"median p99: bare {mb/1000:.1f} us, under bench {mr/1000:.1f} us, ratio bench/bare {mr/mb:.3f} (target <= 1.05)")
PY
