#!/usr/bin/env bash
# Network benchmark: csvmm's virtio-net next to QEMU microvm's (-netdev tap,vhost=off), same
# images, same namespace set-up, in one run. Each VMM boots the initramfs guest in a fresh network
# namespace with a TAP (10.77.0.1 host side, 10.77.0.2 guest), then the guest pings the host and
# moves MIB MiB each way over TCP (csvmm-guest tcp-recv / tcp-send; host side: nc).
#
#   bench/net.sh [--mib N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
MIB=4
while (($#)); do
    case "$1" in
        --mib) MIB="$2"; shift 2 ;;
        *) sed -n '2,8p' "$0" >&2; exit 2 ;;
    esac
done
CSVMM="${CSVMM_BIN:-$ROOT/out/csvmm}"
[ -x "$CSVMM" ] || { echo "bench: $CSVMM missing; run ./build.sh first" >&2; exit 1; }
eval "$("$ROOT/images/build.sh" --print-paths)"
WORK="$(mktemp -d /tmp/csvmm-netbench.XXXXXX)"
NS="csvmm-netbench-$$"
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
BASE="console=ttyS0 reboot=k panic=1 pci=off nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
STEPS="csvmm.test=net-up:10.77.0.2/24,ping:10.77.0.1:10,tcp-recv:5001:$MIB,tcp-send:10.77.0.1:5002:$MIB,reboot"
head -c $((MIB << 20)) /dev/urandom > "$WORK/in"

run_one() { # NAME COMMAND...
    local name="$1"; shift
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" tuntap add csvmm0 mode tap
    ip -n "$NS" addr add 10.77.0.1/24 dev csvmm0
    ip -n "$NS" link set csvmm0 up
    ip netns exec "$NS" sh -c "nc -l 10.77.0.1 5002 > $WORK/out" &
    local listener=$!
    ip netns exec "$NS" "$@" > "$WORK/$name.log" 2>&1 < /dev/null &
    local vmm=$!
    until grep -q "CSVMM_STEP tcp-recv" "$WORK/$name.log" 2>/dev/null; do
        kill -0 "$vmm" 2>/dev/null || { echo "bench: $name died" >&2; cat "$WORK/$name.log" >&2; return 1; }
        sleep 0.5
    done
    until ip netns exec "$NS" sh -c "nc -N 10.77.0.2 5001 < $WORK/in" 2>/dev/null; do sleep 1; done
    wait "$vmm" || true
    kill "$listener" 2>/dev/null || true
    ip netns del "$NS"
    local ping rx tx
    ping=$(sed -n 's/.*CSVMM_RESULT ping .*rtt_avg_ms=\([0-9.]*\).*/\1/p' "$WORK/$name.log")
    rx=$(sed -n 's/.*CSVMM_RESULT tcp-recv .* ms=\([0-9]*\).*/\1/p' "$WORK/$name.log")
    tx=$(sed -n 's/.*CSVMM_RESULT tcp-send .* ms=\([0-9]*\).*/\1/p' "$WORK/$name.log")
    printf '%-6s ping rtt avg %8s ms   host->guest %6.3f MB/s   guest->host %6.3f MB/s\n' "$name" "$ping" \
        "$(echo "$MIB * 1.048576 * 1000 / $rx" | bc -l)" "$(echo "$MIB * 1.048576 * 1000 / $tx" | bc -l)"
    eval "${name}_ping=$ping ${name}_rx=$rx ${name}_tx=$tx"
}

run_one csvmm "$CSVMM" run --kernel "$CSVMM_VMLINUX" --initrd "$CSVMM_INITRAMFS" --net tap=csvmm0 \
    --cmdline "$CSVMM_GUEST_CMDLINE $STEPS" --log-level warning
run_one qemu timeout 900 qemu-system-x86_64 -M microvm,acpi=off -enable-kvm -cpu host,arch-capabilities=off \
    -m 256 -smp 1 -nodefaults -no-user-config -nographic -no-reboot -serial stdio -device i8042 \
    -netdev tap,id=n0,ifname=csvmm0,script=no,downscript=no,vhost=off -device virtio-net-device,netdev=n0 \
    -kernel "$CSVMM_VMLINUX" -initrd "$CSVMM_INITRAMFS" -append "$BASE $CSVMM_GUEST_CMDLINE $STEPS"
printf 'ratios csvmm/qemu: ping rtt %.2f, host->guest time %.2f, guest->host time %.2f\n' \
    "$(echo "$csvmm_ping / $qemu_ping" | bc -l)" "$(echo "$csvmm_rx / $qemu_rx" | bc -l)" "$(echo "$csvmm_tx / $qemu_tx" | bc -l)"
