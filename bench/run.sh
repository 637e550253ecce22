#!/usr/bin/env bash
# Benchmarks: csvmm next to QEMU microvm (the peer), measured in the same run on the same images.
#
#   bench/run.sh [boot] [--runs N]
#
# boot: time from process start to the guest's CSVMM_READY line (initramfs guest, vmlinux and
# bzImage), csvmm's own time to the first KVM_RUN, and peak RSS with and without guest RAM.
# Prints medians and csvmm/QEMU ratios. Absolute times on a nested KVM host mean little; the
# ratios measured side by side are the result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
RUNS=3
WHAT=boot
while (($#)); do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        boot) WHAT="$1"; shift ;;
        *) sed -n '2,9p' "$0" >&2; exit 2 ;;
    esac
done
CSVMM="${CSVMM_BIN:-$ROOT/out/csvmm}"
[ -x "$CSVMM" ] || { echo "bench: $CSVMM missing; run ./build.sh first" >&2; exit 1; }
eval "$("$ROOT/images/build.sh" --print-paths)"
WORK="$(mktemp -d /tmp/csvmm-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
MEM=256
BASE="console=ttyS0 reboot=k panic=1 pci=off nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
STEPS="csvmm.test=reboot"

now() { date +%s.%N; }

# KiB of the VMM's guest-RAM mapping (the one of --memory size) that are resident.
guest_kb() {
    local want=$((MEM * 1024)) sum=0 inr=0 a b rest
    while read -r a b rest; do
        if [[ $a =~ ^([0-9a-f]+)-([0-9a-f]+)$ ]]; then
            local size=$(( (16#${BASH_REMATCH[2]} - 16#${BASH_REMATCH[1]}) / 1024 ))
            inr=$(( size >= want && size <= want + 4096 ))
        elif (( inr )) && [ "$a" = "Rss:" ]; then
            sum=$((sum + b))
        fi
    done < "/proc/$1/smaps" 2>/dev/null
    echo "$sum"
}

# Runs "$@" with stdout to $WORK/out, returns seconds from start to the CSVMM_READY line in $T.
# The VMM is stopped (SIGTERM, then SIGKILL) right after the marker.
time_to_ready() {
    local start pid line t=""
    start=$(now)
    "$@" > "$WORK/out" 2> "$WORK/err" < /dev/null &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if grep -q CSVMM_READY "$WORK/out" 2>/dev/null; then t=$(echo "$(now) - $start" | bc); break; fi
        sleep 0.05
    done
    [ -n "$t" ] || t=$(echo "$(now) - $start" | bc)
    # Peak RSS and resident guest RAM of the VMM process, read before it is stopped.
    RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    GUEST_KB=$(guest_kb "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    T=$t
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A R
for kernel in vmlinux bzImage; do
    kpath=$CSVMM_VMLINUX; [ "$kernel" = bzImage ] && kpath=$CSVMM_BZIMAGE
    for i in $(seq "$RUNS"); do
        time_to_ready "$CSVMM" run --kernel "$kpath" --initrd "$CSVMM_INITRAMFS" --memory "$MEM" \
            --cmdline "$CSVMM_GUEST_CMDLINE $STEPS" --log-level debug
        R[csvmm_$kernel]+="$T "
        R[csvmm_rss]+="$RSS_KB "; R[csvmm_vmm]+="$((RSS_KB - GUEST_KB)) "
        R[csvmm_first]+="$(sed -n 's/.*First KVM_RUN \([0-9.]*\) ms.*/\1/p' "$WORK/err") "
        echo "bench: csvmm $kernel run $i: ready after ${T}s, peak RSS ${RSS_KB} KiB (guest RAM ${GUEST_KB} KiB)" >&2
        time_to_ready qemu-system-x86_64 -M microvm,acpi=off -enable-kvm -cpu host,arch-capabilities=off \
            -m "$MEM" -smp 1 -nodefaults -no-user-config -nographic -no-reboot -serial stdio -device i8042 \
            -kernel "$kpath" -initrd "$CSVMM_INITRAMFS" -append "$BASE $CSVMM_GUEST_CMDLINE $STEPS"
        R[qemu_$kernel]+="$T "
        R[qemu_rss]+="$RSS_KB "; R[qemu_vmm]+="$((RSS_KB - GUEST_KB)) "
        echo "bench: qemu  $kernel run $i: ready after ${T}s, peak RSS ${RSS_KB} KiB (guest RAM ${GUEST_KB} KiB)" >&2
    done
done

m() { echo "${R[$1]}" | tr ' ' '\n' | grep -v '^$' | median; }
printf '\n%-44s %12s %12s %8s\n' "boot (median of $RUNS, initramfs guest)" csvmm qemu ratio
for kernel in vmlinux bzImage; do
    c=$(m csvmm_$kernel); q=$(m qemu_$kernel)
    printf '%-44s %11.1fs %11.1fs %8.2f\n' "time to CSVMM_READY, $kernel" "$c" "$q" "$(echo "$c / $q" | bc -l)"
done
c=$(m csvmm_rss); q=$(m qemu_rss)
printf '%-44s %9d KiB %9d KiB %8.2f\n' "peak RSS" "$c" "$q" "$(echo "$c / $q" | bc -l)"
c=$(m csvmm_vmm); q=$(m qemu_vmm)
printf '%-44s %9d KiB %9d KiB %8.2f\n' "peak RSS minus resident guest RAM" "$c" "$q" "$(echo "$c / $q" | bc -l)"
printf '%-44s %10.1fms %12s\n' "csvmm start to first KVM_RUN" "$(m csvmm_first)" "-"
