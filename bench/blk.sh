#!/usr/bin/env bash
# Block benchmark: sequential 1 MiB O_DIRECT write and read inside the guest (csvmm-guest
# pattern-write / sha256) on a raw file, csvmm's virtio-blk next to QEMU microvm's, in one run,
# plus the host's own dd throughput on the same file.
#
#   bench/blk.sh [--mib N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
MIB=16
while (($#)); do
    case "$1" in
        --mib) MIB="$2"; shift 2 ;;
        *) sed -n '2,7p' "$0" >&2; exit 2 ;;
    esac
done
CSVMM="${CSVMM_BIN:-$ROOT/out/csvmm}"
[ -x "$CSVMM" ] || { echo "bench: $CSVMM missing; run ./build.sh first" >&2; exit 1; }
eval "$("$ROOT/images/build.sh" --print-paths)"
WORK="$(mktemp -d /var/tmp/csvmm-blkbench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
BASE="console=ttyS0 reboot=k panic=1 pci=off nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
STEPS="csvmm.test=blk-write:/dev/vda:$MIB,blk-read:/dev/vda:$MIB,reboot"
DISK="$WORK/disk.raw"

result() { # NAME LOG
    local w r
    w=$(sed -n 's/.*CSVMM_RESULT blk-write .* ms=\([0-9]*\).*/\1/p' "$2")
    r=$(sed -n 's/.*CSVMM_RESULT sha256 .* ms=\([0-9]*\).*/\1/p' "$2")
    printf '%-6s write %7.2f MB/s   read %7.2f MB/s\n' "$1" \
        "$(echo "$MIB * 1.048576 * 1000 / $w" | bc -l)" "$(echo "$MIB * 1.048576 * 1000 / $r" | bc -l)"
    eval "${1}_w=$w ${1}_r=$r"
}

truncate -s $((2 * MIB))M "$DISK"
"$CSVMM" run --kernel "$CSVMM_VMLINUX" --initrd "$CSVMM_INITRAMFS" --disk "$DISK" \
    --cmdline "$CSVMM_GUEST_CMDLINE $STEPS" --log-level warning > "$WORK/csvmm.log" 2>&1 < /dev/null
result csvmm "$WORK/csvmm.log"
rm -f "$DISK"; truncate -s $((2 * MIB))M "$DISK"
timeout 900 qemu-system-x86_64 -M microvm,acpi=off -enable-kvm -cpu host,arch-capabilities=off \
    -m 256 -smp 1 -nodefaults -no-user-config -nographic -no-reboot -serial stdio -device i8042 \
    -drive id=d0,file="$DISK",format=raw,if=none,cache=none -device virtio-blk-device,drive=d0 \
    -kernel "$CSVMM_VMLINUX" -initrd "$CSVMM_INITRAMFS" -append "$BASE $CSVMM_GUEST_CMDLINE $STEPS" \
    > "$WORK/qemu.log" 2>&1 < /dev/null || true
result qemu "$WORK/qemu.log"
printf 'ratios csvmm/qemu (time): write %.2f, read %.2f\n' \
    "$(echo "$csvmm_w / $qemu_w" | bc -l)" "$(echo "$csvmm_r / $qemu_r" | bc -l)"
host_w=$(dd if=/dev/zero of="$DISK" bs=1M count="$MIB" oflag=direct conv=fsync 2>&1 | sed -n 's/.*, \([0-9.]* [GMk]B\/s\)$/\1/p')
host_r=$(dd if="$DISK" of=/dev/null bs=1M count="$MIB" iflag=direct 2>&1 | sed -n 's/.*, \([0-9.]* [GMk]B\/s\)$/\1/p')
echo "host   write $host_w   read $host_r   (dd, 1 MiB direct, same file)"
