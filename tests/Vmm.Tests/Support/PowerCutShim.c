/*
 * PowerCutShim.c: an LD_PRELOAD library that keeps, next to a disk image, the file a power cut
 * would leave behind (the "durable copy"). Built and used by tests/Vmm.Tests/Support/PowerCut.cs.
 *
 * Killing the VMM is not a power cut: whatever it wrote with pwritev() is in the host's page
 * cache, and the page cache survives the process. Data is durable only once fdatasync()/fsync()
 * of the file returned 0 (fsync(2), "Data integrity": a write that completed before the call is
 * on the device when it returns), or when it was written through an O_SYNC/O_DSYNC descriptor,
 * or after sync()/syncfs(). So the shim passes every call through and, for the image only,
 *   - remembers each range written (pwrite, pwritev, pwritev2, write, writev, fallocate) as
 *     pending, tagged with a sequence number;
 *   - when fdatasync/fsync of the image (or sync/syncfs) returns 0, copies every range that was
 *     pending when that call *started* from the image into the durable copy: those writes are now
 *     durable. Ranges written while the sync ran stay pending (they may or may not have made it;
 *     the copy takes the image's current bytes, which is a state a real disk could also hold).
 * After SIGKILL of the VMM, the durable copy is the disk as a power cut at that moment leaves it:
 * what was never synced is missing.
 *
 * Environment (the shim does nothing without the first two):
 *   CSVMM_POWERCUT_IMAGE     the image the VMM writes (matched by device and inode)
 *   CSVMM_POWERCUT_DURABLE   the durable copy: the test creates it as a copy of the image
 *   CSVMM_POWERCUT_COUNTERS  a file rewritten after every intercepted call with
 *                            "writes=N bytes=N syncs=N failed_syncs=N durable_bytes=N pending=N"
 *                            (a killed process runs no destructors, so it is kept current)
 *
 * The VMM's calls must bind through the dynamic linker for LD_PRELOAD to see them: a NativeAOT
 * csvmm with <DirectPInvoke Include="libc" />. P/Invokes resolved with dlopen("libc.so.6") +
 * dlsym(handle) bypass the shim (dlsym on a handle searches that library, not the global scope),
 * and the counters then stay at zero: the test checks them.
 *
 * Build: gcc -shared -fPIC -O2 -o powercut.so PowerCutShim.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct range {
    off_t off;
    off_t len;
    uint64_t seq;
};

static int active;
static dev_t image_dev;
static ino_t image_ino;
static int durable_fd = -1;
static int counters_fd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct range *pending;
static size_t npending, cap;
static uint64_t next_seq = 1;
static unsigned long long n_writes, n_bytes, n_syncs, n_failed_syncs, n_durable_bytes;

static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off_t, off_t);
static int (*real_fdatasync)(int);
static int (*real_fsync)(int);
static void (*real_sync)(void);
static int (*real_syncfs)(int);

#define RESOLVE(name) real_##name = dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void init(void)
{
    RESOLVE(pwrite); RESOLVE(pwrite64); RESOLVE(pwritev); RESOLVE(pwritev64);
    RESOLVE(pwritev2); RESOLVE(write); RESOLVE(writev);
    RESOLVE(fallocate); RESOLVE(fallocate64); RESOLVE(fdatasync); RESOLVE(fsync);
    RESOLVE(sync); RESOLVE(syncfs);
    const char *image = getenv("CSVMM_POWERCUT_IMAGE");
    const char *durable = getenv("CSVMM_POWERCUT_DURABLE");
    const char *counters = getenv("CSVMM_POWERCUT_COUNTERS");
    struct stat st;
    if (!image || !durable || stat(image, &st) != 0) return;
    image_dev = st.st_dev;
    image_ino = st.st_ino;
    durable_fd = open(durable, O_RDWR | O_CLOEXEC);
    if (durable_fd < 0) return;
    if (counters) counters_fd = open(counters, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    active = 1;
}

static int is_image(int fd)
{
    struct stat st;
    return active && fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == image_dev && st.st_ino == image_ino;
}

/* Caller holds the lock. */
static void write_counters(void)
{
    char line[256];
    if (counters_fd < 0) return;
    int n = snprintf(line, sizeof line,
                     "writes=%llu bytes=%llu syncs=%llu failed_syncs=%llu durable_bytes=%llu pending=%zu\n",
                     n_writes, n_bytes, n_syncs, n_failed_syncs, n_durable_bytes, npending);
    if (n > 0 && real_pwrite(counters_fd, line, (size_t)n, 0) == n) ftruncate(counters_fd, n);
}

/* Copies [off, off+len) of the image (read through fd) into the durable copy. Caller holds the lock. */
static void make_durable(int fd, off_t off, off_t len)
{
    static char buf[1 << 16];
    while (len > 0) {
        size_t want = len < (off_t)sizeof buf ? (size_t)len : sizeof buf;
        ssize_t n = pread(fd, buf, want, off);
        if (n <= 0) break; /* past the end of the image */
        if (real_pwrite(durable_fd, buf, (size_t)n, off) != n) break;
        n_durable_bytes += (unsigned long long)n;
        off += n;
        len -= n;
    }
}

/* Every range pending before sequence number `before` (all of them for UINT64_MAX) is durable now. */
static void sync_done(int fd, uint64_t before)
{
    size_t kept = 0;
    for (size_t i = 0; i < npending; i++) {
        if (pending[i].seq < before) make_durable(fd, pending[i].off, pending[i].len);
        else pending[kept++] = pending[i];
    }
    npending = kept;
}

static int descriptor_syncs(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && (flags & O_DSYNC); /* O_SYNC includes the O_DSYNC bit */
}

/* Records a completed write of `len` bytes at `off` to the image (fd); `dsync`: durable at once. */
static void wrote_sync(int fd, off_t off, ssize_t len, int dsync)
{
    if (len <= 0) return;
    int saved = errno;
    pthread_mutex_lock(&lock);
    n_writes++;
    n_bytes += (unsigned long long)len;
    if (dsync || descriptor_syncs(fd)) {
        make_durable(fd, off, len);
    } else {
        if (npending == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            struct range *p = realloc(pending, ncap * sizeof *p);
            if (!p) abort(); /* losing track would make the durable copy lie */
            pending = p;
            cap = ncap;
        }
        pending[npending++] = (struct range){off, len, next_seq++};
    }
    write_counters();
    pthread_mutex_unlock(&lock);
    errno = saved;
}

static void wrote(int fd, off_t off, ssize_t len) { wrote_sync(fd, off, len, 0); }

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t r = real_pwrite(fd, buf, n, off);
    if (is_image(fd)) wrote(fd, off, r);
    return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t r = real_pwrite64(fd, buf, n, off);
    if (is_image(fd)) wrote(fd, off, r);
    return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    ssize_t r = real_pwritev(fd, iov, cnt, off);
    if (is_image(fd)) wrote(fd, off, r);
    return r;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    ssize_t r = real_pwritev64(fd, iov, cnt, off);
    if (is_image(fd)) wrote(fd, off, r);
    return r;
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    if (!is_image(fd)) return real_pwritev2(fd, iov, cnt, off, flags);
    off_t at = off == -1 ? lseek(fd, 0, SEEK_CUR) : off; /* -1: at the file position */
    ssize_t r = real_pwritev2(fd, iov, cnt, off, flags);
    wrote_sync(fd, at, r, (flags & (RWF_DSYNC | RWF_SYNC)) != 0); /* a write with its own fdatasync */
    return r;
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return pwritev2(fd, iov, cnt, off, flags);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (!is_image(fd)) return real_write(fd, buf, n);
    off_t off = lseek(fd, 0, SEEK_CUR);
    ssize_t r = real_write(fd, buf, n);
    wrote(fd, off, r);
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    if (!is_image(fd)) return real_writev(fd, iov, cnt);
    off_t off = lseek(fd, 0, SEEK_CUR);
    ssize_t r = real_writev(fd, iov, cnt);
    wrote(fd, off, r);
    return r;
}

/* Zeroing, punching or allocating changes what a read returns: the range is pending like a write. */
static int fallocated(int fd, int r, off_t off, off_t len)
{
    if (r == 0 && is_image(fd)) wrote(fd, off, (ssize_t)len);
    return r;
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    return fallocated(fd, real_fallocate(fd, mode, off, len), off, len);
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
    return fallocated(fd, real_fallocate64(fd, mode, off, len), off, len);
}

static int synced(int fd, int (*real)(int))
{
    if (!is_image(fd)) return real(fd);
    pthread_mutex_lock(&lock);
    uint64_t before = next_seq;
    pthread_mutex_unlock(&lock);
    int r = real(fd);
    int saved = errno;
    pthread_mutex_lock(&lock);
    if (r == 0) {
        n_syncs++;
        sync_done(fd, before);
    } else {
        n_failed_syncs++;
    }
    write_counters();
    pthread_mutex_unlock(&lock);
    errno = saved;
    return r;
}

int fdatasync(int fd) { return synced(fd, real_fdatasync); }
int fsync(int fd) { return synced(fd, real_fsync); }

/* sync() and syncfs() of the image's file system make every write durable. They have no
 * descriptor of the image to read through: the durable copy catches up through one of its own. */
static void all_durable(void)
{
    const char *image = getenv("CSVMM_POWERCUT_IMAGE");
    int fd = image ? open(image, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) return;
    pthread_mutex_lock(&lock);
    n_syncs++;
    sync_done(fd, UINT64_MAX);
    write_counters();
    pthread_mutex_unlock(&lock);
    close(fd);
}

void sync(void)
{
    real_sync();
    if (active) all_durable();
}

int syncfs(int fd)
{
    struct stat st;
    int r = real_syncfs(fd);
    if (r == 0 && active && fstat(fd, &st) == 0 && st.st_dev == image_dev) all_durable();
    return r;
}
