#!/usr/bin/env bash
# Builds the "emulated devices" guest kernel (kernel-emulated.config) on demand, for
# bench/emulated: the microVM kernel's recipe (same source package, patches, tinyconfig +
# kernel.config) plus kernel-emulated.config. Prints the path of its vmlinux (ELF with the PVH
# note, as QEMU's -kernel and csvmm boot it). Cached in ${CSVMM_CACHE:-/var/cache/csvmm}/emulated/<key>/.
#   images/build-emulated-kernel.sh      (~10 CPU-minutes the first time, progress on stderr)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${CSVMM_CACHE:-/var/cache/csvmm}"
JOBS="${CSVMM_JOBS:-2}"
log() { printf '[emulated-kernel %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
"$HERE/build.sh" >/dev/null # packages, and the recipe this builds on
FILES=(kernel.config kernel-emulated.config build-emulated-kernel.sh)
while IFS= read -r f; do FILES+=("$f"); done < <(cd "$HERE" && find patches -type f | LC_ALL=C sort)
KEY="$( (cd "$HERE" && for f in "${FILES[@]}"; do printf '%s\n' "$f"; sha256sum < "$f"; done
         dpkg-query -W -f='${Package}=${Version}\n' linux-source-6.1 gcc) | sha256sum | cut -c1-16)"
OUT="$CACHE/emulated/$KEY"
if [ -f "$OUT/vmlinux" ]; then echo "$OUT/vmlinux"; exit 0; fi
mkdir -p "$CACHE/emulated"
exec 9>"$CACHE/emulated/.lock"
flock 9
if [ -f "$OUT/vmlinux" ]; then echo "$OUT/vmlinux"; exit 0; fi
export KBUILD_BUILD_TIMESTAMP='1970-01-01 00:00:00 UTC' KBUILD_BUILD_USER=csvmm \
       KBUILD_BUILD_HOST=csvmm KBUILD_BUILD_VERSION=1 LC_ALL=C SOURCE_DATE_EPOCH=0
TREE="$CACHE/emulated/tree-$KEY"
if [ ! -f "$TREE/.configured" ]; then
    rm -rf "$TREE"; mkdir -p "$TREE"
    log "unpacking linux-source-6.1"
    tar -C "$TREE" --strip-components=1 -xf /usr/src/linux-source-6.1.tar.xz
    for p in "$HERE"/patches/*.patch; do patch -d "$TREE" -p1 --batch --forward -s < "$p"; done
    cat "$HERE/kernel.config" "$HERE/kernel-emulated.config" > "$TREE/csvmm.config"
    (cd "$TREE" && make -s ARCH=x86_64 tinyconfig && scripts/kconfig/merge_config.sh -m .config csvmm.config \
        && make -s ARCH=x86_64 olddefconfig) > "$TREE/config.log" 2>&1 || { cat "$TREE/config.log" >&2; exit 1; }
    bad=0
    while IFS= read -r line; do
        [[ "$line" =~ ^CONFIG_ ]] || continue
        grep -qxF -- "$line" "$TREE/.config" || { log "config: wanted $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$TREE/.config" || echo absent)"; bad=1; }
    done < "$TREE/csvmm.config"
    ((bad == 0)) || exit 1
    touch "$TREE/.configured"
fi
log "building vmlinux with make -j$JOBS"
nice -n 10 make -C "$TREE" -s ARCH=x86_64 -j"$JOBS" vmlinux >&2
mkdir -p "$OUT.tmp"
cp "$TREE/vmlinux" "$TREE/.config" "$OUT.tmp/"
rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
rm -rf "$TREE"
echo "$OUT/vmlinux"
