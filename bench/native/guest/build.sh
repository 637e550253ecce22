#!/usr/bin/env bash
# Builds the native-speed guest from source with the Debian gcc/binutils:
#   bench/native/guest/build.sh OUT.elf
# Output: a 32-bit ELF (EM_386) whose PT_NOTE carries XEN_ELFNOTE_PHYS32_ENTRY, holding 64-bit
# code (like a multiboot kernel): csvmm boots 32-bit ELFs through PVH, QEMU's -kernel does too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
out="${1:?usage: build.sh OUT.elf}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
CFLAGS=(-O2 -g0 -std=gnu11 -Wall -Wextra -Werror -ffreestanding -nostdlib -static -fno-pie -no-pie
        -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none
        -mno-red-zone -mgeneral-regs-only -mcmodel=small)
gcc "${CFLAGS[@]}" -c entry.S -o "$tmp/entry.o"
gcc "${CFLAGS[@]}" -c guest.c -o "$tmp/guest.o"
ld -nostdlib -static -no-pie -z noexecstack -z max-page-size=4096 --no-warn-rwx-segments -T guest.ld "$tmp/entry.o" "$tmp/guest.o" -o "$tmp/guest64.elf"
objcopy -O elf32-i386 "$tmp/guest64.elf" "$out"
