#!/usr/bin/env bash
# csvmm's own start-up cost: process start -> first KVM_RUN, and peak resident memory minus guest
# RAM, for the images' bzImage and vmlinux (each with the initramfs), N runs each (default 20).
#
#   bench/startup/run.sh [--runs N] [--baseline BIN]
#
# Every run is `csvmm run ... --timeout 0.3 --console none --stats FILE`: the guest is stopped
# 0.3 s after start, long after the first KVM_RUN and after the loading that sets the non-guest
# peak. --baseline BIN measures another csvmm binary (e.g. an older commit's NativeAOT publish)
# in the same run, alternating with this one, so both see the same host load. Prints medians
# (min-max) and writes the table to bench/results/<date>-startup.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
RUNS=20 BASELINE=
while (($#)); do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --baseline) BASELINE="$2"; shift 2 ;;
        *) sed -n '2,11p' "$0" >&2; exit 2 ;;
    esac
done
source "$ROOT/bench/lib.sh"
bench_require jq
eval "$("$ROOT/images/build.sh" --print-paths)"
WORK="$(mktemp -d /var/tmp/csvmm-startbench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
: > "$WORK/rows.tsv"

# The images' kernel has virtio-mmio only; a baseline from before virtio-pci has no --transport.
declare -A TRANSPORT # binary -> its transport option, asked once
for bin in "$CSVMM" ${BASELINE:+"$BASELINE"}; do
    TRANSPORT[$bin]=""
    "$bin" run --help 2>&1 | grep -q -- --transport && TRANSPORT[$bin]="--transport mmio"
done

# one LABEL BIN KERNEL: one run; appends label, kernel kind, firstKvmRunMs, peakRssWithoutGuestRamKiB
one() {
    local label="$1" bin="$2" kernel="$3" kind="$4" stats="$WORK/s.json"
    rm -f "$stats"
    # shellcheck disable=SC2086 # the option is two words or none
    "$bin" run --kernel "$kernel" --initrd "$CSVMM_INITRAMFS" ${TRANSPORT[$bin]} --timeout 0.3 --console none \
        --log-level off --stats "$stats" > /dev/null 2>&1 || true
    [ -s "$stats" ] || { echo "bench: $label wrote no --stats for $kind" >&2; exit 1; }
    jq -r --arg l "$label" --arg k "$kind" '[$l, $k, .bootTime.firstKvmRunMs, .hostMemory.peakRssWithoutGuestRamKiB] | @tsv' "$stats" >> "$WORK/rows.tsv"
}

for i in $(seq 1 "$RUNS"); do
    for kind in bzImage vmlinux; do
        kernel="$CSVMM_BZIMAGE"; [ "$kind" = vmlinux ] && kernel="$CSVMM_VMLINUX"
        one current "$CSVMM" "$kernel" "$kind"
        [ -n "$BASELINE" ] && one baseline "$BASELINE" "$kernel" "$kind"
    done
done

stat() { # LABEL KIND COLUMN
    awk -F'\t' -v l="$1" -v k="$2" -v c="$3" '$1 == l && $2 == k { print $c }' "$WORK/rows.tsv" | sort -n | awk '
        { v[NR] = $1 } END {
            if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%g (%g-%g)", m, v[1], v[NR] }'
}
DATE=$(date +%F)
OUT="$ROOT/bench/results/$DATE-startup.md"
{
    echo "# csvmm start-up ($DATE, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg) at the end)"
    echo
    echo "Medians (min-max) of $RUNS runs per row; each run: csvmm run --kernel K --initrd initramfs --timeout 0.3."
    echo "current: $("$CSVMM" --version)${BASELINE:+; baseline: $BASELINE}"
    echo
    echo "| kernel | binary | process start -> first KVM_RUN (ms) | peak RSS minus guest RAM (KiB) |"
    echo "|---|---|---|---|"
    for kind in bzImage vmlinux; do
        [ -n "$BASELINE" ] && echo "| $kind | baseline | $(stat baseline $kind 3) | $(stat baseline $kind 4) |"
        echo "| $kind | current | $(stat current $kind 3) | $(stat current $kind 4) |"
    done
} > "$OUT"
cat "$OUT"
