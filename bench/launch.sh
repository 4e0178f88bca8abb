#!/bin/bash
# Launch cost of `rtcell run` against real anchors, and the latency cost of a
# cell. Never asserts; prints medians and ratios measured in the same run.
#
# 1. Wall time to start and finish a trivial command, RUNS runs each, the
#    tools alternated every round so machine noise hits all alike:
#      rtcell   rtcell run -q -- /bin/true  (full default sandbox: pid/mnt/ipc/
#               uts namespaces, hybrid/v1/v2 cgroups, read-only root, fresh
#               /proc, minimal /dev, seccomp, no capabilities, user 65534)
#      bwrap    the same namespaces (net and cgroup included), read-only /,
#               fresh /proc and /dev, private /run and /tmp, its own
#               session, --cap-drop ALL (no cgroups, no seccomp)
#      unshare  unshare -pfmiu --mount-proc true (namespaces only)
#      runc     runc run on a bundle whose rootfs holds the static probe
#      podman   podman --runtime runc run --rm --rootfs (same rootfs)
#      csd      rtcell create + start + delete --force of /bin/true (the
#               lifecycle by id, three processes, state in a temp root)
#      runccsd  runc create + start + delete -f on the probe's bundle
#      podrt    podman --runtime rtcell-runtime run --rm --rootfs (issue 13)
#      ctrrunc  ctr run --rm --runc-binary runc on a containerd started here
#      ctrrt    the same with --runc-binary rtcell-runtime
#      dockrunc docker run --rm --runtime runc on a dockerd started here
#               (temporary data/exec root and socket, no bridge, vfs), the
#               image imported from the probe's rootfs
#      dockrt   the same with --runtime rtcell (--add-runtime)
#    A tool that does not work here is reported and left out.
#    Targets (issue 3): rtcell <= bwrap, <= 0.3 x runc, <= 2 x unshare;
#    (issue 10): csd <= 0.3 x runccsd; (issue 13): podrt <= 0.5 x podman,
#    ctrrt <= 0.5 x ctrrunc, dockrt <= 0.5 x dockrunc (the same client,
#    only the runtime differs).
#    RTCELL_DEBUG=timing rtcell run -q -- /bin/true prints where one launch
#    spends its time, phase by phase.
# 2. `rtcell latency` natively and inside a cell (--sched fifo:80, IPC_LOCK,
#    /dev/cpu_dma_latency passed), idle and under stress-ng; p99 ratio
#    cell/native, target <= 1.05.
#
# Environment: RUNS (50), LAT_SECONDS (10), LAT_ROUNDS (3), SKIP_LATENCY (0),
# RTCELL (build/src/cli/rtcell), PROBE (build/tests/probe/rtcell_probe).
# Needs root.
set -u

RUNS=${RUNS:-50}
LAT_SECONDS=${LAT_SECONDS:-10}
LAT_ROUNDS=${LAT_ROUNDS:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
RTCELL=${RTCELL:-$here/build/src/cli/rtcell}
PROBE=${PROBE:-$here/build/tests/probe/rtcell_probe}

if [ "$(id -u)" != 0 ]; then
    echo "launch.sh: run as root (namespaces, cgroups, SCHED_FIFO)" >&2
    exit 3
fi
[ -x "$RTCELL" ] || { echo "launch.sh: $RTCELL not built: run make build" >&2; exit 3; }
[ -x "$PROBE" ] || { echo "launch.sh: $PROBE not built: run make build" >&2; exit 3; }

work=$(mktemp -d /tmp/rtcell-launch-bench.XXXXXX)
stress_pid=
containerd_pid=
dockerd_pid=
# ctr's containers live under the "default" namespace's cgroup parent, which
# runc makes and never removes: removed again when this run made it.
had_default=0
[ -d /sys/fs/cgroup/cpu/default ] || [ -d /sys/fs/cgroup/default ] && had_default=1
# The same for dockerd's "docker" parent.
had_docker=0
[ -d /sys/fs/cgroup/cpu/docker ] || [ -d /sys/fs/cgroup/docker ] && had_docker=1
cleanup() {
    if [ -n "$stress_pid" ]; then kill "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null; fi
    if [ -n "$containerd_pid" ]; then kill "$containerd_pid" 2>/dev/null; wait "$containerd_pid" 2>/dev/null; fi
    if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null; fi
    if [ "$had_default" = 0 ]; then
        for d in /sys/fs/cgroup/*/default /sys/fs/cgroup/default; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
    fi
    if [ "$had_docker" = 0 ]; then
        for d in /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
    fi
    runc delete -f rtcell-bench >/dev/null 2>&1
    runc delete -f rtcell-csd >/dev/null 2>&1
    [ -d "$work/state" ] && "$RTCELL" gc --root "$work/state" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A rootfs with nothing but the static probe, for runc and podman.
root=$work/bundle/rootfs
mkdir -p "$root/proc" "$root/dev" "$root/sys" "$root/tmp"
cp "$PROBE" "$root/probe"
(cd "$work/bundle" && runc spec >/dev/null 2>&1 && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["args"] = ["/probe", "exit", "0"]
c["process"]["terminal"] = False
c["root"]["readonly"] = True
json.dump(c, open("config.json", "w"))
PY
)

run_rtcell()  { "$RTCELL" run -q -- /bin/true; }
# The same namespaces as rtcell's default cell (pid, ipc, uts, net, cgroup),
# the same private /run and /tmp; no cgroups, no seccomp.
run_bwrap()   { bwrap --unshare-pid --unshare-ipc --unshare-uts --unshare-net --unshare-cgroup \
                      --ro-bind / / --proc /proc --dev /dev --tmpfs /run --tmpfs /tmp \
                      --cap-drop ALL --die-with-parent --new-session /bin/true; }
run_unshare() { unshare -pfmiu --mount-proc true; }
run_csd()     { "$RTCELL" create -q --root "$work/state" rtcell-csd -- /bin/true &&
                "$RTCELL" start --root "$work/state" rtcell-csd &&
                "$RTCELL" delete --force --root "$work/state" rtcell-csd; }
run_runccsd() { runc create --bundle "$work/bundle" rtcell-csd && runc start rtcell-csd && runc delete -f rtcell-csd; }
run_runc()    { runc run --bundle "$work/bundle" rtcell-bench; }
# nofile/nproc explicit: podman asks for limits above the hard ones, which
# runc cannot set without CAP_SYS_RESOURCE (DESIGN.md, "four fixes").
run_podman()  { podman --runtime runc run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
                       --rootfs "$root" /probe exit 0; }

RUNTIME=$(dirname "$RTCELL")/rtcell-runtime
run_podrt()   { podman --runtime "$RUNTIME" run --rm --network host --rootfs "$root" /probe exit 0; }
# A containerd of its own (temporary root, state and socket), for ctr.
ctr_sock=$work/containerd/containerd.sock
if command -v containerd >/dev/null && command -v ctr >/dev/null; then
    mkdir -p "$work/containerd"
    printf 'version = 2\nroot = "%s/root"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n' \
        "$work/containerd" "$work/containerd" "$ctr_sock" "$ctr_sock" >"$work/containerd/config.toml"
    containerd --config "$work/containerd/config.toml" >"$work/containerd/log" 2>&1 &
    containerd_pid=$!
    for ((i = 0; i < 100; i++)); do ctr -a "$ctr_sock" version >/dev/null 2>&1 && break; sleep 0.1; done
fi
ctr_n=0
run_ctr() { ctr_n=$((ctr_n + 1)); ctr -a "$ctr_sock" run --rm --runc-binary "$1" --rootfs "$root" "b$ctr_n" /probe exit 0; }
run_ctrrunc() { run_ctr "$(command -v runc)"; }
run_ctrrt()   { run_ctr "$RUNTIME"; }

# A dockerd of its own, with rtcell-runtime added, and an image of the
# probe's rootfs.
dock_sock=$work/docker/docker.sock
if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; then
    mkdir -p "$work/docker"
    /usr/sbin/dockerd --data-root "$work/docker/data" --exec-root "$work/docker/exec" \
        --pidfile "$work/docker/docker.pid" -H "unix://$dock_sock" --bridge none --iptables=false \
        --ip-masq=false --storage-driver vfs --exec-opt native.cgroupdriver=cgroupfs \
        --add-runtime "rtcell=$RUNTIME" >"$work/docker/log" 2>&1 &
    dockerd_pid=$!
    for ((i = 0; i < 300; i++)); do /usr/bin/docker -H "unix://$dock_sock" version >/dev/null 2>&1 && break; sleep 0.1; done
    tar -C "$root" -cf "$work/docker/root.tar" . &&
        /usr/bin/docker -H "unix://$dock_sock" import "$work/docker/root.tar" rtcell-bench >/dev/null 2>&1
fi
run_dock() { /usr/bin/docker -H "unix://$dock_sock" run --rm --network none --runtime "$1" rtcell-bench /probe exit 0; }
run_dockrunc() { run_dock runc; }
run_dockrt()   { run_dock rtcell; }

tools=""
for t in rtcell bwrap unshare runc podman csd runccsd podrt ctrrunc ctrrt dockrunc dockrt; do
    if "run_$t" >"$work/$t.check" 2>&1; then
        tools="$tools $t"
    else
        echo "launch.sh: $t does not work here, left out: $(head -c 300 "$work/$t.check" | tr '\n' ' ')"
    fi
    : >"$work/$t.times"
done

echo "launch.sh: $RUNS alternated runs of:$tools"
for ((i = 0; i < RUNS; i++)); do
    for t in $tools; do
        s=$EPOCHREALTIME
        "run_$t" >/dev/null 2>&1
        e=$EPOCHREALTIME
        echo "$s $e" | awk '{printf "%.1f\n", ($2 - $1) * 1e6}' >>"$work/$t.times"
    done
done

median() { sort -n "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
printf '%-8s %12s\n' tool "median_us"
for t in $tools; do
    m=$(median "$work/$t.times")
    eval "med_$t=$m"
    printf '%-8s %12.0f\n' "$t" "$m"
done
ratio() { # $1 tool, $2 anchor, $3 target
    local a b
    eval "a=\${med_$1:-}"
    eval "b=\${med_$2:-}"
    [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v t="$3" -v n="$2" -v m="$1" \
        'BEGIN {r = a / b; printf "%s/%-8s %5.2f  (target <= %s: %s)\n", m, n, r, t, (r <= t) ? "ok" : "over target"}'
}
ratio rtcell bwrap 1
ratio rtcell runc 0.3
ratio rtcell unshare 2
ratio csd runccsd 0.3
ratio podrt podman 0.5
ratio ctrrt ctrrunc 0.5
ratio dockrt dockrunc 0.5

# The runtime's own share of a podman run: each runtime call (create,
# start, state, delete, ...) timed by a wrapper, summed per container.
# The client's own work is the same for both and is left out.
share() { # $1 runtime binary, $2 name
    local w=$work/wrap-$2 log=$work/share-$2
    printf '#!/bin/bash\ns=$EPOCHREALTIME\n"%s" "$@"\nrc=$?\necho "$s $EPOCHREALTIME" >>"%s"\nexit $rc\n' "$1" "$log" >"$w"
    chmod +x "$w"
    : >"$log"
    echo "$w"
}
if [[ " $tools " == *" podman "* && " $tools " == *" podrt "* ]]; then
    wr=$(share "$(command -v runc)" runc)
    wt=$(share "$RUNTIME" rtcell)
    n=$((RUNS < 20 ? RUNS : 20))
    for ((i = 0; i < n; i++)); do
        podman --runtime "$wr" run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
            --rootfs "$root" /probe exit 0 >/dev/null 2>&1
        podman --runtime "$wt" run --rm --network host --rootfs "$root" /probe exit 0 >/dev/null 2>&1
    done
    sum() { awk -v n="$n" '{t += ($2 - $1) * 1e6} END {printf "%.0f", t / n}' "$1"; }
    a=$(sum "$work/share-runc")
    b=$(sum "$work/share-rtcell")
    awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN {r = b / a; printf "runtime share of a podman run (%d runs): runc %.0f us, rtcell %.0f us, rtcell/runc %.2f (target <= 0.5: %s)\n",
        n, a, b, r, (r <= 0.5) ? "ok" : "over target"}'
fi

[ "${SKIP_LATENCY:-0}" = 1 ] && exit 0

# ---- latency in a cell vs native ----
lat="latency -m -S -p 80 -i 200 -d 0 -D $LAT_SECONDS -q -h 1000 --json -"
p99() { python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["percentiles"]["p99"] / 1000)'; }
native() { "$RTCELL" $lat 2>/dev/null | p99; }
incell() {
    # uid 0 without capabilities (but IPC_LOCK) only to open the root-owned
    # /dev/cpu_dma_latency; the priority comes from --sched, not a capability.
    "$RTCELL" run -q --net host --sched fifo:80 --cap-add IPC_LOCK --dma-latency 0 -- \
        "$RTCELL" $lat 2>/dev/null | p99
}
echo "latency: $LAT_ROUNDS rounds x ${LAT_SECONDS}s per condition, params: $lat"
for cond in idle stress; do
    if [ "$cond" = stress ]; then
        stress-ng --cpu 2 --vm 1 --vm-bytes 64M --timeout $((LAT_ROUNDS * LAT_SECONDS * 2 + 30)) >/dev/null 2>&1 &
        stress_pid=$!
    fi
    : >"$work/n.$cond"
    : >"$work/c.$cond"
    for ((r = 0; r < LAT_ROUNDS; r++)); do
        if ((r % 2 == 0)); then
            native >>"$work/n.$cond"; incell >>"$work/c.$cond"
        else
            incell >>"$work/c.$cond"; native >>"$work/n.$cond"
        fi
    done
    if [ -n "$stress_pid" ]; then kill "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null; stress_pid=; fi
    n=$(median "$work/n.$cond")
    c=$(median "$work/c.$cond")
    awk -v n="$n" -v c="$c" -v k="$cond" -v nr="$(tr '\n' ' ' <"$work/n.$cond")" -v cr="$(tr '\n' ' ' <"$work/c.$cond")" \
        'BEGIN {r = c / n; printf "%-6s p99 native %6.1f us, cell %6.1f us, ratio %.2f (target <= 1.05: %s)  rounds native [%s] cell [%s]\n",
                k, n, c, r, (r <= 1.05) ? "ok" : "over target", nr, cr}'
done
