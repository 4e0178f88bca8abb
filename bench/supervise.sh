#!/bin/bash
# rtcell's supervisor (issue 15, part 2; docs/enforcement.md): how fast it
# acts on a runaway SCHED_FIFO cell, and what watching costs. Never asserts.
#
# 1. Reaction: RUNS runs each of `supervise: kill` and `supervise: demote`
#    on a cell whose one task declares 1 ms every 10 ms and whose command
#    spins without end at SCHED_FIFO (rtcell_probe spin /
#    spin-until-demoted), grace 20 ms. From the supervisor's own line:
#      act     from the sample that saw the overrun to the action's end
#      react   from the last sample without overrun (the overrun happened
#              after it) to the action's end: the runaway's time on its CPU
#              past the tasks' demand is at most this
#    The anchor is the sampling interval of the same run (react / sample:
#    1.0 would be "acts at the next sample"; the design bound is the
#    interval plus the action).
#    On a cgroup v1 host with RT group scheduling the kernel's RT budget
#    also throttles the runaway; the supervisor acts on what gets through.
# 2. Cost: CPU time of `rtcell run` (user + sys, the cell's own command
#    sleeps) over RUN_SECONDS with the supervisor on and off, as a share of
#    one CPU.
#
# Environment: RUNS (20), RUN_SECONDS (5), RTCELL (build/src/cli/rtcell),
# PROBE (build/tests/probe/rtcell_probe), CPU (the last CPU). Needs root.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-20}
RUN_SECONDS=${RUN_SECONDS:-5}
RTCELL=${RTCELL:-$here/build/src/cli/rtcell}
PROBE=${PROBE:-$here/build/tests/probe/rtcell_probe}
CPU=${CPU:-$(($(nproc) - 1))}
[ "$(id -u)" = 0 ] || { echo "supervise.sh: needs root (cells, SCHED_FIFO)" >&2; exit 3; }
for f in "$RTCELL" "$PROBE"; do
  [ -x "$f" ] || { echo "supervise.sh: $f is not built: run make bench or ninja -C build" >&2; exit 3; }
done
tmp=$(mktemp -d /tmp/rtcell-supervise-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

manifest() {  # ACTION ARGS...
  local action=$1
  shift
  local args=""
  for a in "$@"; do args+=", \"$a\""; done
  cat >"$tmp/m.yaml" <<EOF
version: 1
cells:
  - name: spin
    cpus: "$CPU"
    sched: fifo:40
    user: "1000:1000"
    supervise: {action: $action, grace: 20ms}
    command: ["$PROBE"$args]
    tasks:
      - {name: loop, period: 10ms, wcet: 1ms}
EOF
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { sort -g | tail -1; }

echo "# rtcell supervisor bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, cell on CPU $CPU, $RUNS runs"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
sample_ms=""
for action in kill demote; do
  if [ "$action" = kill ]; then manifest kill spin; else manifest demote spin-until-demoted; fi
  : >"$tmp/act" && : >"$tmp/react"
  for _ in $(seq "$RUNS"); do
    err=$("$RTCELL" run -f "$tmp/m.yaml" spin 2>&1 >/dev/null)
    [ -z "$sample_ms" ] && sample_ms=$(sed -n 's/.*samples every \([0-9.]*\) ms.*/\1/p' <<<"$err" | head -1)
    line=$(grep 'warning: supervisor: CPU' <<<"$err" | head -1)
    if [ -z "$line" ]; then
      echo "supervise.sh: $action: no supervisor line: $err" >&2
      continue
    fi
    sed -n 's/.* \([0-9.]*\) ms after seeing it (\([0-9.]*\) ms after the last sample.*/\1/p' <<<"$line" >>"$tmp/act"
    sed -n 's/.* ms after seeing it (\([0-9.]*\) ms after the last sample.*/\1/p' <<<"$line" >>"$tmp/react"
  done
  act_med=$(median <"$tmp/act")
  react_med=$(median <"$tmp/react")
  printf '%-7s act median %s ms max %s ms | react median %s ms max %s ms | sample %s ms | react/sample %s (%d runs)\n' \
    "$action" "$act_med" "$(maxof <"$tmp/act")" "$react_med" "$(maxof <"$tmp/react")" "$sample_ms" \
    "$(awk -v r="$react_med" -v s="$sample_ms" 'BEGIN {if (s > 0) printf "%.2f", r / s; else print "nan"}')" \
    "$(wc -l <"$tmp/act")"
done

# Cost: the cell's command sleeps; all CPU time is rtcell's (and the
# supervisor thread's when on).
manifest demote wait
cat >"$tmp/m.yaml" <<EOF
version: 1
cells:
  - name: idle
    cpus: "$CPU"
    sched: fifo:40
    user: "1000:1000"
    command: ["/bin/sleep", "$RUN_SECONDS"]
    tasks:
      - {name: loop, period: 10ms, wcet: 1ms}
EOF
TIMEFORMAT='%U %S'
for mode in off demote; do
  t=$({ time "$RTCELL" run -q --supervise "$mode" -f "$tmp/m.yaml" idle >/dev/null 2>&1; } 2>&1)
  cpu=$(awk -v t="$t" -v s="$RUN_SECONDS" 'BEGIN {split(t, a, " "); printf "%.3f", (a[1] + a[2]) * 1000 / s}')
  echo "cost    supervise $mode: rtcell run used $cpu ms of CPU per second over ${RUN_SECONDS} s"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
