#!/usr/bin/env bash
# The device path at native guest speed: csvmm, QEMU microvm and the host on the same work.
#
#   bench/native/run.sh [--quick] [--rounds N] [--seq-mib N] [--rand-ops N] [--frames N]
#
# The guest (bench/native/guest, built here from source with gcc) is a PVH ELF that runs a polling
# virtio-mmio driver in ring 3, where this host runs guest code natively. It drives virtio-blk
# (1 MiB sequential and 4 KiB random requests, reads and writes, queue depth 1 and 32) and
# virtio-net (TX of 64 B, 1514 B and 64 KiB frames into a TAP that sinks them; RX of 64 B and
# 1514 B frames that bench/native/pktgen sends into the TAP), timing each test with RDTSC and
# kvmclock's scale. The same ELF boots under csvmm (--transport mmio) and QEMU microvm (modern
# virtio-mmio, vhost=off, disk cache=writeback as csvmm's page-cache backend). The host's own I/O on
# the same file with the same request sizes and depths (fio, buffered like both VMMs) is
# the limit for the block rows. Each round runs csvmm, QEMU, then the host, so drift of the host's
# load hits all three alike. Prints median (min-max) per figure with ratios and writes
# bench/results/<date>-native-{quick,full}.md. Exits non-zero if a run failed or a figure is missing.
# --quick: 1 round, small sizes (CI runs it; well under a minute).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
MODE=full ROUNDS=3 SEQ_MIB=256 RAND_OPS=50000 FRAMES=200000 TX_MIB=1024
ARGS="$*"
usage() { sed -n '2,18p' "$0" >&2; exit 2; }
while (($#)); do
    case "$1" in
        --quick) MODE=quick ROUNDS=1 SEQ_MIB=32 RAND_OPS=5000 FRAMES=20000 TX_MIB=128; shift ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --seq-mib) SEQ_MIB="$2"; shift 2 ;;
        --rand-ops) RAND_OPS="$2"; shift 2 ;;
        --frames) FRAMES="$2"; shift 2 ;;
        *) usage ;;
    esac
done
source "$ROOT/bench/lib.sh"
bench_require qemu-system-x86_64 fio jq gcc ip bc
WORK="$(mktemp -d /var/tmp/csvmm-native.XXXXXX)"
NS="csvmm-native-$$"
TAP=ntap0
cleanup() { ip netns del "$NS" 2>/dev/null || true; if [ -n "${CSVMM_BENCH_KEEP:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
log() { echo "bench: $*" >&2; }

"$ROOT/bench/native/guest/build.sh" "$WORK/guest.elf"
gcc -O2 -Wall -Wextra -o "$WORK/pktgen" "$ROOT/bench/native/pktgen.c"
DISK="$WORK/disk.raw"
MEM=256
RUN_TIMEOUT=900 HOST_SECONDS=2
[ "$MODE" = quick ] && RUN_TIMEOUT=120 HOST_SECONDS=0.3
GUEST_ARGS="native.seq_mib=$SEQ_MIB native.rand_ops=$RAND_OPS native.tx_frames=$FRAMES native.tx_mib=$TX_MIB native.rx_frames=$FRAMES"

declare -A V # "metric who" -> values, one per round
add() { [ -z "$3" ] || V["$1 $2"]+="$3 "; }

# NATIVE_RESULT line of TEST/BS/QD in LOG -> value of FIELD
field() { sed -n "s/^NATIVE_RESULT test=$2 bs=$3 qd=$4 .*\b$5=\([0-9]*\).*/\1/p" "$1" | tr -d '\r' | head -n1; }
# bytes/ns of a result -> MB/s and ops/ns -> ops/s, with decimals
rate() { local o n; o=$(field "$1" "$2" "$3" "$4" "$5"); n=$(field "$1" "$2" "$3" "$4" ns)
         if [ -n "$o" ] && [ -n "$n" ] && [ "$n" -gt 0 ]; then echo "scale=3; $o * $6 / $n" | bc; fi; }

# Every figure, as "metric test bs qd field scale" (ops -> per second, bytes -> MB/s).
FIGURES=(
    "seqw1 blk-seq-write 1048576 1 bytes 1000"
    "seqw32 blk-seq-write 1048576 32 bytes 1000"
    "seqr1 blk-seq-read 1048576 1 bytes 1000"
    "seqr32 blk-seq-read 1048576 32 bytes 1000"
    "randr1 blk-rand-read 4096 1 ops 1000000000"
    "randr32 blk-rand-read 4096 32 ops 1000000000"
    "randw1 blk-rand-write 4096 1 ops 1000000000"
    "randw32 blk-rand-write 4096 32 ops 1000000000"
    "tx64 net-tx 64 128 ops 1000000000"
    "tx1514 net-tx 1514 128 ops 1000000000"
    "tx1514b net-tx 1514 128 bytes 1000"
    "tx64k net-tx 65536 128 bytes 1000"
    "rx64 net-rx 64 128 ops 1000000000"
    "rx1514 net-rx 1514 128 ops 1000000000"
    "rx1514b net-rx 1514 128 bytes 1000"
)

net_up() {
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" tuntap add "$TAP" mode tap
    # No IPv6 router/neighbour chatter on the TAP: only the test's own frames reach the guest.
    ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
    ip -n "$NS" link set "$TAP" up
}

run_vmm() { # VMM ROUND
    local vmm="$1" r="$2" out="$WORK/$1-$2.out" err="$WORK/$1-$2.err" cmd pid line seen=0
    rm -f "$DISK"; truncate -s "${SEQ_MIB}M" "$DISK"
    net_up
    if [ "$vmm" = csvmm ]; then
        cmd=("$CSVMM" run --kernel "$WORK/guest.elf" --memory "$MEM" --transport mmio
             --disk "$DISK" --net "tap=$TAP" --log-level warning --cmdline "$GUEST_ARGS")
    else
        # Modern virtio-mmio (the guest speaks virtio 1.x only), vhost off, the page cache like csvmm.
        cmd=(qemu-system-x86_64 -M microvm,acpi=off -enable-kvm -cpu host,arch-capabilities=off
             -m "$MEM" -smp 1 -nodefaults -no-user-config -nographic -no-reboot -serial stdio
             -device i8042 -device isa-debug-exit,iobase=0xf4,iosize=4 -global virtio-mmio.force-legacy=false
             -drive id=d0,file="$DISK",format=raw,if=none,cache=writeback -device virtio-blk-device,drive=d0
             -netdev tap,id=n0,ifname="$TAP",script=no,downscript=no,vhost=off -device virtio-net-device,netdev=n0
             -kernel "$WORK/guest.elf" -append "$GUEST_ARGS")
    fi
    : > "$out"
    ip netns exec "$NS" timeout -s KILL "$RUN_TIMEOUT" "${cmd[@]}" > "$out" 2> "$err" < /dev/null &
    pid=$!
    # Each NATIVE_RX_READY asks for one burst of frames of its size.
    while kill -0 "$pid" 2>/dev/null; do
        local n; n=$(grep -c '^NATIVE_RX_READY' "$out" || true)
        if (( n > seen )); then
            line=$(grep '^NATIVE_RX_READY' "$out" | sed -n "${n}p" | tr -d '\r')
            seen=$n
            ip netns exec "$NS" "$WORK/pktgen" "$TAP" "${line##*bs=}" "$FRAMES" >> "$WORK/$vmm-$r.pktgen" 2>&1 || true
        fi
        sleep 0.1
    done
    wait "$pid" || true
    ip netns del "$NS"
    if ! grep -q '^NATIVE_DONE status=0' "$out"; then
        log "$vmm round $r failed; console and log tails:"
        tail -n 15 "$out" "$err" >&2
        FAILED+=" $vmm-$r"
    fi
    local f m t b q k s
    for f in "${FIGURES[@]}"; do
        read -r m t b q k s <<< "$f"
        add "$m" "$vmm" "$(rate "$out" "$t" "$b" "$q" "$k" "$s")"
    done
    log "$vmm round $r: $(grep -c '^NATIVE_RESULT' "$out") results"
}

# The host's own I/O on the same file, buffered like both VMMs' backends, for a fixed time (a short
# fixed amount of work would mostly time fio's start), without fio's default page-cache
# invalidation (the VMMs read a file that is in the page cache too). The figure is the better of
# psync (one synchronous call per request, as csvmm's device thread does) and io_uring at the
# test's depth. The sequential write comes first (it also fills the file, as the guest's does); a
# sync after each write test stays outside the timing, as the guest's FLUSH.
fio_one() { # METRIC RW BS QD -> adds the host figure
    local m="$1" rw="$2" bs="$3" qd="$4" json best="" v engine depth
    for engine in psync io_uring; do
        depth=$qd; [ "$engine" = psync ] && depth=1
        json=$(fio --name=h --filename="$DISK" --rw="$rw" --bs="$bs" --iodepth="$depth" --ioengine="$engine" \
            --direct=0 --invalidate=0 --size="${SEQ_MIB}M" --norandommap --randrepeat=0 --time_based \
            --runtime="$HOST_SECONDS" --output-format=json 2>/dev/null) || continue
        case "$m" in
            seq*) v=$(jq -r '.jobs[0] | (.read.bw_bytes + .write.bw_bytes) / 1000000' <<< "$json" 2>/dev/null) || v="" ;;
            *) v=$(jq -r '.jobs[0] | (.read.iops + .write.iops)' <<< "$json" 2>/dev/null) || v="" ;;
        esac
        [ -n "$v" ] || continue
        if [ -z "$best" ] || [ "$(echo "$v > $best" | bc)" = 1 ]; then best=$v; fi
        case "$rw" in *write) sync "$DISK" ;; esac
    done
    add "$m" host "$best"
}
run_host() {
    rm -f "$DISK"; truncate -s "${SEQ_MIB}M" "$DISK"
    fio_one seqw1 write 1M 1
    fio_one seqw32 write 1M 32
    fio_one seqr1 read 1M 1
    fio_one seqr32 read 1M 32
    fio_one randr1 randread 4k 1
    fio_one randr32 randread 4k 32
    fio_one randw1 randwrite 4k 1
    fio_one randw32 randwrite 4k 32
}

# ---------------------------------------------------------------- table
stat3() { printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{a[NR] = $1}
    END { if (NR) printf "%s %s %s\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[1], a[NR] }'; }
cell() { local v lo hi; read -r v lo hi <<< "$(stat3 ${V["$1 $2"]:-})" || true
         if [ -n "${v:-}" ]; then printf "%.${3}f (%.${3}f–%.${3}f)" "$v" "$lo" "$hi"; else echo "–"; fi; }
med() { local v; read -r v _ <<< "$(stat3 ${V["$1 $2"]:-})" || true; echo "${v:-}"; }
ratio() { local a b; a=$(med "$1" "$2"); b=$(med "$1" "$3")
          if [ -n "$a" ] && [ -n "$b" ] && [ "$(echo "$b > 0" | bc)" = 1 ]; then printf '%.2f' "$(echo "$a / $b" | bc -l)"; else echo "–"; fi; }
row() { # METRIC LABEL DECIMALS HOST(yes/no)
    local m="$1" h="–" hr="–"
    [ -n "$(med "$m" csvmm)" ] || MISSING+=" $m/csvmm"
    [ -n "$(med "$m" qemu)" ] || MISSING+=" $m/qemu"
    if [ "$4" = yes ]; then
        h=$(cell "$m" host "$3"); hr=$(ratio "$m" csvmm host)
        [ -n "$(med "$m" host)" ] || MISSING+=" $m/host"
    fi
    printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "$(cell "$m" csvmm "$3")" "$(cell "$m" qemu "$3")" "$h" \
        "$(ratio "$m" csvmm qemu)" "$hr"
}
mkdir -p "$ROOT/bench/results"
DATE=$(date -u +%Y-%m-%d)
RESULTS="$ROOT/bench/results/$DATE-native-$MODE.md"
FAILED=""
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
CSVMM_VERSION="$("$CSVMM" --version 2>/dev/null | head -n1) (git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown))"
report() {
    MISSING=""
    {
    echo "# Device path at native guest speed: csvmm vs QEMU microvm vs host — $MODE run, $DATE"
    echo
    echo "- Machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), host kernel $(uname -r), KVM backend $(for m in kvm_pvm kvm_intel kvm_amd; do [ -d /sys/module/$m ] && { echo $m; break; }; done)"
    echo "- csvmm: $CSVMM_VERSION (\`--transport mmio\`); QEMU: $(qemu-system-x86_64 --version | sed -n 1p) (\`-M microvm\`, modern virtio-mmio, \`vhost=off\`, disk \`cache=writeback\`, aio=threads); host: $(fio --version), buffered, the better of psync and io_uring at the depth, ${HOST_SECONDS} s per test"
    echo "- Guest: bench/native/guest (PVH ELF, polling virtio-mmio driver in ring 3, no interrupts), 1 vCPU, $MEM MiB; raw disk of $SEQ_MIB MiB in /var/tmp"
    echo "- Work per run: $SEQ_MIB MiB per sequential test, $RAND_OPS requests per random test, $FRAMES frames per net test (TX capped at $TX_MIB MiB)"
    echo "- Rounds: $1 of $ROUNDS (csvmm, QEMU, host in each); load average $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end; wall time $(( $(date +%s) - T0 ))s"
    echo "- Command: \`bench/native/run.sh $ARGS\`"
    echo
    echo "Median (min–max) over the rounds; ratios of the medians."
    echo
    echo "| figure | csvmm | QEMU microvm | host | csvmm / QEMU | csvmm / host |"
    echo "|---|---|---|---|---|---|"
    row seqw1 "blk sequential write 1 MiB, QD 1 (MB/s)" 0 yes
    row seqw32 "blk sequential write 1 MiB, QD 32 (MB/s)" 0 yes
    row seqr1 "blk sequential read 1 MiB, QD 1 (MB/s)" 0 yes
    row seqr32 "blk sequential read 1 MiB, QD 32 (MB/s)" 0 yes
    row randr1 "blk random read 4 KiB, QD 1 (IOPS)" 0 yes
    row randr32 "blk random read 4 KiB, QD 32 (IOPS)" 0 yes
    row randw1 "blk random write 4 KiB, QD 1 (IOPS)" 0 yes
    row randw32 "blk random write 4 KiB, QD 32 (IOPS)" 0 yes
    row tx64 "net TX 64 B frames (packets/s)" 0 no
    row tx1514 "net TX 1514 B frames (packets/s)" 0 no
    row tx1514b "net TX 1514 B frames (MB/s)" 1 no
    row tx64k "net TX 64 KiB frames (MB/s)" 0 no
    row rx64 "net RX 64 B frames (packets/s)" 0 no
    row rx1514 "net RX 1514 B frames (packets/s)" 0 no
    row rx1514b "net RX 1514 B frames (MB/s)" 1 no
    } > "$WORK/table.md"
    [ -z "$FAILED" ] || echo -e "\nFAILED runs:$FAILED" >> "$WORK/table.md"
    [ -z "$MISSING" ] || echo -e "\nMISSING figures:$MISSING" >> "$WORK/table.md"
    cp "$WORK/table.md" "$RESULTS"
}
for r in $(seq "$ROUNDS"); do
    run_vmm csvmm "$r"
    run_vmm qemu "$r"
    run_host
    report "$r"
done
cat "$RESULTS"
log "wrote $RESULTS"
if [ -n "$FAILED$MISSING" ]; then log "harness failure:$FAILED$MISSING"; exit 1; fi
