#!/usr/bin/env bash
# csvmm build entry point.
#
#   ./build.sh           install what is missing, publish csvmm (NativeAOT) to out/csvmm,
#                        build the guest images (cached outside the clone)
#   ./build.sh demo      boot the default guest (PCI bzImage + initramfs) on this terminal:
#                        a shell on the serial console; 'reboot -f' (or Ctrl-A x) ends it
#   ./build.sh test      run every test project (unit tests, then boot tests one at a time);
#                        ends with "N passed, M failed, S skipped"; with CI=true a skipped boot
#                        test fails the run
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

# Sums the outcomes in the trx files under $1 (dotnet test --logger trx): prints "P F S" on
# stdout, and one line per skipped test, "SKIPPED <test>: <reason>", on stderr.
trx_outcomes() {
    find "$1" -name '*.trx' -print0 | xargs -0r awk '
        function attr(line, name,   m) {
            if (match(line, name "=\"[^\"]*\"")) { m = substr(line, RSTART + length(name) + 2, RLENGTH - length(name) - 3); return unxml(m) }
            return ""
        }
        function unxml(s) {
            gsub(/&quot;/, "\"", s); gsub(/&apos;/, "'"'"'", s); gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&amp;/, "\\&", s)
            return s
        }
        /<UnitTestResult / {
            outcome = attr($0, "outcome")
            if (outcome == "Passed") p++
            else if (outcome == "NotExecuted") { s++; skipped = attr($0, "testName"); reason = "" }
            else f++
            if ($0 ~ /\/>[ \t]*$/ && skipped != "") { print "SKIPPED " skipped ": (no reason given)" > "/dev/stderr"; skipped = "" }
            next
        }
        skipped != "" && /<Message>/ {
            reason = $0; sub(/.*<Message>/, "", reason); sub(/<\/Message>.*/, "", reason)
            print "SKIPPED " skipped ": " unxml(reason) > "/dev/stderr"; skipped = ""
        }
        skipped != "" && /<\/UnitTestResult>/ { print "SKIPPED " skipped ": (no reason given)" > "/dev/stderr"; skipped = "" }
        END { printf "%d %d %d\n", p, f, s }
    '
}

# Unit tests first, every project at once; then the boot tests ([Trait("Category", "Boot")]: a
# real guest under csvmm or QEMU), one project after the other and, inside a project, one guest at
# a time (one xunit collection), so that no guest is starved by another on a 2-core host. Ends with
# the plain line "N passed, M failed, S skipped". Under CI (CI=true) a skipped boot test fails the
# run: a CI without boots proves nothing about a VMM.
run_tests() {
    eval "$(images_env)"
    export CSVMM_BZIMAGE CSVMM_VMLINUX CSVMM_PCI_BZIMAGE CSVMM_PCI_VMLINUX CSVMM_INITRAMFS CSVMM_ROOTFS CSVMM_GUEST_CMDLINE
    [ -x "$OUT/csvmm" ] && export CSVMM_BIN="$OUT/csvmm"
    local results rc=0 projects=() boot=() p name start
    results="$(mktemp -d)"
    for p in "$ROOT"/tests/*/*.csproj; do
        grep -q Microsoft.NET.Test.Sdk "$p" || continue
        projects+=("$p")
        grep -rqs --include='*.cs' 'BootTest.TraitValue' "$(dirname "$p")" && boot+=("$p")
    done
    start=$SECONDS
    dotnet build "$ROOT/Vmm.sln" --nologo -v quiet || { log "dotnet build failed"; rc=1; }
    log "unit tests: ${#projects[@]} projects in parallel"
    for p in "${projects[@]}"; do
        name="$(basename "$p" .csproj)"
        dotnet test "$p" --no-build --nologo --filter 'Category!=Boot' --logger trx \
            --results-directory "$results/unit/$name" >"$results/$name.unit.log" 2>&1 &
    done
    for p in "${projects[@]}"; do wait -n || rc=1; done
    for p in "${projects[@]}"; do cat "$results/$(basename "$p" .csproj).unit.log"; done
    log "unit tests took $((SECONDS - start)) s; boot tests: ${#boot[@]} projects, one at a time"
    start=$SECONDS
    for p in "${boot[@]}"; do
        dotnet test "$p" --no-build --nologo --filter 'Category=Boot' --logger trx \
            --results-directory "$results/boot/$(basename "$p" .csproj)" || rc=1
    done
    log "boot tests took $((SECONDS - start)) s"

    local unit bootc skipped_boot
    unit=($(trx_outcomes "$results/unit" 2>"$results/unit.skipped"))
    bootc=($(trx_outcomes "$results/boot" 2>"$results/boot.skipped"))
    cat "$results/unit.skipped" "$results/boot.skipped" >&2
    ((unit[0] + bootc[0] + unit[1] + bootc[1] + unit[2] + bootc[2] > 0)) || { log "no test results found"; rc=1; }
    echo "$((unit[0] + bootc[0])) passed, $((unit[1] + bootc[1])) failed, $((unit[2] + bootc[2])) skipped"
    skipped_boot="$(cat "$results/boot.skipped")"
    if [ "${CI:-}" = true ] && [ -n "$skipped_boot" ]; then
        log "CI: ${bootc[2]} boot test(s) skipped; under CI every boot test must run:"
        printf '%s\n' "$skipped_boot" >&2
        rc=1
    fi
    rm -rf "$results"
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
        # The PCI kernel: csvmm's default transport is virtio-pci (the images' microVM kernel
        # has only virtio-mmio and needs --transport mmio).
        exec "$OUT/csvmm" run --kernel "$CSVMM_PCI_BZIMAGE" --initrd "$CSVMM_INITRAMFS" \
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
