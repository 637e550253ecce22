#!/usr/bin/env bash
# Fuzzes one target of tests/Fuzz/Csvmm.Fuzz with AFL++ for a given time.
#
#   tests/Fuzz/fuzz.sh TARGET [SECONDS]     TARGET: virtqueue blk net mmio pci boot http api (default 600 s)
#   tests/Fuzz/fuzz.sh --min TARGET         fold the last run's queue into corpus/TARGET (set cover)
#
# Builds the targets in Release, instruments the csvmm assemblies in the copy with SharpFuzz (the
# build outputs in bin/ stay clean) and runs afl-fuzz under nice -n 19 on the committed seed corpus,
# SharpFuzz's fork server keeping one .NET process per fuzzer. Installs afl++ (apt) and the
# SharpFuzz.CommandLine tool on first use; CI never runs this (it replays the corpus, see README).
# Output in $FUZZ_OUT (default tests/Fuzz/out): findings/TARGET/{queue,crashes,hangs,fuzzer_stats}.
# A crash replays (uninstrumented) with: dotnet run --project tests/Fuzz/Csvmm.Fuzz -- TARGET FILE
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${FUZZ_OUT:-$HERE/out}"
SHARPFUZZ_VERSION=2.3.0

die() { echo "fuzz.sh: $*" >&2; exit 1; }

minimize=0
if [ "${1:-}" = "--min" ]; then minimize=1; shift; fi
TARGET="${1:-}"
SECONDS_TO_RUN="${2:-600}"
case "$TARGET" in
    virtqueue|blk|net|mmio|pci|boot|http|api) ;;
    *) die "usage: fuzz.sh [--min] TARGET [SECONDS]; TARGET is one of virtqueue blk net mmio pci boot http api" ;;
esac

if ! command -v afl-fuzz >/dev/null; then
    echo "fuzz.sh: installing afl++" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null
fi
SHARPFUZZ="$OUT/tools/sharpfuzz"
if [ ! -x "$SHARPFUZZ" ]; then
    dotnet tool install SharpFuzz.CommandLine --version "$SHARPFUZZ_VERSION" --tool-path "$OUT/tools" >/dev/null
fi

export AFL_SKIP_BIN_CHECK=1            # the fork server is SharpFuzz's, inside dotnet
export AFL_NO_AFFINITY=1               # the cores are shared: do not pin
export AFL_SKIP_CPUFREQ=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1

if [ "$minimize" = 1 ]; then
    # Greedy set cover over afl-showmap's edge tuples: the fewest small files that keep every edge
    # the run reached (capped at $FUZZ_CORPUS_MAX), replacing the fuzzer-found part of the corpus.
    queue="$OUT/findings/$TARGET/default/queue"
    [ -d "$queue" ] || die "no queue at $queue: fuzz $TARGET first"
    maps="$OUT/maps/$TARGET"
    rm -rf "$maps"
    all="$OUT/maps/$TARGET.inputs"
    rm -rf "$all" && mkdir -p "$all"
    cp "$queue"/id:* "$all/"
    cp "$HERE/corpus/$TARGET"/* "$all/"
    nice -n 19 afl-showmap -q -i "$all" -o "$maps" -t 10000 -m none -- dotnet "$OUT/bin/csvmm-fuzz.dll" "$TARGET" >/dev/null 2>&1 || true
    python3 - "$all" "$maps" "$HERE/corpus/$TARGET" "${FUZZ_CORPUS_MAX:-30}" <<'PY'
import hashlib, os, shutil, sys
inputs, maps, corpus, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
edges = {}
for name in os.listdir(maps):
    with open(os.path.join(maps, name)) as f:
        edges[name] = {line.strip() for line in f if line.strip()}
size = lambda n: os.path.getsize(os.path.join(inputs, n))
# Seeds and crash regressions stay; their edges are covered already.
kept = lambda n: n.startswith(("seed-", "crash-"))
covered = set().union(*(e for n, e in edges.items() if kept(n)))
chosen = []
while len(chosen) < cap:
    best = max((n for n in edges if not kept(n) and n not in chosen),
               key=lambda n: (len(edges[n] - covered), -size(n)), default=None)
    if best is None or not edges[best] - covered:
        break
    chosen.append(best)
    covered |= edges[best]
for old in os.listdir(corpus):
    if not kept(old):
        os.remove(os.path.join(corpus, old))
for n in chosen:
    data = open(os.path.join(inputs, n), "rb").read()
    with open(os.path.join(corpus, hashlib.sha1(data).hexdigest()[:12]), "wb") as f:
        f.write(data)
left = set().union(*edges.values()) - covered
print(f"{len(chosen)} files added to the seeds and crash regressions; {len(covered)} tuples covered, {len(left)} left out by the cap")
PY
    echo "fuzz.sh: corpus/$TARGET now has $(ls "$HERE/corpus/$TARGET" | wc -l) files, $(du -sh "$HERE/corpus/$TARGET" | cut -f1)"
    exit 0
fi

rm -rf "$OUT/bin"
nice -n 19 dotnet build "$HERE/Csvmm.Fuzz" -c Release -o "$OUT/bin" --nologo -v quiet >/dev/null
for dll in Devices.dll Kvm.Interop.dll csvmm.dll; do
    "$SHARPFUZZ" "$OUT/bin/$dll" >/dev/null
done

rm -rf "$OUT/findings/$TARGET"
mkdir -p "$OUT/findings"
echo "fuzz.sh: fuzzing $TARGET for $SECONDS_TO_RUN s" >&2
AFL_NO_UI=1 nice -n 19 afl-fuzz -V "$SECONDS_TO_RUN" -i "$HERE/corpus/$TARGET" -o "$OUT/findings/$TARGET" \
    -t 5000 -m none -- dotnet "$OUT/bin/csvmm-fuzz.dll" "$TARGET" >"$OUT/findings/$TARGET.log" 2>&1 || {
    tail -30 "$OUT/findings/$TARGET.log" >&2
    die "afl-fuzz failed (log: $OUT/findings/$TARGET.log)"
}

stats="$OUT/findings/$TARGET/default/fuzzer_stats"
field() { sed -n "s/^$1 *: *//p" "$stats"; }
crashes=$(ls "$OUT/findings/$TARGET/default/crashes" 2>/dev/null | grep -c '^id' || true)
hangs=$(ls "$OUT/findings/$TARGET/default/hangs" 2>/dev/null | grep -c '^id' || true)
echo "$TARGET: run_time $(field run_time) s, execs_done $(field execs_done), execs_per_sec $(field execs_per_sec)," \
     "corpus_count $(field corpus_count), bitmap_cvg $(field bitmap_cvg), crashes $crashes, hangs $hangs"
