#!/usr/bin/env bash
# Emulated devices against virtio, as a table: the same Linux guest workload (a block transfer and
# a ping) on QEMU -M pc with an IDE disk and an e1000 NIC, QEMU -M pc with virtio-pci, QEMU microvm
# (virtio-mmio), csvmm virtio-mmio and csvmm virtio-pci, with vCPU exits per request and throughput.
#
#   bench/emulated/run.sh [--blk-mib N] [--rand-reads N] [--net-kib N] [--pings N]
#
# One kernel serves every row: images/build-emulated-kernel.sh (the microVM kernel plus PCI,
# virtio-pci, libata's PIIX driver, e1000 and 8139too; built on first use, ~10 CPU-minutes), with
# the images' initramfs and its csvmm.test= steps. Exits are counted by KVM's tracepoints for the
# VMM process (`perf stat -I`): "traps" = kvm_mmio + kvm_pio (every MMIO and port access of the
# guest traps to KVM, whether KVM handles it itself - ioeventfd, the in-kernel LAPIC/IOAPIC/PIT -
# or passes it on) and "to VMM" = kvm_userspace_exit (the exits that reach the VMM process); the
# serial console's ports are filtered out of both (every console byte is a port exit). The counts
# of a step are the intervals between its CSVMM_STEP and CSVMM_RESULT console lines, minus the
# idle rate measured in the sleep step before it (timer interrupts). Requests: the random-read
# step's 4 KiB reads (one block request each), and the frames the TAP counts while the host sends
# N KiB over TCP to the guest (tcp-recv; a ping step has too few frames per second to stand out
# from the timer's traps, so it gives the round-trip time only).
# Writes bench/results/<date>-emulated.md.
# Not run by CI (five Linux boots, ~10 minutes on this host).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
BLK_MIB=8 RAND=200 NET_KIB=64 PINGS=10
ARGS="$*"
while (($#)); do
    case "$1" in
        --blk-mib) BLK_MIB="$2"; shift 2 ;;
        --rand-reads) RAND="$2"; shift 2 ;;
        --net-kib) NET_KIB="$2"; shift 2 ;;
        --pings) PINGS="$2"; shift 2 ;;
        *) sed -n '2,19p' "$0" >&2; exit 2 ;;
    esac
done
source "$ROOT/bench/lib.sh"
bench_require qemu-system-x86_64 perf jq bc ip nc
[ -n "$(perf list 2>/dev/null | grep 'kvm:kvm_userspace_exit')" ] || { echo "bench: perf has no kvm tracepoints here" >&2; exit 1; }
eval "$("$ROOT/images/build.sh" --print-paths)"
VMLINUX="$("$ROOT/images/build-emulated-kernel.sh")"
WORK="$(mktemp -d /var/tmp/csvmm-emulated.XXXXXX)"
NS="csvmm-emul-$$"
TAP=etap0
cleanup() { ip netns del "$NS" 2>/dev/null || true; [ -n "${CSVMM_BENCH_KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
log() { echo "bench: $*" >&2; }
MEM=256
head -c $((NET_KIB << 10)) /dev/urandom > "$WORK/in"
IN_SHA=$(sha256sum < "$WORK/in" | cut -d' ' -f1)
# COM1 (0x3f8-0x3ff) apart: the first kvm_pio of each interval is the console's, the second the rest.
PERF_EVENTS=(-e kvm:kvm_mmio -e kvm:kvm_pio --filter 'port >= 0x3f8 && port <= 0x3ff'
             -e kvm:kvm_pio --filter 'port < 0x3f8 || port > 0x3ff' -e kvm:kvm_userspace_exit)
BASE="console=ttyS0 reboot=k panic=1 nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

steps() { # DISK_DEVICE_NAME
    echo "csvmm.test=net-up:10.78.0.2/24,sleep:3,blk-read:$1:$BLK_MIB,rand-read:$1:$RAND,sleep:1,ping:10.78.0.1:$PINGS,tcp-recv:5001,sleep:1,reboot"
}

declare -A R # "config key" -> value

tap_packets() { ip -n "$NS" -j -s link show "$TAP" | jq '.[0].stats64 | .rx.packets + .tx.packets'; }

# Counts of the window [A, B] (seconds since perf started) from perf's interval file, per kind:
# mmio, conpio (console ports), pio (the other ports), uexit.
window() { # FILE KIND A B -> count
    awk -F, -v k="$2" -v a="$3" -v b="$4" '
        $4 ~ /^kvm:/ {
            if ($1 != t) { t = $1; n = 0 }
            kind = $4 == "kvm:kvm_mmio" ? "mmio" : $4 == "kvm:kvm_userspace_exit" ? "uexit" : (n++ == 0 ? "conpio" : "pio")
            if (kind == k && $1 > a && $1 <= b + 0.25) s += $2
        }
        END { print s + 0 }' "$1"
}

run_config() { # NAME KIND DISKDEV
    local name="$1" kind="$2" dev="$3" out="$WORK/$1.out" err="$WORK/$1.err" perfout="$WORK/$1.perf" stats="$WORK/$1.json"
    local cmd pid vpid="" t0 line now part="" log sender=""
    rm -f "$WORK/disk.raw"; truncate -s "${BLK_MIB}M" "$WORK/disk.raw"
    ip netns add "$NS"; ip -n "$NS" link set lo up
    ip -n "$NS" tuntap add "$TAP" mode tap
    ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
    ip -n "$NS" addr add 10.78.0.1/24 dev "$TAP"; ip -n "$NS" link set "$TAP" up
    local q=(qemu-system-x86_64 -enable-kvm -cpu host,arch-capabilities=off -m "$MEM" -smp 1 -nodefaults
             -no-user-config -nographic -no-reboot -serial stdio
             -kernel "$VMLINUX" -initrd "$CSVMM_INITRAMFS")
    local dr=(-drive "id=d0,file=$WORK/disk.raw,format=raw,if=none,cache=writeback")
    local nd=(-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off")
    local cl="$BASE $CSVMM_GUEST_CMDLINE rdinit=/init $(steps "$dev")"
    case "$kind" in
        qemu-ide) cmd=("${q[@]}" -M pc,acpi=off "${dr[@]}" -device ide-hd,drive=d0,bus=ide.0 "${nd[@]}" -device e1000,netdev=n0 -append "$cl") ;;
        qemu-pci) cmd=("${q[@]}" -M pc,acpi=off "${dr[@]}" -device virtio-blk-pci,drive=d0,disable-legacy=on
                       "${nd[@]}" -device virtio-net-pci,netdev=n0,disable-legacy=on -append "$cl") ;;
        qemu-mmio) cmd=("${q[@]}" -M microvm,acpi=off -device i8042 "${dr[@]}" -device virtio-blk-device,drive=d0
                        "${nd[@]}" -device virtio-net-device,netdev=n0 -append "pci=off $cl") ;;
        csvmm-*) cmd=("$CSVMM" run --kernel "$VMLINUX" --initrd "$CSVMM_INITRAMFS" --memory "$MEM" --transport "${kind#csvmm-}"
                      --disk "$WORK/disk.raw" --net "tap=$TAP" --stats "$stats" --log-level warning
                      --cmdline "$CSVMM_GUEST_CMDLINE rdinit=/init $(steps "$dev")") ;;
    esac
    : > "$out"
    ip netns exec "$NS" timeout -s KILL 900 "${cmd[@]}" > "$out" 2> "$err" < /dev/null &
    pid=$!
    while [ -z "$vpid" ]; do read -r vpid _ 2>/dev/null < "/proc/$pid/task/$pid/children" || sleep 0.05; done
    t0=$EPOCHREALTIME
    perf stat -I 250 -x, "${PERF_EVENTS[@]}" -p "$vpid" -o "$perfout" 2>/dev/null &
    local perfpid=$!
    exec {log}< "$out"
    while kill -0 "$pid" 2>/dev/null; do
        while IFS= read -r -u "$log" line || { part+=$line; false; }; do
            line=$part$line part="" ; line=${line%$'\r'}
            now=$(echo "$EPOCHREALTIME - $t0" | bc)
            case $line in
                "CSVMM_STEP sleep:3") R["$name idle0"]=$now ;;
                "CSVMM_STEP blk-read"*) R["$name idle1"]=$now ;;
                "CSVMM_RESULT sha256"*)
                    R["$name blkbytes"]=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<< "$line")
                    R["$name blkms"]=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<< "$line") ;;
                "CSVMM_STEP rand-read"*) R["$name blk0"]=$now ;;
                "CSVMM_RESULT rand-read"*)
                    R["$name blk1"]=$now
                    R["$name iops"]=$(sed -n 's/.*iops=\([0-9.]*\).*/\1/p' <<< "$line") ;;
                "CSVMM_RESULT ping"*) R["$name rtt"]=$(sed -n 's/.*rtt_avg_ms=\([0-9.]*\).*/\1/p' <<< "$line") ;;
                "CSVMM_LISTENING port=5001"*)
                    R["$name net0"]=$now; R["$name pk0"]=$(tap_packets)
                    ip netns exec "$NS" sh -c "until nc -N 10.78.0.2 5001 < $WORK/in; do sleep 1; done" > /dev/null 2>&1 &
                    sender=$! ;;
                "CSVMM_RESULT tcp-recv"*)
                    R["$name net1"]=$now; R["$name pk1"]=$(tap_packets)
                    R["$name rxok"]=$([ "$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<< "$line")" = "$IN_SHA" ] && echo yes || echo no)
                    R["$name rxkbs"]=$(awk -v l="$line" 'BEGIN { match(l, /bytes=[0-9]+/); b = substr(l, RSTART + 6, RLENGTH - 6)
                        match(l, / ms=[0-9]+/); m = substr(l, RSTART + 4, RLENGTH - 4); if (m > 0) printf "%.1f", b / m }') ;;
            esac
        done
        sleep 0.1
    done
    exec {log}<&-
    wait "$pid" || true
    kill -INT "$perfpid" 2>/dev/null || true; wait "$perfpid" 2>/dev/null || true
    ip netns del "$NS"
    [ -z "$sender" ] || { kill "$sender" 2>/dev/null || true; wait "$sender" 2>/dev/null || true; }
    if [ -z "${R["$name net1"]:-}" ] || [ "${R["$name rxok"]:-}" != yes ]; then
        log "$name: the workload did not finish or the data differed; console tail:"; tail -n 20 "$out" >&2; FAILED+=" $name"; return
    fi
    log "$name: blk ${R["$name blkbytes"]:-?} B in ${R["$name blkms"]:-?} ms, random reads ${R["$name iops"]:-?} IOPS; ping rtt ${R["$name rtt"]:-?} ms; TCP in ${R["$name rxkbs"]:-?} kB/s"
}

# Exits per unit of WINDOW (blk or net) for CONFIG, summed over KINDS, idle rate subtracted.
per() { # CONFIG WINDOW KINDS DIVISOR
    local c="$1" w="$2" a b i0 i1 total=0 idle=0 k f="$WORK/$1.perf"
    a=${R["$c ${w}0"]:-} b=${R["$c ${w}1"]:-} i0=${R["$c idle0"]:-} i1=${R["$c idle1"]:-}
    [ -n "$a" ] && [ -n "$b" ] && [ -n "$4" ] && [ "$4" != 0 ] && [ -n "$i0" ] && [ -n "$i1" ] || { echo "–"; return; }
    for k in $3; do
        total=$((total + $(window "$f" "$k" "$a" "$b")))
        idle=$((idle + $(window "$f" "$k" "$i0" "$i1")))
    done
    printf '%.1f' "$(echo "($total - $idle * ($b - $a) / ($i1 - $i0)) / $4" | bc -l)"
}
# The same, raw: no idle subtraction (for the table's footnote on idle rates).
idle_rate() { # CONFIG KINDS -> per second
    local c="$1" i0 i1 idle=0 k
    i0=${R["$c idle0"]:-} i1=${R["$c idle1"]:-}
    [ -n "$i0" ] && [ -n "$i1" ] || { echo "–"; return; }
    for k in $2; do idle=$((idle + $(window "$WORK/$c.perf" "$k" "$i0" "$i1"))); done
    printf '%.0f' "$(echo "$idle / ($i1 - $i0)" | bc -l)"
}

per_vmm() { # CONFIG WINDOW DIVISOR: uexit - conpio, idle subtracted
    local u c
    u=$(per "$1" "$2" uexit "$3"); c=$(per "$1" "$2" conpio "$3")
    if [ "$u" = – ] || [ "$c" = – ]; then echo "–"; else printf '%.1f' "$(echo "$u - $c" | bc -l)"; fi
}

CONFIGS=(
    "qemu-pc-ide-e1000 qemu-ide sda"
    "qemu-pc-virtio-pci qemu-pci vda"
    "qemu-microvm-virtio-mmio qemu-mmio vda"
    "csvmm-virtio-mmio csvmm-mmio vda"
    "csvmm-virtio-pci csvmm-pci vda"
)
FAILED=""
T0=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for c in "${CONFIGS[@]}"; do
    read -r n k d <<< "$c"
    run_config "$n" "$k" "$d"
done
mkdir -p "$ROOT/bench/results"
RESULTS="$ROOT/bench/results/$(date -u +%Y-%m-%d)-emulated.md"
{
echo "# Emulated devices vs virtio: vCPU exits per request and throughput, $(date -u +%Y-%m-%d)"
echo
echo "- Machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), host kernel $(uname -r), KVM backend $(for m in kvm_pvm kvm_intel kvm_amd; do [ -d /sys/module/$m ] && { echo $m; break; }; done) (guest kernel code is emulated here: throughput is the guest kernel's, not the device's)"
echo "- csvmm $("$CSVMM" --version 2>/dev/null | head -n1) (git $(git -C "$ROOT" rev-parse --short HEAD)); $(qemu-system-x86_64 --version | sed -n 1p), vhost=off, disk cache=writeback"
echo "- Guest: $(basename "$VMLINUX") from images/build-emulated-kernel.sh ($(basename "$(dirname "$VMLINUX")")), the images' initramfs, 1 vCPU, $MEM MiB"
echo "- Workload: \`$(steps DEV)\` (blk-read: O_DIRECT 1 MiB reads of the whole $BLK_MIB MiB disk, then its sha256; rand-read: $RAND O_DIRECT 4 KiB reads at random offsets, one block request each; tcp-recv: the host sends $NET_KIB KiB with nc, checked by sha256)"
echo "- Command: \`bench/emulated/run.sh $ARGS\`; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end; wall time $(( $(date +%s) - T0 ))s; one run per row"
echo "- Exits: KVM tracepoints for the VMM process (\`perf stat -I 250\`), over the rand-read step (per request) and the tcp-recv step (per frame the TAP carried, both ways), minus the idle rate of the sleep step before the block steps; the serial console's ports (0x3f8-0x3ff) filtered out. \"traps\" = kvm_mmio + kvm_pio: every device-register access of the guest (KVM handles some itself: ioeventfd notifications, the in-kernel LAPIC, IOAPIC, PIT); \"to VMM\" = kvm_userspace_exit minus the console's port exits: the exits that reach the VMM process"
echo
echo "| configuration | blk read MB/s (1 MiB) | random 4 KiB reads (IOPS) | traps / blk request | to VMM / blk request | ping RTT (ms) | TCP to guest (kB/s) | frames | traps / frame | to VMM / frame | idle traps/s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for c in "${CONFIGS[@]}"; do
    read -r n _ _ <<< "$c"
    mbs="–"; [ -n "${R["$n blkms"]:-}" ] && [ "${R["$n blkms"]}" -gt 0 ] && mbs=$(printf '%.2f' "$(echo "${R["$n blkbytes"]} / ${R["$n blkms"]} / 1000" | bc -l)")
    frames="–"; [ -n "${R["$n pk1"]:-}" ] && frames=$(( R["$n pk1"] - R["$n pk0"] ))
    # "to VMM" without the console: kvm_userspace_exit minus the console's port exits
    echo "| $n | $mbs | ${R["$n iops"]:-–} | $(per "$n" blk "mmio pio" "$RAND") | $(per_vmm "$n" blk "$RAND") | ${R["$n rtt"]:-–} | ${R["$n rxkbs"]:-–} | $frames | $(per "$n" net "mmio pio" "$frames") | $(per_vmm "$n" net "$frames") | $(idle_rate "$n" "mmio pio") |"
done
[ -z "$FAILED" ] || echo -e "\nFAILED:$FAILED"
} > "$RESULTS"
cat "$RESULTS"
log "wrote $RESULTS"
[ -z "$FAILED" ]
