#!/usr/bin/env bash
# Snapshot restore against a cold boot, csvmm on the images' microVM kernel (256 MiB guest).
#
#   bench/snapshot/run.sh [--restores N] [--boots N]
#
# Cold boots (default 3; each is about a minute on a nested host): csvmm run with the initramfs,
# guest steps exit:5. Then one boot that snapshots at the same point (guest steps snapshot,exit:5)
# and N restores (default 20), each a fresh csvmm process from the same snapshot, whose guest
# carries on and reports exit:5. From csvmm's --stats JSON of every run: the time from process
# start to the first KVM_RUN (for a restore: the guest running again where it stopped), the
# guest's boot marker (for a cold boot: the guest ready for work), resident memory at the first
# KVM_RUN and at its peak; and the wall time until the guest's verdict. Prints medians (min, max)
# and writes the table to bench/results/<date>-snapshot.md. Exits non-zero if a run failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
RESTORES=20 BOOTS=3
while (($#)); do
    case "$1" in
        --restores) RESTORES="$2"; shift 2 ;;
        --boots) BOOTS="$2"; shift 2 ;;
        *) sed -n '2,13p' "$0" >&2; exit 2 ;;
    esac
done
source "$ROOT/bench/lib.sh"
bench_require jq
eval "$("$ROOT/images/build.sh" --print-paths)"
WORK="$(mktemp -d /var/tmp/csvmm-snapbench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
MEM=256
CMDLINE="$CSVMM_GUEST_CMDLINE"

now_ms() { date +%s%3N; }

# run_one KIND N ARGS...: runs csvmm with --stats, checks exit 5, appends a TSV row:
# kind, firstKvmRunMs, guestBootMarkerMs, rssAtFirstKvmRunKiB, peakRssKiB, wallMs
run_one() {
    local kind="$1" n="$2"; shift 2
    local stats="$WORK/$kind-$n.json" t0 t1 code=0
    t0=$(now_ms)
    "$CSVMM" "$@" --stats "$stats" --log-level warning > "$WORK/$kind-$n.out" 2> "$WORK/$kind-$n.err" || code=$?
    t1=$(now_ms)
    if [ "$code" != 5 ]; then
        echo "bench: $kind run $n exited $code (expected the guest's 5)" >&2
        tail -5 "$WORK/$kind-$n.err" >&2
        exit 1
    fi
    jq -r --arg k "$kind" --arg wall "$((t1 - t0))" \
        '[$k, .bootTime.firstKvmRunMs, (.bootTime.guestBootMarkerMs // "-"), .hostMemory.rssAtFirstKvmRunKiB, .hostMemory.peakRssKiB, $wall] | @tsv' \
        "$stats" >> "$WORK/rows.tsv"
}

: > "$WORK/rows.tsv"
for i in $(seq 1 "$BOOTS"); do
    echo "bench: cold boot $i/$BOOTS" >&2
    run_one boot "$i" run --kernel "$CSVMM_VMLINUX" --initrd "$CSVMM_INITRAMFS" --transport mmio --memory "$MEM" \
        --cmdline "$CMDLINE csvmm.test=exit:5"
done

echo "bench: booting once more to take the snapshot" >&2
code=0
"$CSVMM" run --kernel "$CSVMM_VMLINUX" --initrd "$CSVMM_INITRAMFS" --transport mmio --memory "$MEM" \
    --snapshot-to "$WORK/snap" --log-level warning --cmdline "$CMDLINE csvmm.test=snapshot,exit:5" \
    > "$WORK/snap.out" 2> "$WORK/snap.err" || code=$?
[ "$code" = 0 ] || { echo "bench: the snapshot run exited $code" >&2; tail -5 "$WORK/snap.err" >&2; exit 1; }
MEMFILE_KIB=$(du -k "$WORK/snap/vm.mem" | cut -f1)
STATE_BYTES=$(stat -c %s "$WORK/snap/vm.snap")

for i in $(seq 1 "$RESTORES"); do
    echo "bench: restore $i/$RESTORES" >&2
    run_one restore "$i" restore --from "$WORK/snap"
done

# stat KIND COLUMN: "median (min-max)" of that column over the KIND rows
stat() {
    awk -F'\t' -v k="$1" -v c="$2" '$1 == k && $c != "-" { print $c }' "$WORK/rows.tsv" | sort -n | awk '
        { v[NR] = $1 } END {
            if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%g (%g-%g)", m, v[1], v[NR] }'
}
median() { stat "$1" "$2" | cut -d' ' -f1; }

BOOT_READY=$(median boot 3) RESTORE_RUNNING=$(median restore 2)
DATE=$(date +%F)
OUT="$ROOT/bench/results/$DATE-snapshot.md"
{
    echo "# Snapshot restore against a cold boot ($DATE, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
    echo
    echo "csvmm $("$CSVMM" --version | cut -d' ' -f2), ${MEM} MiB guest, microVM kernel + initramfs, virtio-mmio."
    echo "Medians (min-max) of $BOOTS cold boots and $RESTORES restores from one snapshot."
    echo "Snapshot: vm.snap $STATE_BYTES bytes, vm.mem $((MEM)) MiB apparent, ${MEMFILE_KIB} KiB on disk (sparse)."
    echo
    echo "| | cold boot | restore |"
    echo "|---|---|---|"
    echo "| process start to first KVM_RUN (ms) | $(stat boot 2) | $(stat restore 2) |"
    echo "| process start to guest ready for work (ms): boot marker / running again | $(stat boot 3) | $(stat restore 2) |"
    echo "| resident memory at first KVM_RUN (KiB) | $(stat boot 4) | $(stat restore 4) |"
    echo "| peak resident memory (KiB) | $(stat boot 5) | $(stat restore 5) |"
    echo "| process start to the guest's verdict, wall (ms) | $(stat boot 6) | $(stat restore 6) |"
    echo
    echo "Guest ready for work: restore is $(echo "scale=1; $BOOT_READY / $RESTORE_RUNNING" | bc)x sooner than a cold boot."
    echo "After a restore the guest's memory comes in from vm.mem page by page as it is touched"
    echo "(MAP_PRIVATE), so the verdict row includes that warm-up."
} > "$OUT"
cat "$OUT"
