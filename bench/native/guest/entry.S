/*
 * PVH entry of the native-speed guest (xen docs/misc/pvh.pandoc): the VMM enters pvh_start in
 * 32-bit protected mode, paging off, EBX = hvm_start_info. This switches to long mode with the
 * static page tables below (the first 4 GiB identity-mapped with 2 MiB pages, all user-accessible,
 * the MMIO hole uncached), calls setup() in ring 0 and then enters user_main() in ring 3 with
 * IOPL 3 and interrupts off. Where the host does not honour IOPL for guest user mode (KVM's PVM
 * backend runs it in host ring 3), an OUT from ring 3 raises #GP and exception() performs it. Everything after that runs natively on a nested-KVM host whose
 * guest-kernel code is emulated.
 */
#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define PTE_2M_USER 0x87            /* present, writable, user, 2 MiB page */
#define PTE_2M_USER_UC 0x9F         /* the same + PWT + PCD: device memory */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define RFLAGS_IOPL3 0x3002         /* IOPL 3 (ports from ring 3), reserved bit 1, IF clear */

    .section .note.Xen, "a"
    .balign 4
    .long 4                         /* namesz: "Xen\0" */
    .long 4                         /* descsz */
    .long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start

    .section .text.entry, "ax"
    .code32
    .globl pvh_start
pvh_start:
    cli
    mov %ebx, %esi                  /* keep hvm_start_info */
    lgdt gdt_descriptor
    mov $pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    ljmp $KERNEL_CS, $long_mode

    .code64
long_mode:
    mov $KERNEL_DS, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    lea kernel_stack_top(%rip), %rsp
    mov %esi, %edi                  /* setup(start_info): zero-extended */
    push %rdi
    call setup                      /* ring 0: GDT's TSS, IDT, kvmclock */
    pop %rdi
    /* iretq into ring 3: SS, RSP, RFLAGS, CS, RIP */
    pushq $USER_DS
    lea user_stack_top(%rip), %rax
    push %rax
    pushq $RFLAGS_IOPL3
    pushq $USER_CS
    lea user_main(%rip), %rax
    push %rax
    mov $USER_DS, %ax
    mov %ax, %ds
    mov %ax, %es
    iretq

/* Exception stubs: push a dummy error code where the CPU pushes none, then the vector. */
    .macro stub vec, has_error
    .globl exc_stub_\vec
exc_stub_\vec:
    .if \has_error == 0
    pushq $0
    .endif
    pushq $\vec
    jmp exc_common
    .endm
    stub 0,0; stub 1,0; stub 2,0; stub 3,0; stub 4,0; stub 5,0; stub 6,0; stub 7,0
    stub 8,1; stub 9,0; stub 10,1; stub 11,1; stub 12,1; stub 13,1; stub 14,1; stub 15,0
    stub 16,0; stub 17,1; stub 18,0; stub 19,0; stub 20,0; stub 21,1; stub 22,0; stub 23,0
    stub 24,0; stub 25,0; stub 26,0; stub 27,0; stub 28,0; stub 29,1; stub 30,1; stub 31,0
exc_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov %rsp, %rdi                  /* saved registers, vector, error code, RIP, CS, RFLAGS, RSP, SS */
    call exception                  /* returns only when it emulated the instruction */
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp                   /* vector, error code */
    iretq

    .globl exc_stub_table
    .section .rodata
    .balign 8
exc_stub_table:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exc_stub_\v
    .endr

    .data
    .balign 16
    .globl gdt
gdt:
    .quad 0                         /* null */
    .quad 0x00AF9A000000FFFF        /* 0x08 kernel code, 64-bit */
    .quad 0x00CF92000000FFFF        /* 0x10 kernel data */
    .quad 0x00CFF2000000FFFF        /* 0x18 user data, DPL 3 */
    .quad 0x00AFFA000000FFFF        /* 0x20 user code, 64-bit, DPL 3 */
    .quad 0, 0                      /* 0x28 TSS (16 bytes), filled in by setup() */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt

    .balign 4096
pml4:
    .quad pdpt + 0x7
    .fill 511, 8, 0
pdpt:
    .quad pd + 0x7, pd + 0x1007, pd + 0x2007, pd + 0x3007
    .fill 508, 8, 0
pd:
    .set addr, 0
    .rept 1536
    .quad addr + PTE_2M_USER
    .set addr, addr + 0x200000
    .endr
    .rept 512                       /* 3-4 GiB: the MMIO hole */
    .quad addr + PTE_2M_USER_UC
    .set addr, addr + 0x200000
    .endr

    .bss
    .balign 16
    .space 16384
    .globl kernel_stack_top
kernel_stack_top:
    .space 65536
user_stack_top:
