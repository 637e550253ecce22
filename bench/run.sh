#!/usr/bin/env bash
# Benchmarks: csvmm next to QEMU microvm on the same kernel, initramfs and data, in one run.
#
#   bench/run.sh [--quick] [--rounds N] [--blk-mib N] [--rand-reads N] [--net-kib N] [--pings N]
#
# Each round boots csvmm, then QEMU (A B A B ...). One boot measures everything: time to the
# guest's CSVMM_READY, peak RSS, sequential virtio-blk write/read (1 MiB O_DIRECT), 4 KiB random
# reads, ping and TCP both ways over a TAP in a private network namespace; csvmm's --stats JSON
# gives its time to the first KVM_RUN and its vCPU exits per I/O. After each pair the host's own
# dd on the same file gives the physical limit. Prints medians, min, max and csvmm/QEMU ratios,
# and writes the table to bench/results/<date>-{quick,full}.md, csvmm's --stats JSON next to it.
# Exits non-zero if a VMM did not boot, a step failed or a figure is missing.
# --quick: 1 round, small sizes (CI runs it; not timed, not judged).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
MODE=full ROUNDS=3 BLK_MIB=4 RAND_READS=50 NET_KIB=64 PINGS=10
usage() { sed -n '2,13p' "$0" >&2; exit 2; }
while (($#)); do
    case "$1" in
        --quick) MODE=quick ROUNDS=1 BLK_MIB=2 RAND_READS=20 NET_KIB=32 PINGS=3; shift ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --blk-mib) BLK_MIB="$2"; shift 2 ;;
        --rand-reads) RAND_READS="$2"; shift 2 ;;
        --net-kib) NET_KIB="$2"; shift 2 ;;
        --pings) PINGS="$2"; shift 2 ;;
        *) usage ;;
    esac
done
source "$ROOT/bench/lib.sh"
bench_require qemu-system-x86_64 jq nc bc ip
eval "$("$ROOT/images/build.sh" --print-paths)"
WORK="$(mktemp -d /var/tmp/csvmm-bench.XXXXXX)"
NS="csvmm-bench-$$"
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
MEM=256
BOOT_TIMEOUT=1500 # seconds per boot, all steps included (a loaded host is 2-5x slower)
QEMU_BASE="console=ttyS0 reboot=k panic=1 pci=off nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
STEPS="csvmm.test=blk-write:vda:$BLK_MIB,blk-read:vda:$BLK_MIB,rand-read:vda:$RAND_READS,net-up:10.77.0.2/24"
STEPS+=",ping:10.77.0.1:$PINGS,tcp-recv:5001,tcp-send:10.77.0.1:5002:${NET_KIB}k,reboot"
head -c $((NET_KIB << 10)) /dev/urandom > "$WORK/in"
mkfifo "$WORK/nap"
exec {NAP}<> "$WORK/nap" # never written: `read -t` on it is a sleep without a fork
IN_SHA=$(sha256sum < "$WORK/in" | cut -d' ' -f1)

log() { echo "bench: $*" >&2; }
declare -A V # "metric vmm" -> space-separated values, one per round

add() { V["$1 $2"]+="$3 "; } # METRIC VMM VALUE

# KiB of the process's guest-RAM mapping (the one of $MEM MiB, up to 4 MiB more) that are resident.
guest_kb() {
    awk -v want=$((MEM * 1024)) '
        $1 == "Size:" { inr = $2 >= want && $2 <= want + 4096 }
        $1 == "Rss:" && inr { sum += $2 }
        END { print sum + 0 }' "/proc/$1/smaps" 2>/dev/null || echo 0
}


net_up() {
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" tuntap add csvmm0 mode tap
    ip -n "$NS" addr add 10.77.0.1/24 dev csvmm0
    ip -n "$NS" link set csvmm0 up
}

result() { # LOG STEP KEY -> value of KEY= on the CSVMM_RESULT STEP line
    sed -n "s/^CSVMM_RESULT $2 .*\b$3=\([^ ]*\).*/\1/p" "$1" | tr -d '\r' | head -n1
}

# LOG STEP [UNIT] -> throughput of a CSVMM_RESULT line (bytes / ms) in MB/s, or in kB/s with UNIT 1000
rate() {
    local b ms unit="${3:-1000000}"
    b=$(result "$1" "$2" bytes); ms=$(result "$1" "$2" ms)
    if [ -n "$b" ] && [ -n "$ms" ] && [ "$ms" -gt 0 ]; then echo "scale=6; $b * 1000 / $ms / $unit" | bc; fi
}

# One boot of VMM ("csvmm" or "qemu") in round R; adds every figure it measured.
boot_once() {
    local vmm="$1" r="$2"
    local disk="$WORK/disk.raw" out="$WORK/$vmm-$r.out" err="$WORK/$vmm-$r.err" stats="$WORK/$vmm-$r.json" start t_ready="" pid tpid vpid="" sender="" hwm=0 gkb=0 s=0
    rm -f "$disk"; truncate -s "${BLK_MIB}M" "$disk"
    net_up
    ip netns exec "$NS" sh -c "exec nc -l 10.77.0.1 5002 > $WORK/got" &
    local listener=$!
    local cmd
    if [ "$vmm" = csvmm ]; then
        # --transport mmio: the images' kernel has no PCI (images/kernel.config), as QEMU's microvm below.
        cmd=("$CSVMM" run --transport mmio --kernel "$CSVMM_VMLINUX" --initrd "$CSVMM_INITRAMFS" --memory "$MEM"
             --disk "$disk" --net tap=csvmm0 --stats "$stats" --log-level info
             --cmdline "$CSVMM_GUEST_CMDLINE $STEPS")
    else
        # cache=writeback: the host page cache, as csvmm's disk backend (buffered pread/pwrite).
        cmd=(qemu-system-x86_64 -M microvm,acpi=off -enable-kvm -cpu host,arch-capabilities=off
             -m "$MEM" -smp 1 -nodefaults -no-user-config -nographic -no-reboot -serial stdio -device i8042
             -drive id=d0,file="$disk",format=raw,if=none,cache=writeback -device virtio-blk-device,drive=d0
             -netdev tap,id=n0,ifname=csvmm0,script=no,downscript=no,vhost=off -device virtio-net-device,netdev=n0
             -kernel "$CSVMM_VMLINUX" -initrd "$CSVMM_INITRAMFS" -append "$QEMU_BASE $CSVMM_GUEST_CMDLINE $STEPS")
    fi
    : > "$out" # exists before the VMM starts: the poll loop below opens it
    start=$EPOCHREALTIME
    ip netns exec "$NS" timeout -s KILL "$BOOT_TIMEOUT" "${cmd[@]}" > "$out" 2> "$err" < /dev/null &
    tpid=$!
    # Polled every 0.2 s with shell builtins only (no forks), so the harness takes little of the
    # CPU the VMM under test needs.
    local log line part="" h g k v
    exec {log}< "$out"
    while kill -0 "$tpid" 2>/dev/null; do
        # the VMM is the only child of `timeout`
        [ -n "$vpid" ] || read -r vpid _ 2>/dev/null < "/proc/$tpid/task/$tpid/children" || true
        while IFS= read -r -u "$log" line || { part+=$line; false; }; do
            line=$part$line part=""
            case $line in
                CSVMM_READY*) [ -n "$t_ready" ] || t_ready=$(echo "$EPOCHREALTIME - $start" | bc) ;;
                CSVMM_LISTENING\ port=5001*)
                    ip netns exec "$NS" sh -c "until nc -N 10.77.0.2 5001 < $WORK/in; do sleep 1; done" > /dev/null 2>&1 &
                    sender=$! ;;
            esac
        done
        # Peak RSS and resident guest RAM, sampled every 2 s until the VMM exits.
        if [ -n "$vpid" ] && (( s++ % 10 == 0 )); then
            h=""
            while read -r k v _; do [ "$k" = VmHWM: ] && h=$v; done 2>/dev/null < "/proc/$vpid/status" || true
            g=$(guest_kb "$vpid")
            if [ -n "$h" ] && (( h >= hwm )); then hwm=$h; if (( g > gkb )); then gkb=$g; fi; fi
        fi
        read -r -t 0.2 -u "$NAP" _ || true
    done
    exec {log}<&-
    wait "$tpid" || true
    [ -z "$sender" ] || kill "$sender" 2>/dev/null || true
    kill "$listener" 2>/dev/null || true
    wait "$listener" 2>/dev/null || true
    ip netns del "$NS"

    local bad=""
    [ -n "$t_ready" ] || bad+=" no-CSVMM_READY"
    grep -q '^CSVMM_FAIL' "$out" && bad+=" $(grep '^CSVMM_FAIL' "$out" | tr -d '\r' | tr '\n' ' ')"
    [ "$(result "$out" tcp-recv sha256)" = "$IN_SHA" ] || bad+=" tcp-recv-data"
    [ "$(result "$out" tcp-send sha256)" = "$(sha256sum < "$WORK/got" | cut -d' ' -f1)" ] || bad+=" tcp-send-data"
    [ "$(result "$out" blk-write sha256)" = "$(result "$out" sha256 sha256)" ] || bad+=" blk-data"
    if [ -n "$bad" ]; then
        log "$vmm round $r failed:$bad; console and log tails:"
        tail -n 15 "$out" "$err" >&2
        FAILED+=" $vmm-$r"
    fi
    add boot "$vmm" "$t_ready"
    add rss "$vmm" "$hwm"
    add vmmrss "$vmm" "$((hwm - gkb))"
    add bw "$vmm" "$(rate "$out" blk-write)"
    add br "$vmm" "$(rate "$out" sha256)"
    add iops "$vmm" "$(result "$out" rand-read iops)"
    add ping "$vmm" "$(result "$out" ping rtt_avg_ms | grep -v none || true)"
    add rx "$vmm" "$(rate "$out" tcp-recv 1000)"
    add tx "$vmm" "$(rate "$out" tcp-send 1000)"
    if [ "$vmm" = csvmm ] && [ -s "$stats" ]; then
        add first csvmm "$(jq -r '.bootTime.firstKvmRunMs // empty' "$stats")"
        add marker csvmm "$(jq -r '.bootTime.guestBootMarkerMs // empty' "$stats" | awk '{print $1 / 1000}')"
        add blkexits csvmm "$(jq -r '.blockDevices[0] | (.readRequests + .writeRequests + .flushRequests) as $n
            | if $n > 0 then .runtimeMmioExits * 1000 / $n else empty end' "$stats")"
        add netexits csvmm "$(jq -r '.netDevices[0] | (.rxFrames + .txFrames) as $n
            | if $n > 0 then .runtimeMmioExits * 1000 / $n else empty end' "$stats")"
        add allexits csvmm "$(jq -r '.vcpuExits.total' "$stats")"
        cp "$stats" "${RESULTS%.md}-csvmm-stats-$r.json" # the counters behind the exits rows
    fi
    log "$vmm round $r: ready ${t_ready:-?}s, peak RSS ${hwm} KiB (guest RAM ${gkb} KiB), $(grep -c '^CSVMM_RESULT' "$out") results"
}

dd_mbs() { # dd's last line ("..., 1.3 GB/s") -> MB/s
    awk -F', ' '/copied/ {split($NF, a, " "); f = a[2] == "GB/s" ? 1000 : a[2] == "kB/s" ? 0.001 : 1; print a[1] * f}'
}

host_dd() { # the host's own sequential 1 MiB direct I/O on the same file: the physical limit
    local f="$WORK/disk.raw"
    add bw host "$(dd if=/dev/zero of="$f" bs=1M count="$BLK_MIB" oflag=direct conv=fsync 2>&1 | dd_mbs)"
    add br host "$(dd if="$f" of=/dev/null bs=1M count="$BLK_MIB" iflag=direct 2>&1 | dd_mbs)"
}

mkdir -p "$ROOT/bench/results"
DATE=$(date -u +%Y-%m-%d)
RESULTS="$ROOT/bench/results/$DATE-$MODE.md"
FAILED=""
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
# ---------------------------------------------------------------- table
stat3() { # VALUES... -> "median min max" (empty if no values)
    printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{a[NR] = $1}
        END { if (NR) printf "%s %s %s\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[1], a[NR] }'
}
fmt() { if [ -n "$1" ]; then printf "%.${2}f" "$1"; fi; }
row() { # METRIC "label" DECIMALS BETTER [PEER]: PEER is qemu (default), host, or - (csvmm only)
    local m="$1" label="$2" d="$3" better="$4" peer="${5:-qemu}" c cmin cmax p pmin pmax ratio="" cs ps
    read -r c cmin cmax <<< "$(stat3 ${V["$m csvmm"]:-})" || true
    [ -n "${c:-}" ] || MISSING+=" $m/csvmm"
    cs="$(fmt "${c:-}" "$d") ($(fmt "${cmin:-}" "$d")–$(fmt "${cmax:-}" "$d"))"
    if [ "$peer" = - ]; then ps="–"
    else
        read -r p pmin pmax <<< "$(stat3 ${V["$m $peer"]:-})" || true
        [ -n "${p:-}" ] || MISSING+=" $m/$peer"
        ps="$(fmt "${p:-}" "$d") ($(fmt "${pmin:-}" "$d")–$(fmt "${pmax:-}" "$d"))"
        [ -n "${c:-}" ] && [ -n "${p:-}" ] && ratio=$(printf '%.3g' "$(echo "$c / $p" | bc -l)")
    fi
    [ "$peer" = host ] && ratio="${ratio:+$ratio of host}"
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$cs" "$ps" "${ratio:-–}" "$better"
}
CSVMM_VERSION="$("$CSVMM" --version 2>/dev/null | head -n1) (git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown))"
QEMU_VERSION="$(qemu-system-x86_64 --version | sed -n 1p)"
KVM_BACKEND="$(for m in kvm_pvm kvm_intel kvm_amd; do if [ -d /sys/module/$m ]; then echo "$m"; break; fi; done)"
report() { # ROUNDS_DONE: (re)writes the table, so an interrupted run keeps the rounds it finished
    local done="$1"
    MISSING=""
    LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
    WALL=$(( $(date +%s) - T0 ))
    {
    echo "# csvmm vs QEMU microvm — $MODE run, $DATE"
    echo
    echo "- Machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), host kernel $(uname -r), KVM backend ${KVM_BACKEND:-unknown} (nested KVM: guest kernel code is emulated, see images/README.md, "Host facts")"
    echo "- csvmm: $CSVMM_VERSION; QEMU: $QEMU_VERSION (\`-M microvm\`, \`vhost=off\`, disk \`cache=writeback\`)"
    echo "- Guest: $(basename "$CSVMM_IMAGES_DIR") vmlinux + initramfs, 1 vCPU, $MEM MiB; raw disk of $BLK_MIB MiB in /var/tmp"
    echo "- Rounds: $done of $ROUNDS, alternating csvmm, QEMU, host dd; one boot per VMM per round measures all rows"
    echo "- Sizes: sequential $BLK_MIB MiB each way (1 MiB O_DIRECT), $RAND_READS random 4 KiB O_DIRECT reads, $PINGS pings, $NET_KIB KiB TCP each way (guest TCP runs at kB/s on this host)"
    echo "- Load average: $LOAD_START at start, $LOAD_END at end; wall time ${WALL}s"
    echo
    echo "Median (min–max) over the rounds; ratio = csvmm / QEMU of the medians."
    echo
    echo "| figure | csvmm | QEMU microvm (or host) | ratio | better |"
    echo "|---|---|---|---|---|"
    row boot "boot: process start → guest CSVMM_READY (s)" 1 lower
    row first "boot: csvmm start → first KVM_RUN (ms)" 1 lower -
    row marker "boot: csvmm start → guest boot marker (s, csvmm's own clock)" 1 lower -
    row rss "memory: peak RSS of the VMM process (KiB)" 0 lower
    row vmmrss "memory: peak RSS minus resident guest RAM (KiB)" 0 lower
    row bw "block: sequential write, 1 MiB O_DIRECT (MB/s)" 2 higher
    row br "block: sequential read, 1 MiB O_DIRECT (MB/s)" 2 higher
    row iops "block: random 4 KiB O_DIRECT reads (IOPS)" 1 higher
    row bw "block: csvmm write vs host dd write on the same file (MB/s)" 2 higher host
    row br "block: csvmm read vs host dd read on the same file (MB/s)" 2 higher host
    row ping "network: ping guest → host RTT avg (ms)" 2 lower
    row rx "network: TCP host → guest (kB/s)" 2 higher
    row tx "network: TCP guest → host (kB/s)" 2 higher
    row blkexits "exits: vCPU exits per 1000 block requests (csvmm --stats)" 0 lower -
    row netexits "exits: vCPU exits per 1000 packets (csvmm --stats)" 0 lower -
    row allexits "exits: all vCPU exits in the run, boot included (csvmm --stats)" 0 lower -
    } > "$WORK/table.md"
    [ -z "$FAILED" ] || echo -e "\nFAILED boots:$FAILED" >> "$WORK/table.md"
    [ -z "$MISSING" ] || echo -e "\nMISSING figures:$MISSING" >> "$WORK/table.md"
    cp "$WORK/table.md" "$RESULTS"
}

for r in $(seq "$ROUNDS"); do
    boot_once csvmm "$r"
    boot_once qemu "$r"
    host_dd
    report "$r"
done
cat "$RESULTS"
log "wrote $RESULTS"
if [ -n "$FAILED$MISSING" ]; then log "harness failure:$FAILED$MISSING"; exit 1; fi
