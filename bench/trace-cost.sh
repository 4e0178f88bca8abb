#!/bin/sh
# Trace cost: does `rtcell latency --trace` (a private ftrace instance
# recording sched, irq, timer, ipi, workqueue and power events on the
# measured CPUs, plus the measuring thread's markers) change what it
# measures? Alternates a bare `rtcell latency` run and the same run with
# --trace, ROUNDS times each, in one invocation, and prints the p99 of each
# and the ratio of the medians. Target (issue 16): traced / bare <= 1.10.
# Never asserts: a measurement, not a test. Needs root (SCHED_FIFO, tracefs)
# and python3. Prints `uptime` before and after: on a shared machine the
# load decides what the number means.
#
#   bench/trace-cost.sh [RTCELL] [ROUNDS] [DURATION]
set -eu
RTCELL=${1:-build/src/cli/rtcell}
ROUNDS=${2:-5}
DURATION=${3:-5s}
CPU=${CPU:-1}
INTERVAL=${INTERVAL:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

p99() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["percentiles"]["p99"])' "$1"; }

echo "load before: $(uptime)"
bare=""
traced=""
i=1
while [ "$i" -le "$ROUNDS" ]; do
    "$RTCELL" latency -t 1 -a "$CPU" -p 80 -i "$INTERVAL" -D "$DURATION" -q --json "$tmp/bare.json" >/dev/null
    "$RTCELL" latency -t 1 -a "$CPU" -p 80 -i "$INTERVAL" -D "$DURATION" -q --json "$tmp/traced.json" \
        --trace "$tmp/trace" >/dev/null 2>&1
    b=$(p99 "$tmp/bare.json")
    t=$(p99 "$tmp/traced.json")
    echo "round $i: p99 bare ${b} ns, with --trace ${t} ns"
    bare="$bare $b"
    traced="$traced $t"
    i=$((i + 1))
done
echo "load after: $(uptime)"
python3 - "$bare" "$traced" <<'PY'
import statistics, sys
bare = [int(x) for x in sys.argv[1].split()]
traced = [int(x) for x in sys.argv[2].split()]
mb, mt = statistics.median(bare), statistics.median(traced)
print(f"median p99: bare {mb/1000:.1f} us, with --trace {mt/1000:.1f} us, ratio traced/bare {mt/mb:.3f} (target <= 1.10)")
PY
