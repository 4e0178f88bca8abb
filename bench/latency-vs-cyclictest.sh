#!/bin/sh
# Fidelity of `rtcell latency` against cyclictest (rt-tests), the anchor.
#
# Alternates the two tools with identical parameters (-m -S -p 80 -i 200 -d 0,
# a 1 us histogram up to HIST us), ROUNDS rounds of SECONDS_PER_RUN each, idle
# and under `stress-ng --cpu 2 --vm 1`, and prints the median p50/p99/max of
# each tool and the rtcell/cyclictest ratios. Target: p50 and p99 ratios <= 1.05
# (our loop is no heavier than cyclictest's).
#
# Both tools' percentiles come from their histograms through the same code
# (nearest rank over 1 us buckets, a bucket read as its lower edge, as
# cyclictest's own histogram does), so the comparison is like for like. The
# order alternates each round so neither tool always runs first.
#
# Environment: ROUNDS (5), SECONDS_PER_RUN (10), INTERVAL (200 us), PRIO (80),
# HIST (1000 us), CONDITIONS ("idle stress"), RTCELL (build/src/cli/rtcell),
# OUT (a new temporary directory; raw outputs are kept there).
# Needs root (SCHED_FIFO, mlock, /dev/cpu_dma_latency). Never asserts; exit 0
# unless a tool fails to run.
set -eu

ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
INTERVAL=${INTERVAL:-200}
PRIO=${PRIO:-80}
HIST=${HIST:-1000}
CONDITIONS=${CONDITIONS:-idle stress}
here=$(cd "$(dirname "$0")/.." && pwd)
RTCELL=${RTCELL:-$here/build/src/cli/rtcell}
OUT=${OUT:-$(mktemp -d /tmp/rtcell-latency-bench.XXXXXX)}

if [ "$(id -u)" != 0 ]; then
    echo "latency-vs-cyclictest: run as root (SCHED_FIFO, mlock and /dev/cpu_dma_latency need it)" >&2
    exit 3
fi
for tool in cyclictest stress-ng python3; do
    command -v "$tool" >/dev/null || { echo "latency-vs-cyclictest: $tool missing: run scripts/install-deps" >&2; exit 3; }
done
[ -x "$RTCELL" ] || { echo "latency-vs-cyclictest: $RTCELL not built: run make build" >&2; exit 3; }
mkdir -p "$OUT"

stress_pid=
cleanup() {
    if [ -n "$stress_pid" ]; then kill "$stress_pid" 2>/dev/null || true; wait "$stress_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

common="-m -S -p $PRIO -i $INTERVAL -d 0 -D $SECONDS_PER_RUN -q -h $HIST"

run_rtcell() { # $1 = output file
    # shellcheck disable=SC2086
    "$RTCELL" latency $common --json "$1" >/dev/null
}
run_cyclictest() { # $1 = output file
    # shellcheck disable=SC2086
    cyclictest $common >"$1" 2>/dev/null
}

echo "latency-vs-cyclictest: $ROUNDS rounds x ${SECONDS_PER_RUN}s per tool and condition ($CONDITIONS); raw output in $OUT"
echo "params: $common"
for cond in $CONDITIONS; do
    if [ "$cond" = stress ]; then
        stress-ng --cpu 2 --vm 1 --quiet >/dev/null 2>&1 &
        stress_pid=$!
    fi
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        if [ $((r % 2)) = 1 ]; then
            run_rtcell "$OUT/$cond-$r.rtcell.json"
            run_cyclictest "$OUT/$cond-$r.cyclictest.txt"
        else
            run_cyclictest "$OUT/$cond-$r.cyclictest.txt"
            run_rtcell "$OUT/$cond-$r.rtcell.json"
        fi
        r=$((r + 1))
    done
    cleanup
    stress_pid=
done

python3 - "$OUT" "$ROUNDS" "$CONDITIONS" <<'EOF'
import json, math, statistics, sys

out, rounds, conditions = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()

def summary(counts, overflow, max_us):
    """p50, p99 (nearest rank; a bucket is its lower edge in us) and max."""
    n = sum(counts) + overflow
    res = []
    for q in (0.50, 0.99):
        rank = max(1, math.ceil(q * n - 1e-9))
        seen, val = 0, None
        for i, c in enumerate(counts):
            seen += c
            if seen >= rank:
                val = i
                break
        res.append(val if val is not None else max_us)  # in the overflow: report the max
    return res[0], res[1], max_us, n

def rtcell(path):
    t = json.load(open(path))["total"]
    return summary(t["histogram"]["counts"], t["overflows"]["count"], t["max_ns"] // 1000)

def cyclictest(path):
    cols, overflow, maxes = None, 0, []
    for line in open(path):
        if line.startswith("# Histogram Overflows:"):
            overflow = sum(int(x) for x in line.split(":")[1].split())
        elif line.startswith("# Max Latencies:"):
            maxes = [int(x) for x in line.split(":")[1].split()]
        elif line[:1].isdigit():
            f = line.split()
            row = sum(int(x) for x in f[1:])
            cols = (cols or []) + [row]
    return summary(cols or [], overflow, max(maxes) if maxes else 0)

print()
print(f"{'condition':10} {'tool':11} {'p50':>6} {'p99':>6} {'max':>7} {'samples':>10}   (us, median of {rounds} rounds)")
for cond in conditions:
    med = {}
    for tool, fn, ext in (("rtcell", rtcell, "rtcell.json"), ("cyclictest", cyclictest, "cyclictest.txt")):
        runs = [fn(f"{out}/{cond}-{r}.{ext}") for r in range(1, rounds + 1)]
        med[tool] = [statistics.median(x[i] for x in runs) for i in range(4)]
        p50, p99, mx, n = med[tool]
        print(f"{cond:10} {tool:11} {p50:6.1f} {p99:6.1f} {mx:7.1f} {n:10.0f}")
    ratio = [(med["rtcell"][i] / med["cyclictest"][i]) if med["cyclictest"][i] else float("nan") for i in range(3)]
    verdict = "ok" if ratio[0] <= 1.05 and ratio[1] <= 1.05 else "over target"
    print(f"{cond:10} {'ratio':11} {ratio[0]:6.2f} {ratio[1]:6.2f} {ratio[2]:7.2f}   (target p50, p99 <= 1.05: {verdict})")
EOF
