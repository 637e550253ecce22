#!/usr/bin/env bash
# Build the csvmm guest images (kernel + initramfs + ext4 root) from Debian
# packages. Outputs go to ${CSVMM_CACHE:-/var/cache/csvmm}/images/<key>/,
# where <key> hashes this recipe and the versions of the packages it uses.
#
#   images/build.sh                 build if needed (progress on stderr)
#   images/build.sh --print-paths   build if needed, then print shell-sourceable
#                                   CSVMM_* lines on stdout (also in paths.env)
#
# Two kernels from one recipe: the microVM kernel (tinyconfig + kernel.config,
# virtio-mmio) and the PCI kernel (tinyconfig + kernel.config +
# kernel-pci.config: virtio-pci with MSI-X, no virtio-mmio). Both boot the same
# initramfs and ext4 root.
set -euo pipefail

PRINT_PATHS=0
for a in "$@"; do
    case "$a" in
        --print-paths) PRINT_PATHS=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument: $a" >&2; exit 2 ;;
    esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${CSVMM_CACHE:-/var/cache/csvmm}"
JOBS="${CSVMM_JOBS:-2}"
log() { printf '[images %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Options every guest needs on the csvmm host (nested KVM, PVM backend): the
# instruction emulator lacks XRSTOR, CLAC/STAC, POPCNT, ... (see README.md).
# They are parsed by cpu_parse_early_param() from early_cpu_init(), which runs
# before setup_arch() merges CONFIG_CMDLINE, so they cannot be built in.
GUEST_CMDLINE='noxsave clearcpuid=popcnt,rdpid,clflushopt,clwb,smap,smep,fsgsbase,pcid,invpcid,cx16'

# ---------------------------------------------------------------- packages
PKGS=(linux-source-6.1 busybox-static gcc libc6-dev make flex bison libelf-dev
      bc lz4 cpio e2fsprogs xz-utils patch)
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing missing packages: ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "need root to apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
        || { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
fi
pkgver() { dpkg-query -W -f='${Package}=${Version}\n' "$1"; }

# ---------------------------------------------------------------- cache key
# Files that affect the outputs (README.md, qemu-boot.sh do not).
RECIPE_FILES=(build.sh kernel.config kernel-pci.config)
while IFS= read -r f; do RECIPE_FILES+=("$f"); done < <(
    cd "$HERE" && find patches guest -type f | LC_ALL=C sort)
PKGVERS="$(for p in linux-source-6.1 busybox-static gcc libc6-dev e2fsprogs; do pkgver "$p"; done)"
recipe_hash() { # files...
    (cd "$HERE" && for f in "$@"; do printf '%s\n' "$f"; sha256sum < "$f"; done
     printf '%s\n' "$PKGVERS") | sha256sum | cut -c1-16
}
KEY="$(recipe_hash "${RECIPE_FILES[@]}")"
KERNEL_FILES=(kernel.config)
while IFS= read -r f; do KERNEL_FILES+=("$f"); done < <(
    cd "$HERE" && find patches -type f | LC_ALL=C sort)
# Bump when the kernel steps below change (the kernel trees are keyed
# separately so that user-land changes do not rebuild them).
KERNEL_RECIPE=2
KKEY="$(PKGVERS="$PKGVERS kernel-recipe=$KERNEL_RECIPE" recipe_hash "${KERNEL_FILES[@]}")"
PCI_KERNEL_RECIPE=1
PKKEY="$(PKGVERS="$PKGVERS pci-kernel-recipe=$PCI_KERNEL_RECIPE" recipe_hash "${KERNEL_FILES[@]}" kernel-pci.config)"

OUT="$CACHE/images/$KEY"
print_paths() {
    cat "$OUT/paths.env"
}

if [ -f "$OUT/paths.env" ]; then
    log "up to date: $OUT"
    ((PRINT_PATHS)) && print_paths
    exit 0
fi

mkdir -p "$CACHE/images" "$CACHE/work"
# One builder at a time (tests may call this concurrently).
exec 9>"$CACHE/images/.lock"
log "waiting for build lock" ; flock 9
if [ -f "$OUT/paths.env" ]; then
    log "up to date (built by another process): $OUT"
    ((PRINT_PATHS)) && print_paths
    exit 0
fi

T0=$SECONDS
export KBUILD_BUILD_TIMESTAMP='1970-01-01 00:00:00 UTC' KBUILD_BUILD_USER=csvmm \
       KBUILD_BUILD_HOST=csvmm KBUILD_BUILD_VERSION=1 LC_ALL=C SOURCE_DATE_EPOCH=0

# ---------------------------------------------------------------- kernels
# build_kernel DIR NAME FRAGMENT...: unpack linux-source-6.1 into DIR, apply
# patches/, configure with `make tinyconfig` + the fragments merged in order
# (a later fragment wins), verify every fragment line, make bzImage.
build_kernel() {
    local kdir="$1" name="$2" t0=$SECONDS; shift 2
    local frags=("$@") f i
    [ -f "$kdir/.csvmm-built" ] && return 0
    if [ ! -f "$kdir/.csvmm-configured" ]; then
        rm -rf "$kdir" "$kdir.tmp"
        mkdir -p "$kdir.tmp"
        log "$name: unpacking /usr/src/linux-source-6.1.tar.xz"
        tar -C "$kdir.tmp" --strip-components=1 -xf /usr/src/linux-source-6.1.tar.xz
        for p in "$HERE"/patches/*.patch; do
            log "$name: applying $(basename "$p")"
            patch -d "$kdir.tmp" -p1 --batch --forward --no-backup-if-mismatch -s < "$p" >&2
        done
        log "$name: configuring (tinyconfig + ${frags[*]})"
        local merge=()
        for i in "${!frags[@]}"; do
            # the first fragment keeps its historical name (part of the tree)
            if ((i == 0)); then f=csvmm.config; else f="csvmm-$i.config"; fi
            cp "$HERE/${frags[$i]}" "$kdir.tmp/$f"
            merge+=("$f")
        done
        (cd "$kdir.tmp" && make -s ARCH=x86_64 tinyconfig &&
            scripts/kconfig/merge_config.sh -m .config "${merge[@]}" &&
            make -s ARCH=x86_64 olddefconfig) > "$kdir.tmp/csvmm-config.log" 2>&1 \
            || { cat "$kdir.tmp/csvmm-config.log" >&2; die "$name: kernel configuration failed"; }
        # every symbol named in a fragment must exist in this kernel's
        # Kconfig (catches typos and renamed options, e.g. CPU_MITIGATIONS)
        (cd "$kdir.tmp" && find . -name 'Kconfig*' -print0 | xargs -0 grep -hoE '^[[:space:]]*(menu)?config [A-Za-z0-9_]+' \
            | awk '{print "CONFIG_" $2}' | LC_ALL=C sort -u) > "$kdir.tmp/csvmm-symbols"
        # the wanted value of each symbol: its line in the last fragment naming it
        local -A want=()
        local order=() line sym bad=0
        for f in "${frags[@]}"; do
            while IFS= read -r line; do
                if [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)= || "$line" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
                    sym="${BASH_REMATCH[1]}"
                    [ -n "${want[$sym]+x}" ] || order+=("$sym")
                    want[$sym]="$line"
                fi
            done < "$HERE/$f"
            while IFS= read -r sym; do
                grep -qxF "$sym" "$kdir.tmp/csvmm-symbols" || { log "config: $sym ($f) does not exist in this kernel"; bad=1; }
            done < <(grep -oE '^(# )?CONFIG_[A-Za-z0-9_]+' "$HERE/$f" | sed 's/^# //')
        done
        for sym in "${order[@]}"; do
            line="${want[$sym]}"
            if [[ "$line" == CONFIG_* ]]; then
                grep -qxF -- "$line" "$kdir.tmp/.config" || {
                    log "config: wanted $line, got: $(grep -E "^(# )?$sym[= ]" "$kdir.tmp/.config" || echo '(absent)')"
                    bad=1; }
            elif grep -qE "^$sym=" "$kdir.tmp/.config"; then
                log "config: wanted $line, got: $(grep -E "^$sym=" "$kdir.tmp/.config")"
                bad=1
            fi
        done
        ((bad == 0)) || die "$name: kernel config verification failed (see above)"
        touch "$kdir.tmp/.csvmm-configured"
        mv "$kdir.tmp" "$kdir"
    fi
    log "$name: building kernel with make -j$JOBS (a few minutes)"
    make -C "$kdir" -s ARCH=x86_64 -j"$JOBS" bzImage >&2
    touch "$kdir/.csvmm-built"
    log "$name: kernel built in $((SECONDS - t0)) s"
}

KDIR="$CACHE/work/kernel-$KKEY"
PKDIR="$CACHE/work/kernel-pci-$PKKEY"
build_kernel "$KDIR" "microVM kernel" kernel.config
build_kernel "$PKDIR" "PCI kernel" kernel.config kernel-pci.config

# ---------------------------------------------------------------- user land
TMP="$(mktemp -d "$CACHE/images/.tmp-$KEY.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
log "building csvmm-guest"
gcc -static -O2 -Wall -Wextra -o "$TMP/csvmm-guest" "$HERE/guest/csvmm-guest.c"
strip "$TMP/csvmm-guest"
gcc -O2 -o "$TMP/gen_init_cpio" "$KDIR/usr/gen_init_cpio.c"

BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (busybox-static)"
mapfile -t APPLETS < <("$BUSYBOX" --list | LC_ALL=C sort -u)
INITRAMFS_APPLETS=(sh ash cat cttyhack dd dmesg echo env ifconfig ip ls mkdir mount
    ping poweroff ps reboot setsid sha256sum sleep sync umount)

# Initramfs: gen_init_cpio creates device nodes without root, uncompressed.
{
    echo "dir /bin 0755 0 0"
    echo "dir /sbin 0755 0 0"
    for d in dev proc sys tmp mnt root etc; do echo "dir /$d 0755 0 0"; done
    echo "nod /dev/console 0600 0 0 c 5 1"
    echo "nod /dev/null 0666 0 0 c 1 3"
    echo "file /bin/busybox $BUSYBOX 0755 0 0"
    echo "file /bin/csvmm-guest $TMP/csvmm-guest 0755 0 0"
    echo "file /init $HERE/guest/init 0755 0 0"
    echo "slink /sbin/init /init 0777 0 0"
    # Each initramfs entry costs ~30 ms of (emulated) kernel time to unpack:
    # all ~400 applet links took 12 s. busybox ash runs applets without links
    # (FEATURE_SH_STANDALONE), so only a few common names are linked here;
    # the ext4 root image has them all.
    for a in "${INITRAMFS_APPLETS[@]}"; do
        echo "slink /bin/$a busybox 0777 0 0"
    done
} > "$TMP/initramfs.list"
log "writing initramfs.cpio (uncompressed newc)"
(cd "$TMP" && ./gen_init_cpio -t 0 initramfs.list > initramfs.cpio)

# ext4 root: the same user land; devtmpfs is mounted on /dev by the kernel.
R="$TMP/root"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,mnt,root,etc}
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
cp "$TMP/csvmm-guest" "$R/bin/csvmm-guest"
install -m 0755 "$HERE/guest/init" "$R/init"
ln -s /init "$R/sbin/init"
for a in "${APPLETS[@]}"; do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
find "$R" -exec touch -h -d @0 {} +
log "writing rootfs.ext4 (64 MiB, mkfs.ext4 -d)"
E2FSPROGS_FAKE_TIME=1 mkfs.ext4 -q -F -L csvmm-root -U 6b8f3c2e-1d2a-4c7e-9a1b-c5f0e0d1a2b3 \
    -E root_owner=0:0,hash_seed=0b5e3a8c-4f1d-4a6e-8b2c-7d9e0f1a2b3c \
    -d "$R" "$TMP/rootfs.ext4" 64M >&2
rm -rf "$R"

cp "$KDIR/arch/x86/boot/bzImage" "$TMP/bzImage"
cp "$KDIR/vmlinux" "$TMP/vmlinux"
cp "$KDIR/.config" "$TMP/kernel.config"
cp "$PKDIR/arch/x86/boot/bzImage" "$TMP/pci-bzImage"
cp "$PKDIR/vmlinux" "$TMP/pci-vmlinux"
cp "$PKDIR/.config" "$TMP/pci-kernel.config"
rm -f "$TMP/gen_init_cpio"

q() { printf '%q' "$1"; }
{
    echo "CSVMM_IMAGES_DIR=$(q "$OUT")"
    echo "CSVMM_BZIMAGE=$(q "$OUT/bzImage")"
    echo "CSVMM_VMLINUX=$(q "$OUT/vmlinux")"
    echo "CSVMM_PCI_BZIMAGE=$(q "$OUT/pci-bzImage")"
    echo "CSVMM_PCI_VMLINUX=$(q "$OUT/pci-vmlinux")"
    echo "CSVMM_INITRAMFS=$(q "$OUT/initramfs.cpio")"
    echo "CSVMM_ROOTFS=$(q "$OUT/rootfs.ext4")"
    echo "CSVMM_GUEST_CMDLINE='$GUEST_CMDLINE'"
} > "$TMP/paths.env"
chmod 0755 "$TMP"
rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
# Prune: keep the newest 4 kernel trees (1.6 GB each, two per recipe; only
# builds use them, and builds hold the lock) and the newest 4 image sets (older
# ones only when untouched for a day: a running VM may still use them).
(cd "$CACHE/work" && ls -1dt kernel-*/ 2>/dev/null | tail -n +5 | while read -r d; do
    [ "${d%/}" = "kernel-$KKEY" ] || [ "${d%/}" = "kernel-pci-$PKKEY" ] ||
        { log "pruning $CACHE/work/$d"; rm -rf "$d"; }; done) || true
(cd "$CACHE/images" && ls -1dt -- */ 2>/dev/null | tail -n +5 | while read -r d; do
    [ "${d%/}" = "$KEY" ] || [ -z "$(find "$d" -maxdepth 0 -mmin +1440)" ] ||
        { log "pruning $CACHE/images/$d"; rm -rf "$d"; }; done) || true
log "done in $((SECONDS - T0)) s: $OUT"
ls -l "$OUT" >&2
((PRINT_PATHS)) && print_paths
exit 0
