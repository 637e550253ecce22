/*
 * csvmm-guest: guest-side test helper for csvmm.
 *
 * Every system call is very expensive on the csvmm host (nested KVM, PVM
 * backend: tens of ms), so this tool does block and network I/O in few, large
 * operations and hashes in user space. Results are printed as single lines
 * starting with "CSVMM_RESULT"; failures exit non-zero.
 *
 * Data pattern (shared with the host-side tests): the byte stream is the
 * concatenation of 64-bit little-endian words w[k] = splitmix64(seed +
 * (k+1)*0x9E3779B97F4A7C15), k = 0, 1, 2, ... counted from the start of the
 * device/stream, where splitmix64(x): z = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
 * z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31).
 *
 * Build: gcc -static -O2 -o csvmm-guest csvmm-guest.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

/* ------------------------------------------------------------ SHA-256 */
typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
} sha256_ctx;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256_ctx *c, const uint8_t *p)
{
    uint32_t w[64], a, b, d, e, f, g, h, cc, t1, t2;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = c->h[0]; b = c->h[1]; cc = c->h[2]; d = c->h[3];
    e = c->h[4]; f = c->h[5]; g = c->h[6]; h = c->h[7];
    for (int i = 0; i < 64; i++) {
        t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g; g = f; f = e; e = d + t1; d = cc; cc = b; b = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d;
    c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
}

static void sha256_init(sha256_ctx *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->n = 0;
}

static void sha256_update(sha256_ctx *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    c->len += len;
    if (c->n) {
        while (len && c->n < 64) { c->buf[c->n++] = *p++; len--; }
        if (c->n == 64) { sha256_block(c, c->buf); c->n = 0; }
    }
    while (len >= 64) { sha256_block(c, p); p += 64; len -= 64; }
    while (len) { c->buf[c->n++] = *p++; len--; }
}

static void sha256_final(sha256_ctx *c, char hex[65])
{
    uint64_t bits = c->len * 8;
    uint8_t pad = 0x80, zero = 0, lenb[8];
    sha256_update(c, &pad, 1);
    while (c->n != 56) sha256_update(c, &zero, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(c, lenb, 8);
    for (int i = 0; i < 8; i++) sprintf(hex + 8 * i, "%08x", c->h[i]);
    hex[64] = 0;
}

/* ------------------------------------------------------------ helpers */
static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Fill buf (len a multiple of 8) with pattern words starting at word index k0. */
static void fill_pattern(uint8_t *buf, size_t len, uint64_t seed, uint64_t k0)
{
    for (size_t i = 0; i < len / 8; i++) {
        uint64_t w = splitmix64(seed + (k0 + i + 1) * 0x9E3779B97F4A7C15ULL);
        for (int b = 0; b < 8; b++) buf[8 * i + b] = (uint8_t)(w >> (8 * b));
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *alloc_buf(size_t len)
{
    void *p = NULL;
    if (posix_memalign(&p, MIB, len)) {
        fprintf(stderr, "csvmm-guest: posix_memalign failed\n");
        exit(2);
    }
    return p;
}

static unsigned long long parse_num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || end == s) {
        fprintf(stderr, "csvmm-guest: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

/* "N" = N MiB, "Nk" = N KiB (small transfers for slow guests); returns bytes. */
static unsigned long long parse_size(const char *s)
{
    size_t len = strlen(s);
    if (len > 1 && (s[len - 1] == 'k' || s[len - 1] == 'K')) {
        char num[32];
        if (len - 1 >= sizeof num) return parse_num(s, "SIZE"); /* reports the error */
        memcpy(num, s, len - 1);
        num[len - 1] = 0;
        return parse_num(num, "SIZE") * 1024;
    }
    return parse_num(s, "SIZE") * MIB;
}

static int fail(const char *what, const char *arg)
{
    fprintf(stderr, "csvmm-guest: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
    return 1;
}

/* Write all of buf (handles short writes). */
static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) { errno = EIO; return -1; }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ------------------------------------------------------------ commands */
/*
 * Writes mib MiB of the pattern starting skip MiB into dev (pattern words counted from the start
 * of dev), O_DIRECT in 1 MiB writes, so every write reaches the device as a WRITE request.
 * With sync, fdatasync follows (a FLUSH request): the data is durable when the line is printed.
 * Without it the device has the data but was never asked to make it durable.
 */
static int pattern_write(const char *dev, unsigned long long mib, uint64_t seed, unsigned long long skip,
                         int sync)
{
    long long t0 = now_ms();
    int fd = open(dev, O_WRONLY | O_CREAT | O_DIRECT, 0644); /* a device, or a file on a mounted fs */
    if (fd < 0) return fail("open", dev);
    uint8_t *buf = alloc_buf(MIB);
    sha256_ctx c;
    sha256_init(&c);
    for (unsigned long long i = skip; i < skip + mib; i++) {
        fill_pattern(buf, MIB, seed, i * (MIB / 8));
        sha256_update(&c, buf, MIB);
        for (size_t done = 0; done < MIB;) {
            ssize_t n = pwrite(fd, buf + done, MIB - done, (off_t)(i * MIB + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return fail("write", dev);
            done += (size_t)n;
        }
    }
    if (sync && fdatasync(fd)) return fail("fdatasync", dev);
    close(fd);
    char hex[65];
    sha256_final(&c, hex);
    if (sync)
        printf("CSVMM_RESULT blk-write dev=%s bytes=%llu sha256=%s ms=%lld\n", dev, mib * MIB, hex,
               now_ms() - t0);
    else
        printf("CSVMM_RESULT blk-write-nosync dev=%s skip=%llu bytes=%llu sha256=%s ms=%lld\n", dev,
               skip * MIB, mib * MIB, hex, now_ms() - t0);
    return 0;
}

static int cmd_sha256(const char *dev, long long mib)
{
    long long t0 = now_ms();
    struct stat st;
    if (stat(dev, &st)) return fail("stat", dev);
    int isblk = S_ISBLK(st.st_mode);
    int fd = open(dev, O_RDONLY | (isblk ? O_DIRECT : 0));
    if (fd < 0) return fail("open", dev);
    unsigned long long size;
    if (isblk) {
        uint64_t sz = 0;
        if (ioctl(fd, BLKGETSIZE64, &sz)) return fail("BLKGETSIZE64", dev);
        size = sz;
    } else {
        size = (unsigned long long)st.st_size;
    }
    unsigned long long want = mib >= 0 ? (unsigned long long)mib * MIB : size;
    if (want > size && isblk) {
        fprintf(stderr, "csvmm-guest: %s has only %llu bytes\n", dev, size);
        return 1;
    }
    uint8_t *buf = alloc_buf(MIB);
    sha256_ctx c;
    sha256_init(&c);
    unsigned long long done = 0;
    while (done < want) {
        size_t chunk = want - done < MIB ? (size_t)(want - done) : MIB;
        size_t rq = chunk;
        if (isblk) rq = (chunk + 511) & ~(size_t)511; /* O_DIRECT needs sector multiples */
        ssize_t n = read(fd, buf, rq);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail("read", dev);
        }
        if (n == 0) break;
        if ((size_t)n > chunk) n = (ssize_t)chunk;
        sha256_update(&c, buf, (size_t)n);
        done += (unsigned long long)n;
    }
    close(fd);
    if (mib >= 0 && done != want) {
        fprintf(stderr, "csvmm-guest: short read on %s: %llu of %llu bytes\n", dev, done, want);
        return 1;
    }
    char hex[65];
    sha256_final(&c, hex);
    printf("CSVMM_RESULT sha256 dev=%s bytes=%llu sha256=%s ms=%lld\n", dev, done, hex,
           now_ms() - t0);
    return 0;
}

/* COUNT O_DIRECT 4 KiB preads at pseudo-random 4 KiB-aligned offsets (splitmix64 of SEED). */
static int cmd_rand_read(const char *dev, unsigned long long count, uint64_t seed)
{
    int fd = open(dev, O_RDONLY | O_DIRECT);
    if (fd < 0) return fail("open", dev);
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size)) return fail("BLKGETSIZE64", dev);
    uint64_t blocks = size / 4096;
    if (blocks == 0 || count == 0) {
        fprintf(stderr, "csvmm-guest: rand-read needs COUNT > 0 and a device of at least 4 KiB\n");
        return 1;
    }
    uint8_t *buf = alloc_buf(4096);
    long long t0 = now_ms();
    for (unsigned long long i = 0; i < count; i++) {
        off_t off = (off_t)(splitmix64(seed + (i + 1) * 0x9E3779B97F4A7C15ULL) % blocks) * 4096;
        ssize_t n = pread(fd, buf, 4096, off);
        if (n < 0 && errno == EINTR) { i--; continue; }
        if (n != 4096) return n < 0 ? fail("pread", dev) : (fprintf(stderr, "csvmm-guest: short pread on %s\n", dev), 1);
    }
    long long ms = now_ms() - t0;
    close(fd);
    printf("CSVMM_RESULT rand-read dev=%s reads=%llu bytes=%llu ms=%lld iops=%.1f\n", dev, count,
           count * 4096, ms, ms > 0 ? count * 1000.0 / ms : 0.0);
    return 0;
}

static int cmd_write_expect_fail(const char *dev)
{
    int fd = open(dev, O_RDWR | O_DIRECT);
    const char *what = "open";
    if (fd >= 0) {
        uint8_t *buf = alloc_buf(4096);
        memset(buf, 0xA5, 4096);
        what = "write";
        if (pwrite(fd, buf, 512, 0) == 512) {
            what = "fsync";
            if (fsync(fd) == 0) {
                close(fd);
                printf("CSVMM_RESULT rofail dev=%s result=WRITTEN\n", dev);
                return 1;
            }
        } else if (errno == 0) {
            errno = EIO;
        }
    }
    int e = errno;
    printf("CSVMM_RESULT rofail dev=%s result=refused errno=%d(%s) at=%s\n", dev, e, strerror(e),
           what);
    return 0;
}

/* Sends `bytes` of the pattern (a multiple of 8) in writes of up to 1 MiB. */
static int cmd_tcp_send(const char *host, int port, unsigned long long bytes, uint64_t seed)
{
    long long t0 = now_ms();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "csvmm-guest: bad IPv4 address %s\n", host);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket", NULL);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) return fail("connect", host);
    uint8_t *buf = alloc_buf(MIB);
    sha256_ctx c;
    sha256_init(&c);
    for (unsigned long long done = 0; done < bytes;) {
        size_t n = bytes - done < MIB ? (size_t)(bytes - done) : MIB;
        fill_pattern(buf, n, seed, done / 8);
        sha256_update(&c, buf, n);
        if (write_all(fd, buf, n)) return fail("send", host);
        done += n;
    }
    shutdown(fd, SHUT_WR);
    /* wait for the peer to close so that all data is known to be delivered */
    char tmp[256];
    while (read(fd, tmp, sizeof tmp) > 0) {}
    close(fd);
    char hex[65];
    sha256_final(&c, hex);
    printf("CSVMM_RESULT tcp-send host=%s port=%d bytes=%llu sha256=%s ms=%lld\n", host, port,
           bytes, hex, now_ms() - t0);
    return 0;
}

static int cmd_tcp_recv(int port, long long mib)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) return fail("socket", NULL);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rcvbuf = 4 * MIB;
    setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa)) return fail("bind", NULL);
    if (listen(ls, 1)) return fail("listen", NULL);
    printf("CSVMM_LISTENING port=%d\n", port);
    fflush(stdout);
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) return fail("accept", NULL);
    long long t0 = now_ms();
    uint8_t *buf = alloc_buf(MIB);
    sha256_ctx c;
    sha256_init(&c);
    unsigned long long done = 0, want = mib >= 0 ? (unsigned long long)mib * MIB : ~0ULL;
    while (done < want) {
        size_t rq = want - done < MIB ? (size_t)(want - done) : MIB;
        ssize_t n = read(fd, buf, rq);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail("recv", NULL);
        }
        if (n == 0) break;
        sha256_update(&c, buf, (size_t)n);
        done += (unsigned long long)n;
    }
    close(fd);
    close(ls);
    char hex[65];
    sha256_final(&c, hex);
    printf("CSVMM_RESULT tcp-recv port=%d bytes=%llu sha256=%s ms=%lld\n", port, done, hex,
           now_ms() - t0);
    if (mib >= 0 && done != want) return 1;
    return 0;
}

#define CTL_BASE 0xC0000000UL

static int ctl_store(unsigned off, unsigned width, uint32_t val)
{
    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) return fail("open", "/dev/mem");
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)CTL_BASE);
    if (p == MAP_FAILED) return fail("mmap", "/dev/mem");
    if (width == 4)
        *(volatile uint32_t *)((char *)p + off) = val;
    else
        *(volatile uint8_t *)((char *)p + off) = (uint8_t)val;
    munmap(p, 4096);
    close(fd);
    return 0;
}

/* Mount point busy (already mounted) counts as success. */
static int mount_one(const char *type, const char *dir, const char *opts)
{
    if (mount(type, dir, type, MS_NOSUID | (strcmp(type, "devtmpfs") ? MS_NODEV : 0), opts) == 0 ||
        errno == EBUSY)
        return 0;
    fprintf(stderr, "csvmm-guest: mount %s on %s: %s\n", type, dir, strerror(errno));
    return 1;
}

/*
 * boot-ready: what init does first, in one process (every exec costs seconds
 * here): mount proc, sysfs, devtmpfs (unless mounted), tmpfs on /tmp; print
 * CSVMM_READY; store the boot marker 123 (ctl-mark).
 */
static int cmd_boot_ready(void)
{
    int bad = 0;
    bad |= mount_one("proc", "/proc", NULL);
    bad |= mount_one("sysfs", "/sys", NULL);
    bad |= mount_one("devtmpfs", "/dev", NULL);
    bad |= mount_one("tmpfs", "/tmp", "mode=1777");
    if (bad) return 1;
    printf("CSVMM_READY\n");
    fflush(stdout);
    ctl_store(0x4, 1, 123);
    return 0;
}

/* ------------------------------------------------------------ PCI */
#define PCI_SYSFS "/sys/bus/pci/devices"

/* Reads a sysfs attribute (one line) into buf without the newline; "?" if unreadable. */
static void read_attr(const char *dir, const char *name, char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);
    if (fd >= 0) close(fd);
    if (n <= 0) { snprintf(buf, len, "?"); return; }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
}

/*
 * Walks the capability list of a type-0 configuration header (PCI Local Bus
 * 3.0 section 6.7: Status bit 4, pointer at 0x34) for the MSI-X capability
 * (ID 0x11, PCI 3.0 section 6.8.2): Message Control bit 15 is MSI-X Enable,
 * bits 10:0 the table size minus one. Returns the enable bit, or -1 without
 * the capability; *table gets the table size.
 */
static int msix_state(const uint8_t *cfg, size_t len, unsigned *table)
{
    if (len < 0x40 || !(cfg[0x06] & 0x10)) return -1;
    unsigned pos = cfg[0x34] & 0xfc;
    for (int guard = 0; pos >= 0x40 && pos + 4 <= len && guard < 48; guard++) {
        if (cfg[pos] == 0x11) {
            unsigned ctrl = cfg[pos + 2] | (unsigned)cfg[pos + 3] << 8;
            *table = (ctrl & 0x7ff) + 1;
            return (ctrl >> 15) & 1;
        }
        pos = cfg[pos + 1] & 0xfc;
    }
    return -1;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * pci: one line per PCI function the kernel found, lspci-like, from sysfs
 * (Documentation/PCI/sysfs-pci.rst, Documentation/ABI/testing/sysfs-bus-pci):
 *   CSVMM_PCI 0000:00:03.0 vendor=0x1af4 device=0x1042 class=0x010000 msix=1 msix_table=2 irqs=2 driver=virtio-pci
 * vendor/device/class are the sysfs attributes; msix is the MSI-X Enable bit
 * read from the function's configuration space ("config", -1 = no MSI-X
 * capability); irqs counts the MSI/MSI-X interrupts the kernel allocated
 * (entries of msi_irqs/); driver is the bound driver's name.
 */
static int cmd_pci(void)
{
    DIR *d = opendir(PCI_SYSFS);
    if (!d) {
        fprintf(stderr, "csvmm-guest: %s: %s (kernel without PCI, or pci=off)\n", PCI_SYSFS, strerror(errno));
        return 1;
    }
    char *names[256];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < sizeof names / sizeof names[0])
        if (e->d_name[0] != '.' && (names[count] = strdup(e->d_name)) != NULL) count++;
    closedir(d);
    qsort(names, count, sizeof names[0], name_cmp);
    for (size_t i = 0; i < count; i++) {
        char dir[300], vendor[32], device[32], klass[32], link[300], path[320];
        snprintf(dir, sizeof dir, "%s/%s", PCI_SYSFS, names[i]);
        read_attr(dir, "vendor", vendor, sizeof vendor);
        read_attr(dir, "device", device, sizeof device);
        read_attr(dir, "class", klass, sizeof klass);

        uint8_t cfg[256];
        ssize_t n = -1;
        snprintf(path, sizeof path, "%s/config", dir);
        int fd = open(path, O_RDONLY);
        if (fd >= 0) { n = read(fd, cfg, sizeof cfg); close(fd); }
        unsigned table = 0;
        int msix = n > 0 ? msix_state(cfg, (size_t)n, &table) : -1;

        int irqs = 0;
        snprintf(path, sizeof path, "%s/msi_irqs", dir);
        DIR *md = opendir(path);
        if (md) {
            while ((e = readdir(md)))
                if (e->d_name[0] != '.') irqs++;
            closedir(md);
        }

        const char *driver = "none";
        snprintf(path, sizeof path, "%s/driver", dir);
        ssize_t ln = readlink(path, link, sizeof link - 1);
        if (ln > 0) {
            link[ln] = 0;
            driver = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
        }
        printf("CSVMM_PCI %s vendor=%s device=%s class=%s msix=%d msix_table=%u irqs=%d driver=%s\n",
               names[i], vendor, device, klass, msix, table, irqs, driver);
        free(names[i]);
    }
    if (count == 0) {
        fprintf(stderr, "csvmm-guest: no PCI functions in %s\n", PCI_SYSFS);
        return 1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: csvmm-guest pattern-write DEV MIB [SEED]\n"
            "       csvmm-guest pattern-write-nosync DEV MIB SEED SKIP_MIB\n"
            "       csvmm-guest sha256 DEV [MIB]\n"
            "       csvmm-guest rand-read DEV COUNT [SEED]\n"
            "       csvmm-guest write-expect-fail DEV\n"
            "       csvmm-guest tcp-send HOST PORT MIB|KIBk [SEED]\n"
            "       csvmm-guest tcp-recv PORT [MIB]\n"
            "       csvmm-guest ctl-exit N\n"
            "       csvmm-guest ctl-mark [V]\n"
            "       csvmm-guest ctl-snapshot\n"
            "       csvmm-guest boot-ready\n"
            "       csvmm-guest pci\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) return usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "pattern-write") && (argc == 4 || argc == 5))
        return pattern_write(argv[2], parse_num(argv[3], "MIB"),
                             argc == 5 ? parse_num(argv[4], "SEED") : 1, 0, 1);
    if (!strcmp(cmd, "pattern-write-nosync") && argc == 6)
        return pattern_write(argv[2], parse_num(argv[3], "MIB"), parse_num(argv[4], "SEED"),
                             parse_num(argv[5], "SKIP_MIB"), 0);
    if (!strcmp(cmd, "sha256") && (argc == 3 || argc == 4))
        return cmd_sha256(argv[2], argc == 4 ? (long long)parse_num(argv[3], "MIB") : -1);
    if (!strcmp(cmd, "rand-read") && (argc == 4 || argc == 5))
        return cmd_rand_read(argv[2], parse_num(argv[3], "COUNT"), argc == 5 ? parse_num(argv[4], "SEED") : 1);
    if (!strcmp(cmd, "write-expect-fail") && argc == 3)
        return cmd_write_expect_fail(argv[2]);
    if (!strcmp(cmd, "tcp-send") && (argc == 5 || argc == 6))
        return cmd_tcp_send(argv[2], (int)parse_num(argv[3], "PORT"), parse_size(argv[4]),
                            argc == 6 ? parse_num(argv[5], "SEED") : 1);
    if (!strcmp(cmd, "tcp-recv") && (argc == 3 || argc == 4))
        return cmd_tcp_recv((int)parse_num(argv[2], "PORT"),
                            argc == 4 ? (long long)parse_num(argv[3], "MIB") : -1);
    if (!strcmp(cmd, "ctl-exit") && argc == 3)
        return ctl_store(0x0, 4, (uint32_t)parse_num(argv[2], "N"));
    if (!strcmp(cmd, "ctl-mark") && (argc == 2 || argc == 3))
        return ctl_store(0x4, 1, argc == 3 ? (uint32_t)parse_num(argv[2], "V") : 123);
    /* The guest-control snapshot register (0x0C): csvmm --snapshot-to saves the VM here and
     * stops; a restored VM carries on from this store. */
    if (!strcmp(cmd, "ctl-snapshot") && argc == 2)
        return ctl_store(0xC, 4, 1);
    if (!strcmp(cmd, "boot-ready") && argc == 2)
        return cmd_boot_ready();
    if (!strcmp(cmd, "pci") && argc == 2)
        return cmd_pci();
    return usage();
}
