/*
 * The native-speed guest: a polling virtio-mmio driver that runs in ring 3, where this host runs
 * guest code natively (guest kernel code is emulated ~100x slower). It drives virtio-blk and
 * virtio-net with no interrupts (it polls the used rings, virtio 1.2 §2.7.10 / §2.7.7 suppress
 * both directions' notifications where the device allows), times each test with RDTSC converted
 * through kvmclock's pvclock scale, and prints one NATIVE_RESULT line per test on COM1 at the end.
 * Its verdict goes to csvmm's guest-control page (0xC0000000, offset 0: exit status), to port 0xF4
 * (QEMU's isa-debug-exit) and finally an i8042 reset, so both VMMs stop.
 *
 * The same ELF boots under csvmm (PVH, virtio_mmio.device=4K@0xd0000000:5 on its command line) and
 * QEMU microvm (PVH through -kernel; auto-kernel-cmdline adds virtio_mmio.device=512@...).
 * Only virtio 1.x ("modern", virtio-mmio version 2) is spoken: run QEMU with
 * -global virtio-mmio.force-legacy=false.
 *
 * Command line (all optional): native.seq_mib=N (MiB per sequential test), native.rand_ops=N
 * (requests per random test), native.tx_frames=N, native.tx_mib=N (cap per TX size),
 * native.rx_frames=N (frames the host sends per RX size; 0 skips RX), native.tests=blk,tx,rx.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;

#define barrier() __asm__ __volatile__("" ::: "memory")
#define mb() __asm__ __volatile__("mfence" ::: "memory")

/* ------------------------------------------------------------------ memory map of this guest */
#define MB (1ULL << 20)
#define BLK_RINGS 0x1000000ULL          /* 16 MiB: rings of every queue, one 16 KiB block each */
#define NET_RX_RINGS 0x1004000ULL
#define NET_TX_RINGS 0x1008000ULL
#define BLK_META 0x1010000ULL           /* request headers and status bytes */
#define TX_BUFS 0x1100000ULL            /* TX_SLOTS * SLOT_STRIDE */
#define RX_BUFS 0x1A00000ULL            /* RX_SLOTS * SLOT_STRIDE */
#define BLK_DATA 0x3000000ULL           /* BLK_SLOTS * 1 MiB */
#define DMA_END 0x5000000ULL
#define SLOT_STRIDE 0x11000ULL          /* 68 KiB: a 64 KiB frame and its header */
#define QSIZE 256
#define BLK_SLOTS 32
#define TX_SLOTS 128
#define RX_SLOTS 128

/* ------------------------------------------------------------------ port I/O, MMIO, time */
static inline void outb(u16 port, u8 v) { __asm__ __volatile__("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ __volatile__("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u32 mmio_read(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((u64)hi << 32) | lo;
}
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
    __asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* pvclock (Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW): the TSC -> ns scale. */
struct pvclock {
    u32 version, pad0;
    u64 tsc_timestamp, system_time;
    u32 tsc_to_system_mul;
    signed char tsc_shift;
    u8 flags, pad[2];
} __attribute__((aligned(64)));
static struct pvclock clock_page;
static u32 tsc_mul;
static int tsc_shift;

static u64 tsc_to_ns(u64 delta)
{
    if (tsc_shift < 0) delta >>= -tsc_shift;
    else delta <<= tsc_shift;
    return (u64)(((unsigned __int128)delta * tsc_mul) >> 32);
}

/* ------------------------------------------------------------------ output (buffered) */
static char out[32768];
static u32 out_len;
static void put(const char *s) { while (*s && out_len < sizeof out - 1) out[out_len++] = *s++; }
static void putu(u64 v)
{
    char b[24];
    int i = 0;
    do b[i++] = (char)('0' + v % 10); while ((v /= 10) && i < 23);
    while (i) { if (out_len < sizeof out - 1) out[out_len++] = b[--i]; }
}
static void putx(u64 v)
{
    char b[20];
    int i = 0;
    do b[i++] = "0123456789abcdef"[v & 15]; while ((v >>= 4) && i < 19);
    put("0x");
    while (i) { if (out_len < sizeof out - 1) out[out_len++] = b[--i]; }
}
/* COM1 is a port-I/O exit per byte: only flushed outside the timed parts. */
static void flush_out(void)
{
    for (u32 i = 0; i < out_len; i++) outb(0x3F8, (u8)out[i]);
    out_len = 0;
}

#define GUEST_CONTROL 0xC0000000ULL
static void __attribute__((noreturn)) finish(int status)
{
    put("NATIVE_DONE status=");
    putu((u64)status);
    put("\n");
    flush_out();
    mmio_write(GUEST_CONTROL, (u32)status);  /* csvmm: exit with this status */
    outl(0xF4, (u32)status);                  /* QEMU isa-debug-exit: exit (status << 1) | 1 */
    outb(0x64, 0xFE);                         /* i8042 reset: any VMM with one stops */
    for (;;) { }
}
static void __attribute__((noreturn)) fail(const char *why)
{
    put("NATIVE_FAIL ");
    put(why);
    put("\n");
    finish(1);
}

/* ------------------------------------------------------------------ ring 0: setup and faults */
struct idt_gate { u16 off0, sel; u8 ist, type; u16 off1; u32 off2, zero; };
static struct idt_gate idt[32] __attribute__((aligned(16)));
static struct { u32 r0; u64 rsp0, rsp1, rsp2, r1, ist[7], r2; u16 r3, iomap; } __attribute__((packed)) tss;
extern u64 gdt[];
extern const u64 exc_stub_table[32];
extern char kernel_stack_top[];
static int have_kvmclock;

static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ __volatile__("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

/* Runs once in ring 0 (emulated: kept short). */
void setup(u64 start_info)
{
    (void)start_info;
    u64 base = (u64)&tss;
    tss.rsp0 = (u64)kernel_stack_top;
    tss.iomap = sizeof tss;                   /* no I/O bitmap: IOPL 3 opens every port */
    gdt[5] = 0x67 | ((base & 0xFFFFFF) << 16) | (0x89ULL << 40) | (((base >> 24) & 0xFF) << 56);
    gdt[6] = base >> 32;
    __asm__ __volatile__("ltr %w0" ::"r"(0x28));
    for (int v = 0; v < 32; v++) {
        u64 h = exc_stub_table[v];
        idt[v] = (struct idt_gate){ (u16)h, 0x08, 0, 0x8E, (u16)(h >> 16), (u32)(h >> 32), 0 };
    }
    struct { u16 limit; u64 base; } __attribute__((packed)) idtr = { sizeof idt - 1, (u64)idt };
    __asm__ __volatile__("lidt %0" ::"m"(idtr));

    /* kvmclock: leaf 0x40000000 "KVMKVMKVM", 0x40000001 EAX bit 3 = KVM_FEATURE_CLOCKSOURCE2. */
    u32 a, b, c, d;
    cpuid(0x40000000, &a, &b, &c, &d);
    if (b == 0x4b4d564b && c == 0x564b4d56 && d == 0x4d) {
        cpuid(0x40000001, &a, &b, &c, &d);
        if (a & (1 << 3)) {
            wrmsr(0x4b564d01, (u64)&clock_page | 1);
            have_kvmclock = 1;
        }
    }
}

/* Saved by exc_common, then pushed by the CPU (error code or a dummy). */
struct frame { u64 r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax, vector, error, rip, cs, rflags, rsp, ss; };

/* #GP of an OUT from ring 3 (ports closed to guest user mode despite IOPL 3): do it here and go
 * on after it. Any other exception ends the run with its vector, error code and RIP. */
void exception(struct frame *f)
{
    if (f->vector == 13 && (f->cs & 3) == 3) {
        const u8 *ip = (const u8 *)f->rip;
        switch (ip[0]) {
        case 0xEE: outb((u16)f->rdx, (u8)f->rax); f->rip += 1; return;         /* out dx, al */
        case 0xEF: outl((u16)f->rdx, (u32)f->rax); f->rip += 1; return;        /* out dx, eax */
        case 0xE6: outb(ip[1], (u8)f->rax); f->rip += 2; return;                /* out imm8, al */
        case 0xE7: outl(ip[1], (u32)f->rax); f->rip += 2; return;               /* out imm8, eax */
        }
    }
    put("NATIVE_FAIL exception vector=");
    putu(f->vector);
    put(" error=");
    putx(f->error);
    put(" rip=");
    putx(f->rip);
    u64 cr2;
    __asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
    put(" cr2=");
    putx(cr2);
    put("\n");
    finish(2);
}

/* ------------------------------------------------------------------ helpers */
/* gcc may call these for struct copies even when freestanding. */
void *memset(void *d, int c, unsigned long n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, unsigned long n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }
static void zero(void *p, u64 n) { u8 *b = p; while (n--) *b++ = 0; }
static int starts(const char *s, const char *p) { while (*p) if (*s++ != *p++) return 0; return 1; }
static u64 parse_num(const char **sp, int base)
{
    const char *s = *sp;
    u64 v = 0;
    if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    for (;; s++) {
        int d;
        if (*s >= '0' && *s <= '9') d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
        else break;
        v = v * (u64)base + (u64)d;
    }
    *sp = s;
    return v;
}
static u64 rng = 0x9E3779B97F4A7C15ULL;
static u64 next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ------------------------------------------------------------------ virtio-mmio (version 2) */
#define VIRTIO_MAGIC 0x74726976
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0A0
#define R_CONFIG 0x100
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define F_EVENT_IDX (1ULL << 29)
#define F_VERSION_1 (1ULL << 32)
#define F_BLK_FLUSH (1ULL << 9)
#define F_NET_MAC (1ULL << 5)
#define DESC_NEXT 1
#define DESC_WRITE 2

struct desc { u64 addr; u32 len; u16 flags, next; };
struct avail { u16 flags, idx, ring[QSIZE], used_event; };
struct used_elem { u32 id, len; };
struct used { u16 flags, idx; struct used_elem ring[QSIZE]; u16 avail_event; };

struct vq {
    struct desc *desc;
    struct avail *avail;
    struct used *used;
    u64 notify;
    u16 index, size, avail_idx, last_used;
    int event_idx;
    u64 kicks;
};

struct dev {
    u64 base;
    u64 features;
    int found;
};
static struct dev blk, net;

static u64 negotiate(struct dev *d, u64 wanted)
{
    u64 b = d->base;
    mmio_write(b + R_STATUS, 0);
    mmio_write(b + R_STATUS, S_ACK);
    mmio_write(b + R_STATUS, S_ACK | S_DRIVER);
    mmio_write(b + R_DEVICE_FEATURES_SEL, 0);
    u64 offered = mmio_read(b + R_DEVICE_FEATURES);
    mmio_write(b + R_DEVICE_FEATURES_SEL, 1);
    offered |= (u64)mmio_read(b + R_DEVICE_FEATURES) << 32;
    if (!(offered & F_VERSION_1)) fail("device does not offer VIRTIO_F_VERSION_1 (QEMU: -global virtio-mmio.force-legacy=false)");
    u64 f = offered & wanted;
    mmio_write(b + R_DRIVER_FEATURES_SEL, 0);
    mmio_write(b + R_DRIVER_FEATURES, (u32)f);
    mmio_write(b + R_DRIVER_FEATURES_SEL, 1);
    mmio_write(b + R_DRIVER_FEATURES, (u32)(f >> 32));
    mmio_write(b + R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    if (!(mmio_read(b + R_STATUS) & S_FEATURES_OK)) fail("device refused FEATURES_OK");
    d->features = f;
    return f;
}

static void setup_queue(struct dev *d, struct vq *q, u16 index, u64 rings)
{
    u64 b = d->base;
    mmio_write(b + R_QUEUE_SEL, index);
    u32 max = mmio_read(b + R_QUEUE_NUM_MAX);
    if (max < QSIZE) fail("queue smaller than 256");
    zero((void *)rings, 0x4000);
    q->desc = (struct desc *)rings;
    q->avail = (struct avail *)(rings + 0x1000);
    q->used = (struct used *)(rings + 0x2000);
    q->index = index;
    q->size = QSIZE;
    q->avail_idx = q->last_used = 0;
    q->event_idx = (d->features & F_EVENT_IDX) != 0;
    q->notify = b + R_QUEUE_NOTIFY;
    q->kicks = 0;
    /* Interrupts off for good: with EVENT_IDX used_event stays half the index space away from
     * used.idx (virtio 1.2 §2.7.7.2), without it avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT. */
    if (q->event_idx) q->avail->used_event = 0x8000;
    else q->avail->flags = 1;
    mmio_write(b + R_QUEUE_NUM, QSIZE);
    mmio_write(b + R_QUEUE_DESC, (u32)(u64)q->desc);
    mmio_write(b + R_QUEUE_DESC + 4, 0);
    mmio_write(b + R_QUEUE_DRIVER, (u32)(u64)q->avail);
    mmio_write(b + R_QUEUE_DRIVER + 4, 0);
    mmio_write(b + R_QUEUE_DEVICE, (u32)(u64)q->used);
    mmio_write(b + R_QUEUE_DEVICE + 4, 0);
    mmio_write(b + R_QUEUE_READY, 1);
}

/* Makes the entries added since the last call visible and kicks only when the device asked for
 * it (virtio 1.2 §2.7.10: vring_need_event on avail_event), or always without EVENT_IDX unless
 * the device set VIRTQ_USED_F_NO_NOTIFY. */
static u16 published[4];
static void publish(struct vq *q)
{
    u16 old = published[q->index & 3];
    u16 now = q->avail_idx;
    if (old == now) return;
    barrier();
    q->avail->idx = now;
    published[q->index & 3] = now;
    mb();
    int kick;
    if (q->event_idx) {
        u16 ev = *(volatile u16 *)&q->used->avail_event;
        kick = (u16)(now - ev - 1) < (u16)(now - old);
    } else {
        kick = !(*(volatile u16 *)&q->used->flags & 1);
    }
    if (kick) {
        mmio_write(q->notify, q->index);
        q->kicks++;
    }
}

static inline int used_ready(struct vq *q) { return *(volatile u16 *)&q->used->idx != q->last_used; }
static inline struct used_elem take_used(struct vq *q)
{
    barrier();
    struct used_elem e = q->used->ring[q->last_used & (QSIZE - 1)];
    q->last_used++;
    if (q->event_idx) q->avail->used_event = (u16)(q->last_used + 0x8000);
    return e;
}

/* Spins for a used entry; fails after 20 s without one (a device that stalls ends the run). */
static u64 tsc_per_20s;
static void wait_used(struct vq *q, const char *what)
{
    u64 start = rdtsc();
    u32 spins = 0;
    while (!used_ready(q)) {
        __asm__ __volatile__("pause");
        if (++spins == 4096) {
            spins = 0;
            if (rdtsc() - start > tsc_per_20s) {
                put("NATIVE_STALL ");
                put(what);
                put("\n");
                fail("device stopped completing requests");
            }
        }
    }
}

/* ------------------------------------------------------------------ results */
static void result(const char *test, u64 bs, u64 qd, u64 ops, u64 bytes, u64 ns, u64 kicks, u64 errors)
{
    put("NATIVE_RESULT test=");
    put(test);
    put(" bs=");
    putu(bs);
    put(" qd=");
    putu(qd);
    put(" ops=");
    putu(ops);
    put(" bytes=");
    putu(bytes);
    put(" ns=");
    putu(ns);
    put(" kicks=");
    putu(kicks);
    put(" errors=");
    putu(errors);
    if (ns) {
        put(" iops=");
        putu(ops * 1000000000ULL / ns);
        put(" mbps=");
        putu(bytes * 1000ULL / ns);
    }
    put("\n");
}

/* ------------------------------------------------------------------ virtio-blk */
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
struct blk_req { u32 type, reserved; u64 sector; u8 status; u8 pad[15]; };
static struct vq blkq;
static u64 blk_sectors;
static int blk_flush;

static void blk_fill(int slot, u32 type, u64 sector, u32 len)
{
    struct blk_req *r = (struct blk_req *)(BLK_META + (u64)slot * sizeof(struct blk_req));
    r->type = type;
    r->sector = sector;
    r->status = 0xFF;
    struct desc *d = &blkq.desc[slot * 3];
    d[0] = (struct desc){ (u64)r, 16, DESC_NEXT, (u16)(slot * 3 + 1) };
    if (len) {
        d[1] = (struct desc){ BLK_DATA + (u64)slot * MB, len, (u16)(DESC_NEXT | (type == BLK_T_IN ? DESC_WRITE : 0)), (u16)(slot * 3 + 2) };
        d[2] = (struct desc){ (u64)&r->status, 1, DESC_WRITE, 0 };
    } else {
        d[0].next = (u16)(slot * 3 + 2);
        d[2] = (struct desc){ (u64)&r->status, 1, DESC_WRITE, 0 };
    }
    blkq.avail->ring[blkq.avail_idx & (QSIZE - 1)] = (u16)(slot * 3);
    blkq.avail_idx++;
}

/* Runs `total` requests of `len` bytes with `qd` in flight; sequential or random 4 KiB-aligned. */
static void blk_test(const char *name, u32 type, u32 len, int qd, u64 total, int random)
{
    int free_slots[BLK_SLOTS], nfree = 0;
    for (int i = qd - 1; i >= 0; i--) free_slots[nfree++] = i;
    u64 span = blk_sectors / (len / 512);      /* requests that fit the disk */
    u64 next_seq = 0, submitted = 0, completed = 0, errors = 0;
    u64 kicks0 = blkq.kicks;
    u64 t0 = rdtsc();
    while (completed < total) {
        while (nfree && submitted < total) {
            u64 n = random ? next_random() % span : next_seq++ % span;
            blk_fill(free_slots[--nfree], type, n * (len / 512), len);
            submitted++;
        }
        publish(&blkq);
        wait_used(&blkq, name);
        do {
            struct used_elem e = take_used(&blkq);
            int slot = (int)(e.id / 3);
            struct blk_req *r = (struct blk_req *)(BLK_META + (u64)slot * sizeof(struct blk_req));
            if (r->status != 0) errors++;
            free_slots[nfree++] = slot;
            completed++;
        } while (used_ready(&blkq));
    }
    u64 ns = tsc_to_ns(rdtsc() - t0);
    result(name, len, (u64)qd, total, total * len, ns, blkq.kicks - kicks0, errors);
}

/* Makes the writes durable between tests (not timed: the tests measure the device path). */
static void blk_sync(void)
{
    if (!blk_flush) return;
    blk_fill(0, BLK_T_FLUSH, 0, 0);
    publish(&blkq);
    wait_used(&blkq, "flush");
    take_used(&blkq);
    if (((struct blk_req *)BLK_META)->status != 0) fail("flush failed");
}

static void blk_run(u64 seq_mib, u64 rand_ops)
{
    u64 f = negotiate(&blk, F_VERSION_1 | F_EVENT_IDX | F_BLK_FLUSH);
    blk_flush = (f & F_BLK_FLUSH) != 0;
    setup_queue(&blk, &blkq, 0, BLK_RINGS);
    blk_sectors = (u64)mmio_read(blk.base + R_CONFIG) | ((u64)mmio_read(blk.base + R_CONFIG + 4) << 32);
    mmio_write(blk.base + R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    put("NATIVE_INFO blk base=");
    putx(blk.base);
    put(" features=");
    putx(f);
    put(" sectors=");
    putu(blk_sectors);
    put("\n");
    if (blk_sectors < 2048 * 4) fail("disk smaller than 4 MiB");
    for (u64 i = 0; i < BLK_SLOTS * MB; i += 8) *(volatile u64 *)(BLK_DATA + i) = i * 0x9E3779B97F4A7C15ULL;

    u64 seq = seq_mib;
    blk_test("blk-seq-write", BLK_T_OUT, 1 << 20, 1, seq, 0);
    blk_sync();
    blk_test("blk-seq-write", BLK_T_OUT, 1 << 20, 32, seq, 0);
    blk_sync();
    blk_test("blk-seq-read", BLK_T_IN, 1 << 20, 1, seq, 0);
    blk_test("blk-seq-read", BLK_T_IN, 1 << 20, 32, seq, 0);
    blk_test("blk-rand-read", BLK_T_IN, 4096, 1, rand_ops, 1);
    blk_test("blk-rand-read", BLK_T_IN, 4096, 32, rand_ops, 1);
    blk_test("blk-rand-write", BLK_T_OUT, 4096, 1, rand_ops, 1);
    blk_sync();
    blk_test("blk-rand-write", BLK_T_OUT, 4096, 32, rand_ops, 1);
    blk_sync();
    mmio_write(blk.base + R_STATUS, 0);
}

/* ------------------------------------------------------------------ virtio-net */
#define NET_HDR 12
static struct vq rxq, txq;
static u8 mac[6];

static void net_init(void)
{
    u64 f = negotiate(&net, F_VERSION_1 | F_EVENT_IDX | F_NET_MAC);
    setup_queue(&net, &rxq, 0, NET_RX_RINGS);
    setup_queue(&net, &txq, 1, NET_TX_RINGS);
    for (int i = 0; i < 6; i++) mac[i] = (f & F_NET_MAC) ? *(volatile u8 *)(net.base + R_CONFIG + i) : (u8)(i == 0 ? 2 : i);
    mmio_write(net.base + R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    put("NATIVE_INFO net base=");
    putx(net.base);
    put(" features=");
    putx(f);
    put("\n");
}

/* Frames to a unicast address nobody has, ethertype 0x88B5 (IEEE local experimental): the host
 * stack drops them as soon as it sees them (PACKET_OTHERHOST), so the TAP is a sink. */
static void tx_test(u32 frame, u64 frames)
{
    for (int s = 0; s < TX_SLOTS; s++) {
        u8 *b = (u8 *)(TX_BUFS + (u64)s * SLOT_STRIDE);
        zero(b, NET_HDR + 64);
        u8 *eth = b + NET_HDR;
        eth[0] = 0x02; eth[5] = 0x77;
        for (int i = 0; i < 6; i++) eth[6 + i] = mac[i];
        eth[12] = 0x88; eth[13] = 0xB5;
    }
    int free_slots[TX_SLOTS], nfree = 0;
    for (int i = TX_SLOTS - 1; i >= 0; i--) free_slots[nfree++] = i;
    u64 submitted = 0, completed = 0, kicks0 = txq.kicks;
    u64 t0 = rdtsc();
    while (completed < frames) {
        while (nfree && submitted < frames) {
            int s = free_slots[--nfree];
            txq.desc[s] = (struct desc){ TX_BUFS + (u64)s * SLOT_STRIDE, NET_HDR + frame, 0, 0 };
            txq.avail->ring[txq.avail_idx & (QSIZE - 1)] = (u16)s;
            txq.avail_idx++;
            submitted++;
        }
        publish(&txq);
        wait_used(&txq, "tx");
        do {
            struct used_elem e = take_used(&txq);
            free_slots[nfree++] = (int)e.id;
            completed++;
        } while (used_ready(&txq));
    }
    u64 ns = tsc_to_ns(rdtsc() - t0);
    result("net-tx", frame, TX_SLOTS, frames, frames * frame, ns, txq.kicks - kicks0, 0);
}

/* Posts RX_SLOTS buffers, says NATIVE_RX_READY (the host then sends `frames` frames of `frame`
 * bytes into the TAP) and counts what arrives until all did or 1 s passes without one. Frames of
 * another size (the host stack's own, if any) are counted apart and do not time anything. The
 * rate is taken between the first and the last test frame. */
static void rx_test(u32 frame, u64 frames)
{
    for (int s = 0; s < RX_SLOTS; s++) {
        rxq.desc[s] = (struct desc){ RX_BUFS + (u64)s * SLOT_STRIDE, (u32)(SLOT_STRIDE - 64), DESC_WRITE, 0 };
        rxq.avail->ring[rxq.avail_idx & (QSIZE - 1)] = (u16)s;
        rxq.avail_idx++;
    }
    publish(&rxq);
    put("NATIVE_RX_READY bs=");
    putu(frame);
    put("\n");
    flush_out();
    u64 got = 0, other = 0, first = 0, last = 0, kicks0 = rxq.kicks;
    u64 idle_limit = tsc_per_20s / 20, start_limit = tsc_per_20s * 3;
    u64 waiting_since = rdtsc();
    while (got < frames) {
        if (!used_ready(&rxq)) {
            __asm__ __volatile__("pause");
            if (rdtsc() - waiting_since > (got ? idle_limit : start_limit)) break;
            continue;
        }
        u64 now = rdtsc();
        do {
            struct used_elem e = take_used(&rxq);
            if (e.len == NET_HDR + frame) {
                if (!got) first = now;
                last = now;
                waiting_since = now;
                got++;
            } else {
                other++;
            }
            rxq.avail->ring[rxq.avail_idx & (QSIZE - 1)] = (u16)e.id;
            rxq.avail_idx++;
        } while (used_ready(&rxq));
        publish(&rxq);
    }
    /* The first frame opens the window: count the ones after it. */
    u64 n = got > 1 ? got - 1 : 0;
    result("net-rx", frame, RX_SLOTS, n, n * frame, n ? tsc_to_ns(last - first) : 0, rxq.kicks - kicks0, got == frames ? 0 : frames - got);
    put("NATIVE_RX_DONE bs=");
    putu(frame);
    put(" got=");
    putu(got);
    put(" other=");
    putu(other);
    put("\n");
    flush_out();
}

/* ------------------------------------------------------------------ command line */
static u64 option(const char *cmdline, const char *name, u64 def)
{
    for (const char *s = cmdline; *s; s++) {
        if ((s == cmdline || s[-1] == ' ') && starts(s, name)) {
            const char *v = s;
            while (*v && *v != '=') v++;
            if (*v == '=') { v++; return parse_num(&v, 10); }
        }
    }
    return def;
}
static int test_enabled(const char *cmdline, const char *test)
{
    const char *key = "native.tests=";
    for (const char *s = cmdline; *s; s++) {
        if ((s == cmdline || s[-1] == ' ') && starts(s, key)) {
            s += 13;
            while (*s && *s != ' ') {
                const char *t = test, *w = s;
                while (*t && *w == *t) { t++; w++; }
                if (!*t && (*w == ',' || *w == ' ' || !*w)) return 1;
                while (*s && *s != ',' && *s != ' ') s++;
                if (*s == ',') s++;
            }
            return 0;
        }
    }
    return 1;
}

/* virtio_mmio.device=<size>@<base>:<irq> (Documentation/admin-guide/kernel-parameters.txt). */
static void find_devices(const char *cmdline)
{
    const char *key = "virtio_mmio.device=";
    for (const char *s = cmdline; *s; s++) {
        if (!starts(s, key)) continue;
        const char *v = s + 19;
        while (*v && *v != '@' && *v != ' ') v++;
        if (*v != '@') continue;
        v++;
        u64 base = parse_num(&v, 16);
        if (base < 0xC0000000ULL || base >= 0x100000000ULL) continue;
        if (mmio_read(base + R_MAGIC) != VIRTIO_MAGIC) continue;
        u32 version = mmio_read(base + R_VERSION);
        u32 id = mmio_read(base + R_DEVICE_ID);
        put("NATIVE_INFO device base=");
        putx(base);
        put(" version=");
        putu(version);
        put(" id=");
        putu(id);
        put("\n");
        if (version != 2) continue;
        if (id == 2 && !blk.found) blk = (struct dev){ base, 0, 1 };
        if (id == 1 && !net.found) net = (struct dev){ base, 0, 1 };
    }
}

/* hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h) */
struct start_info { u32 magic, version, flags, nr_modules; u64 modlist, cmdline, rsdp, memmap; u32 memmap_entries, reserved; };
struct memmap_entry { u64 addr, size; u32 type, reserved; };

/* ------------------------------------------------------------------ ring 3 */
void user_main(u64 start_info)
{
    const struct start_info *si = (const struct start_info *)start_info;
    if (si->magic != 0x336EC578) fail("no hvm_start_info magic at EBX");
    const char *cmdline = si->cmdline ? (const char *)si->cmdline : "";
    /* The buffers must lie in RAM. */
    int dma_ok = 0;
    const struct memmap_entry *mm = (const struct memmap_entry *)si->memmap;
    for (u32 i = 0; si->memmap && i < si->memmap_entries; i++)
        if (mm[i].type == 1 && mm[i].addr <= BLK_RINGS && mm[i].addr + mm[i].size >= DMA_END) dma_ok = 1;
    if (!dma_ok) fail("guest RAM does not cover 16-80 MiB (give the guest at least 128 MiB)");

    if (!have_kvmclock) fail("no kvmclock (CPUID 0x40000001 KVM_FEATURE_CLOCKSOURCE2)");
    /* The scale is set by the host on the first update; wait for it (version even and non-zero). */
    for (u32 spins = 0; ; spins++) {
        u32 v = *(volatile u32 *)&clock_page.version;
        barrier();
        tsc_mul = *(volatile u32 *)&clock_page.tsc_to_system_mul;
        tsc_shift = *(volatile signed char *)&clock_page.tsc_shift;
        barrier();
        if (v && !(v & 1) && v == *(volatile u32 *)&clock_page.version && tsc_mul) break;
        if (spins > 100000000) fail("kvmclock never published its scale");
    }
    /* TSC ticks per 20 s, from ns = ticks * mul >> (32 - shift). */
    {
        u64 ticks_per_s = ((1000000000ULL << 32) / tsc_mul);
        if (tsc_shift > 0) ticks_per_s >>= tsc_shift;
        else ticks_per_s <<= -tsc_shift;
        tsc_per_20s = ticks_per_s * 20;
        put("NATIVE_INFO tsc_khz=");
        putu(ticks_per_s / 1000);
        put("\n");
    }
    put("NATIVE_START cmdline=\"");
    put(cmdline);
    put("\"\n");
    find_devices(cmdline);
    flush_out();

    u64 seq_mib = option(cmdline, "native.seq_mib", 256);
    u64 rand_ops = option(cmdline, "native.rand_ops", 50000);
    u64 tx_frames = option(cmdline, "native.tx_frames", 200000);
    u64 tx_mib = option(cmdline, "native.tx_mib", 2048);
    u64 rx_frames = option(cmdline, "native.rx_frames", 0);

    if (test_enabled(cmdline, "blk")) {
        if (!blk.found) fail("no virtio-blk device (version 2) on the command line");
        blk_run(seq_mib, rand_ops);
        flush_out();
    }
    if (test_enabled(cmdline, "tx") || (rx_frames && test_enabled(cmdline, "rx"))) {
        if (!net.found) fail("no virtio-net device (version 2) on the command line");
        net_init();
        static const u32 sizes[] = { 64, 1514, 65536 };
        if (test_enabled(cmdline, "tx")) {
            for (int i = 0; i < 3; i++) {
                u64 n = tx_frames;
                if (n * sizes[i] > tx_mib * MB) n = tx_mib * MB / sizes[i];
                tx_test(sizes[i], n);
            }
            flush_out();
        }
        if (rx_frames && test_enabled(cmdline, "rx")) {
            rx_test(64, rx_frames);
            rx_test(1514, rx_frames);
        }
    }
    finish(0);
}
