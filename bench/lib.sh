# Sourced by the bench/ scripts once they have set ROOT (the repository): the csvmm under test
# (CSVMM_BIN, else ./build.sh's NativeAOT publish) and a check for the tools a script needs.

CSVMM="${CSVMM_BIN:-$ROOT/out/csvmm}"

# bench_require TOOL...: stop with one line unless csvmm and every TOOL are there.
bench_require() {
    [ -x "$CSVMM" ] || { echo "bench: $CSVMM missing; run ./build.sh first" >&2; exit 1; }
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null ||
            { echo "bench: $tool missing; run ./build.sh first (it installs all but perf: apt-get install linux-perf)" >&2; exit 1; }
    done
}
