#!/usr/bin/env bash
# Measures the API server candidates (see ApiBench.csproj): NativeAOT binary size, time from
# process start to a socket that answers GET / (or to "ready" for the variants without an API),
# the process's CPU time at that moment, and VmRSS/VmHWM after 1 s idle; medians of RUNS runs.
#
#   bench/api-server/run.sh [RUNS]        default 20
#
# Each variant is built in its own copy of this folder (variants differ in defines and
# references). Output: one line per variant; the README's table is made from it.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${APIBENCH_OUT:-/tmp/csvmm-apibench}"
RUNS="${1:-20}"
VARIANTS=(${APIBENCH_VARIANTS:-none own kestrel-empty kestrel-slim csvmm csvmm-api csvmm-kestrel})
rm -rf "$WORK" && mkdir -p "$WORK"
for v in "${VARIANTS[@]}"; do
    mkdir -p "$WORK/src-$v"
    cp "$HERE/ApiBench.csproj" "$HERE/Program.cs" "$WORK/src-$v/"
    # The variants use csvmm's sources by relative paths: keep them valid from the copy.
    sed -i "s#\.\./\.\./src/#$HERE/../../src/#g" "$WORK/src-$v/ApiBench.csproj"
    cp "$HERE/../../Directory.Build.props" "$WORK/"
    nice dotnet publish "$WORK/src-$v" -c Release -r linux-x64 -p:ApiVariant="$v" -o "$WORK/out/$v" --nologo -v quiet >&2
    rm -f "$WORK/out/$v"/*.dbg
done
args=()
for v in "${VARIANTS[@]}"; do args+=("$v=$WORK/out/$v/apibench-$v"); done
RUNS="$RUNS" python3 "$HERE/measure.py" "${args[@]}"
