#!/usr/bin/env bash
# Boot the csvmm guest images under QEMU (the reference VMM) and report how
# long the guest took to reach its markers.
#
#   images/qemu-boot.sh MODE [options]        MODE = initramfs | rootfs
#     --steps STEPS      csvmm.test= value (default: info)
#     --pci              the PCI kernel on `-M pc,acpi=off` with virtio-pci
#                        devices (disable-legacy=on); default: the microVM
#                        kernel on `-M microvm,acpi=off` with virtio-mmio
#     --bzimage          boot bzImage instead of the ELF vmlinux
#     --disk FILE        add a raw virtio-blk disk (repeatable; vdb, vdc, ...
#                        in rootfs mode, vda, vdb, ... in initramfs mode)
#     --net-user         add a virtio-net device on QEMU user networking
#                        (guest 10.0.2.15/24, host 10.0.2.2)
#     --append OPTS      extra kernel command-line options
#     --timeout SEC      overall limit (default 300)
#     --smp N            vCPUs (default 1)
#
# Serial output goes to stdout; the timing summary to stderr, with lines
#   qemu-boot: CSVMM_READY after S s
#   qemu-boot: CSVMM_DONE after S s
# Exit status: 0 if CSVMM_DONE was seen (or CSVMM_READY for steps that never
# finish: hang, exit:N), 1 otherwise.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODE="${1:-}"
case "$MODE" in initramfs|rootfs) shift ;; *) sed -n '2,24p' "$0" >&2; exit 2 ;; esac
STEPS=info KERNEL=vmlinux TIMEOUT=300 APPEND= SMP=1 NET=0 PCI=0
DISKS=()
while (($#)); do
    case "$1" in
        --steps) STEPS="$2"; shift 2 ;;
        --pci) PCI=1; shift ;;
        --bzimage) KERNEL=bzImage; shift ;;
        --disk) DISKS+=("$2"); shift 2 ;;
        --net-user) NET=1; shift ;;
        --append) APPEND="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --smp) SMP="$2"; shift 2 ;;
        *) echo "qemu-boot.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

dpkg -s qemu-system-x86 >/dev/null 2>&1 || {
    echo "qemu-boot: installing qemu-system-x86" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 >&2
}

eval "$("$HERE/build.sh" --print-paths)"

WORK="$(mktemp -d /tmp/csvmm-qemu.XXXXXX)"
QPID=
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# pci=off only for the microVM kernel (it has no PCI); the PCI kernel must
# probe configuration mechanism #1.
PCIOFF=" pci=off"; ((PCI)) && PCIOFF=
CMDLINE="reboot=k panic=1 console=ttyS0$PCIOFF nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd $CSVMM_GUEST_CMDLINE"
ARGS=(-enable-kvm -cpu host,arch-capabilities=off -m 256 -smp "$SMP"
      -nodefaults -no-user-config -nographic -no-reboot -serial stdio)
if ((PCI)); then
    # pc has its own i8042 (reboot=k resets through it); acpi=off: the guest
    # finds the bus through configuration mechanism #1 and the MP table.
    ARGS=(-M pc,acpi=off "${ARGS[@]}")
    # romfile= : no iPXE option ROM on the NIC (SeaBIOS would spend seconds on it)
    BLK=virtio-blk-pci,disable-legacy=on NIC=virtio-net-pci,disable-legacy=on,romfile=
    if [ "$KERNEL" = bzImage ]; then ARGS+=(-kernel "$CSVMM_PCI_BZIMAGE"); else ARGS+=(-kernel "$CSVMM_PCI_VMLINUX"); fi
else
    ARGS=(-M microvm,acpi=off "${ARGS[@]}" -device i8042)
    BLK=virtio-blk-device NIC=virtio-net-device
    if [ "$KERNEL" = bzImage ]; then ARGS+=(-kernel "$CSVMM_BZIMAGE"); else ARGS+=(-kernel "$CSVMM_VMLINUX"); fi
fi
n=0
if [ "$MODE" = rootfs ]; then
    cp --sparse=always "$CSVMM_ROOTFS" "$WORK/rootfs.ext4"
    ARGS+=(-drive "id=d$n,file=$WORK/rootfs.ext4,format=raw,if=none" -device "$BLK,drive=d$n")
    n=$((n + 1))
    CMDLINE="$CMDLINE root=/dev/vda rw"
else
    ARGS+=(-initrd "$CSVMM_INITRAMFS")
    CMDLINE="$CMDLINE rdinit=/init"
fi
for d in "${DISKS[@]}"; do
    ARGS+=(-drive "id=d$n,file=$d,format=raw,if=none,cache=none,aio=threads" -device "$BLK,drive=d$n")
    n=$((n + 1))
done
if ((NET)); then
    ARGS+=(-netdev user,id=n0 -device "$NIC,netdev=n0")
fi
CMDLINE="$CMDLINE csvmm.test=$STEPS${APPEND:+ $APPEND}"
ARGS+=(-append "$CMDLINE")

echo "qemu-boot: qemu-system-x86_64 ${ARGS[*]}" >&2
T0=$EPOCHREALTIME
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
mkfifo "$WORK/out"
timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 "${ARGS[@]}" < /dev/null > "$WORK/out" 2>&1 &
QPID=$!
READY= DONE= FIRST=
while IFS= read -r line; do
    line="${line%$'\r'}"
    printf '%s\n' "$line"
    [ -n "$FIRST" ] || { FIRST=$(elapsed); echo "qemu-boot: first output after $FIRST s" >&2; }
    case "$line" in
        CSVMM_READY) READY=$(elapsed); echo "qemu-boot: CSVMM_READY after $READY s" >&2 ;;
        CSVMM_DONE)
            DONE=$(elapsed); echo "qemu-boot: CSVMM_DONE after $DONE s" >&2
            # the guest reboots now (i8042 reset ends QEMU); do not wait long
            ( sleep 20; kill "$QPID" 2>/dev/null ) & ;;
    esac
done < "$WORK/out"
rc=0; wait "$QPID" || rc=$?
QPID=
echo "qemu-boot: qemu exited with status $rc after $(elapsed) s (124 = timeout)" >&2
if [ -n "$DONE" ]; then exit 0; fi
case "$STEPS" in *hang*|*exit:*) [ -n "$READY" ] && exit 0 ;; esac
exit 1
