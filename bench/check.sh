#!/bin/sh
# Wall time of `rtcell check` on this host (it will run before every cell
# start, so the target is a median < 200 ms). Measures N runs with
# date +%s%N and prints min / median / max in ms, next to an anchor measured
# in the same run: `cat /proc/cmdline > /dev/null` (process start-up cost), so
# the ratio says how much of the time is check's own work.
# Usage: bench/check.sh [RTCELL] [N] [extra check args...]
set -eu
bin=${1:-build/src/cli/rtcell}
n=${2:-50}
[ $# -ge 2 ] && shift 2 || shift $#
[ -x "$bin" ] || { echo "bench/check.sh: build first ($bin missing): make build" >&2; exit 2; }

measure() {  # prints one duration per line in microseconds
    i=0
    while [ "$i" -lt "$n" ]; do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000 ))
        i=$((i + 1))
    done
}
stats() {  # min median max in ms from microsecond lines
    sort -n | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
        printf "%.2f %.2f %.2f\n", v[1] / 1000, m / 1000, v[NR] / 1000 }'
}
anchor=$(measure cat /proc/cmdline | stats)
check=$(measure "$bin" check "$@" | stats)
json=$(measure "$bin" check --json --cpus 1 "$@" | stats)
echo "runs: $n each, $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "what                         min_ms  median_ms  max_ms"
set -- $anchor; printf "%-28s %7s %10s %7s\n" "anchor: cat /proc/cmdline" "$1" "$2" "$3"; a=$2
set -- $check;  printf "%-28s %7s %10s %7s\n" "rtcell check" "$1" "$2" "$3"; c=$2
set -- $json;   printf "%-28s %7s %10s %7s\n" "rtcell check --json --cpus 1" "$1" "$2" "$3"
awk -v a="$a" -v c="$c" 'BEGIN { if (a > 0) printf "median ratio check/anchor: %.1fx; target: median < 200 ms -> %s\n", c / a, (c < 200 ? "met" : "NOT met") }'
