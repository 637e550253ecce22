#!/usr/bin/env bash
# Emulated devices against virtio, as a table: the same Linux guest workload (a block transfer and
# a ping) on QEMU -M pc with an IDE disk and an e1000 NIC, QEMU -M pc with virtio-pci, QEMU microvm
# (virtio-mmio), csvmm virtio-mmio and csvmm virtio-pci, with vCPU exits per request and throughput.
#
#   bench/emulated/run.sh [--blk-mib N] [--pings N]
#
# One kernel serves every row: images/build-emulated-kernel.sh (the microVM kernel plus PCI,
# virtio-pci, libata's PIIX driver, e1000 and 8139too; built on first use, ~10 CPU-minutes), with
# the images' initramfs and its csvmm.test= steps. Exits are counted by KVM's tracepoints for the
# VMM process (`perf stat -I`): kvm_mmio + kvm_pio (every MMIO and port access of the guest traps
# to KVM, whether KVM handles it itself - ioeventfd, the in-kernel PIT/PIC/IOAPIC - or passes it
# on) and kvm_userspace_exit (the exits that reach the VMM process). The counts of a step are the
# intervals between its CSVMM_STEP and CSVMM_RESULT console lines, minus the idle rate measured
# in the sleep step before it (timer and other background traps). Requests: block requests as the
# VMM counts them (csvmm --stats, QEMU query-blockstats; both include the few reads of the boot's
# partition probe), frames as the TAP counts them. Writes bench/results/<date>-emulated.md.
# Not run by CI (five Linux boots, ~10 minutes on this host).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
BLK_MIB=8 PINGS=10
ARGS="$*"
while (($#)); do
    case "$1" in
        --blk-mib) BLK_MIB="$2"; shift 2 ;;
        --pings) PINGS="$2"; shift 2 ;;
        *) sed -n '2,19p' "$0" >&2; exit 2 ;;
    esac
done
CSVMM="${CSVMM_BIN:-$ROOT/out/csvmm}"
[ -x "$CSVMM" ] || { echo "bench: $CSVMM missing; run ./build.sh first" >&2; exit 1; }
for tool in qemu-system-x86_64 perf jq nc bc ip; do
    command -v "$tool" >/dev/null || { echo "bench: $tool missing" >&2; exit 1; }
done
perf list 2>/dev/null | grep -q 'kvm:kvm_userspace_exit' || { echo "bench: perf has no kvm tracepoints here" >&2; exit 1; }
eval "$("$ROOT/images/build.sh" --print-paths)"
VMLINUX="$("$ROOT/images/build-emulated-kernel.sh")"
WORK="$(mktemp -d /var/tmp/csvmm-emulated.XXXXXX)"
NS="csvmm-emul-$$"
TAP=etap0
cleanup() { ip netns del "$NS" 2>/dev/null || true; [ -n "${CSVMM_BENCH_KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
log() { echo "bench: $*" >&2; }
MEM=256
EVENTS=kvm:kvm_mmio,kvm:kvm_pio,kvm:kvm_userspace_exit
BASE="console=ttyS0 reboot=k panic=1 nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

steps() { # DISK_DEVICE_NAME
    echo "csvmm.test=net-up:10.78.0.2/24,sleep:3,blk-read:$1:$BLK_MIB,sleep:1,ping:10.78.0.1:$PINGS,sleep:1,reboot"
}

declare -A R # "config key" -> value

tap_packets() { ip -n "$NS" -j -s link show "$TAP" | jq '.[0].stats64 | .rx.packets + .tx.packets'; }

# The exits of the window [A, B] (seconds since perf started) from perf's interval file, per event.
window() { # FILE EVENT A B -> count
    awk -F, -v e="$2" -v a="$3" -v b="$4" '$4 == e && $1 > a && $1 <= b + 0.25 { s += $2 } END { print s + 0 }' "$1"
}

run_config() { # NAME KIND DISKDEV
    local name="$1" kind="$2" dev="$3" out="$WORK/$1.out" err="$WORK/$1.err" perfout="$WORK/$1.perf" stats="$WORK/$1.json"
    local qmp="$WORK/$1.qmp" cmd pid vpid="" t0 line now part="" log
    rm -f "$WORK/disk.raw"; truncate -s "${BLK_MIB}M" "$WORK/disk.raw"
    ip netns add "$NS"; ip -n "$NS" link set lo up
    ip -n "$NS" tuntap add "$TAP" mode tap
    ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
    ip -n "$NS" addr add 10.78.0.1/24 dev "$TAP"; ip -n "$NS" link set "$TAP" up
    local q=(qemu-system-x86_64 -enable-kvm -cpu host,arch-capabilities=off -m "$MEM" -smp 1 -nodefaults
             -no-user-config -nographic -no-reboot -serial stdio -qmp "unix:$qmp,server=on,wait=off"
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
    perf stat -I 250 -x, -e "$EVENTS" -p "$vpid" -o "$perfout" 2>/dev/null &
    local perfpid=$!
    exec {log}< "$out"
    while kill -0 "$pid" 2>/dev/null; do
        while IFS= read -r -u "$log" line || { part+=$line; false; }; do
            line=$part$line part="" ; line=${line%$'\r'}
            now=$(echo "$EPOCHREALTIME - $t0" | bc)
            case $line in
                "CSVMM_STEP sleep:3") R["$name idle0"]=$now ;;
                "CSVMM_STEP blk-read"*) R["$name idle1"]=$now; R["$name blk0"]=$now ;;
                "CSVMM_RESULT sha256"*)
                    R["$name blk1"]=$now
                    R["$name blkbytes"]=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<< "$line")
                    R["$name blkms"]=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<< "$line")
                    if [ "${kind%%-*}" = qemu ]; then
                        R["$name blkreq"]=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-blockstats"}' \
                            | timeout 5 nc -U -q 1 "$qmp" 2>/dev/null | grep '"return": \[' | jq '.return[0].stats.rd_operations' || true)
                    fi ;;
                "CSVMM_STEP ping"*) R["$name net0"]=$now; R["$name pk0"]=$(tap_packets) ;;
                "CSVMM_RESULT ping"*)
                    R["$name net1"]=$now; R["$name pk1"]=$(tap_packets)
                    R["$name rtt"]=$(sed -n 's/.*rtt_avg_ms=\([0-9.]*\).*/\1/p' <<< "$line") ;;
            esac
        done
        sleep 0.1
    done
    exec {log}<&-
    wait "$pid" || true
    kill -INT "$perfpid" 2>/dev/null || true; wait "$perfpid" 2>/dev/null || true
    ip netns del "$NS"
    [ -z "${R["$name net1"]:-}" ] && { log "$name: the workload did not finish; console tail:"; tail -n 20 "$out" >&2; FAILED+=" $name"; return; }
    if [ "${kind%%-*}" = csvmm ]; then R["$name blkreq"]=$(jq '.blockDevices[0].readRequests' "$stats"); fi
    log "$name: blk ${R["$name blkbytes"]:-?} B in ${R["$name blkms"]:-?} ms, ${R["$name blkreq"]:-?} requests; ping rtt ${R["$name rtt"]:-?} ms"
}

# exits per unit of WINDOW (blk or net) for CONFIG and EVENT(S), idle rate subtracted
per() { # CONFIG WINDOW EVENTS DIVISOR
    local c="$1" w="$2" a b i0 i1 total=0 idle=0 e f="$WORK/$1.perf"
    a=${R["$c ${w}0"]:-} b=${R["$c ${w}1"]:-} i0=${R["$c idle0"]:-} i1=${R["$c idle1"]:-}
    [ -n "$a" ] && [ -n "$b" ] && [ -n "$4" ] && [ "$4" != 0 ] || { echo "–"; return; }
    for e in ${3//,/ }; do
        total=$((total + $(window "$f" "$e" "$a" "$b")))
        [ -n "$i0" ] && idle=$((idle + $(window "$f" "$e" "$i0" "$i1")))
    done
    echo "scale=1; ($total - $idle * ($b - $a) / ($i1 - $i0)) / $4" | bc
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
echo "- Workload: \`$(steps DEV)\` (blk-read: O_DIRECT 1 MiB reads of the whole $BLK_MIB MiB disk, then its sha256)"
echo "- Command: \`bench/emulated/run.sh $ARGS\`; load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end; wall time $(( $(date +%s) - T0 ))s; one run per row"
echo "- Exits: KVM tracepoints for the VMM process, \`perf stat -I 250 -e $EVENTS\`, over each step, minus the idle rate of the sleep step before it. \"traps\" = kvm_mmio + kvm_pio (every device-register access of the guest: KVM handles some itself, e.g. ioeventfd notifications, the PIT, PIC and IOAPIC); \"to VMM\" = kvm_userspace_exit (exits that reach the VMM process)"
echo
echo "| configuration | blk MB/s | blk requests | traps / blk request | to VMM / blk request | ping RTT (ms) | frames | traps / frame | to VMM / frame |"
echo "|---|---|---|---|---|---|---|---|---|"
for c in "${CONFIGS[@]}"; do
    read -r n _ _ <<< "$c"
    mbs="–"; [ -n "${R["$n blkms"]:-}" ] && [ "${R["$n blkms"]}" -gt 0 ] && mbs=$(echo "scale=2; ${R["$n blkbytes"]} / ${R["$n blkms"]} / 1000" | bc)
    frames="–"; [ -n "${R["$n pk1"]:-}" ] && frames=$(( R["$n pk1"] - R["$n pk0"] ))
    echo "| $n | $mbs | ${R["$n blkreq"]:-–} | $(per "$n" blk kvm:kvm_mmio,kvm:kvm_pio "${R["$n blkreq"]:-}") | $(per "$n" blk kvm:kvm_userspace_exit "${R["$n blkreq"]:-}") | ${R["$n rtt"]:-–} | $frames | $(per "$n" net kvm:kvm_mmio,kvm:kvm_pio "$frames") | $(per "$n" net kvm:kvm_userspace_exit "$frames") |"
done
[ -z "$FAILED" ] || echo -e "\nFAILED:$FAILED"
} > "$RESULTS"
cat "$RESULTS"
log "wrote $RESULTS"
[ -z "$FAILED" ]
