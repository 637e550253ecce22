#!/usr/bin/env bash
# csvmm build entry point.
#
#   ./build.sh           install what is missing, publish csvmm (NativeAOT) to out/csvmm,
#                        build the guest images (cached outside the clone)
#   ./build.sh demo      boot the default guest (bzImage + initramfs) on this terminal:
#                        a shell on the serial console; 'reboot -f' (or Ctrl-A x) ends it
#   ./build.sh test      run every test project; ends with "N passed, M failed"
#   ./build.sh bench     run the benchmarks (bench/run.sh [--quick]: csvmm next to QEMU microvm)
#   ./build.sh bench native [--quick]   the device path at native guest speed (bench/native/run.sh):
#                        csvmm, QEMU microvm and the host's own I/O on the same work
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT="$PWD"
OUT="$ROOT/out"

log() { echo "build.sh: $*" >&2; }

need_packages() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then log "need root to apt-get install ${missing[*]}"; exit 1; fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}

prerequisites() {
    command -v dotnet >/dev/null || { log "the .NET 10 SDK (dotnet) is required"; exit 1; }
    # gcc/clang-free NativeAOT link uses gcc here; zlib for the runtime; qemu is the reference VMM
    # for image checks and benchmarks; iproute2 + netcat-openbsd (nc -N) for the network tests;
    # curl drives the Firecracker-compatible API over its Unix socket in the API tests; fio is the
    # host's own I/O in the native-speed benchmark.
    need_packages gcc libc6-dev zlib1g-dev qemu-system-x86 iproute2 netcat-openbsd bc jq util-linux e2fsprogs procps curl fio
}

publish() {
    log "publishing csvmm with NativeAOT"
    dotnet publish src/Vmm/Vmm.csproj -c Release -r linux-x64 -o "$OUT" -p:PublishAot=true --nologo -v quiet >&2
    rm -f "$OUT"/*.dbg
    log "csvmm: $OUT/csvmm ($(du -h "$OUT/csvmm" | cut -f1))"
}

images_env() { "$ROOT/images/build.sh" --print-paths; }

run_tests() {
    eval "$(images_env)"
    export CSVMM_BZIMAGE CSVMM_VMLINUX CSVMM_INITRAMFS CSVMM_ROOTFS CSVMM_GUEST_CMDLINE
    [ -x "$OUT/csvmm" ] && export CSVMM_BIN="$OUT/csvmm"
    local logf rc=0
    logf="$(mktemp)"
    dotnet test "$ROOT/Vmm.sln" --nologo 2>&1 | tee "$logf" || rc=$?
    # Sum dotnet test's per-project summaries into one plain line for CI. Two formats exist:
    # "Passed!  - Failed: F, Passed: P, Skipped: S, ..." and a "Total tests:" block.
    awk '
        /(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+/ {
            line = $0; gsub(/,/, "", line); n = split(line, w, /[ \t]+/)
            for (i = 1; i < n; i++) {
                if (w[i] == "Failed:") f += w[i+1]; if (w[i] == "Passed:") p += w[i+1]; if (w[i] == "Skipped:") s += w[i+1] }
            inline = 1; next
        }
        /^Total tests:/ { block = 1; next }
        block && /^ +Passed: +[0-9]+/ { bp += $2; next }
        block && /^ +Failed: +[0-9]+/ { bf += $2; next }
        block && /^ +Skipped: +[0-9]+/ { bs += $2; next }
        block && /^ +Total time:/ { block = 0 }
        END {
            if (!inline) { p = bp; f = bf; s = bs }
            printf "%d passed, %d failed, %d skipped\n", p, f, s > "/dev/stderr"
            printf "%d passed, %d failed\n", p, f
        }
    ' "$logf"
    rm -f "$logf"
    return "$rc"
}

case "${1:-all}" in
    all)
        prerequisites
        publish
        "$ROOT/images/build.sh" >&2
        log "done: run './build.sh demo' to boot the default guest, './build.sh test' to test"
        ;;
    demo)
        [ -x "$OUT/csvmm" ] || { prerequisites; publish; }
        eval "$(images_env)"
        exec "$OUT/csvmm" run --kernel "$CSVMM_BZIMAGE" --initrd "$CSVMM_INITRAMFS" \
            --cmdline "$CSVMM_GUEST_CMDLINE csvmm.test=shell" "${@:2}"
        ;;
    test)
        run_tests
        ;;
    bench)
        [ -x "$OUT/csvmm" ] || { prerequisites; publish; }
        if [ "${2:-}" = native ]; then exec "$ROOT/bench/native/run.sh" "${@:3}"; fi
        exec "$ROOT/bench/run.sh" "${@:2}"
        ;;
    *)
        sed -n '2,12p' "$0" >&2
        exit 2
        ;;
esac
