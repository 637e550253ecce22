#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/Fuzz/corpus/<target>/seed-*. The input formats are
documented on each target class (tests/Fuzz/Csvmm.Fuzz/Targets). Files the fuzzer found are kept
beside these (named by their content hash), crash-* files are inputs that once crashed a target
(regressions); rerunning this only rewrites the seeds."""
import os, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
u8 = lambda v: struct.pack("<B", v)
u16 = lambda v: struct.pack("<H", v)
u32 = lambda v: struct.pack("<I", v)
u64 = lambda v: struct.pack("<Q", v)


def write(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- virtqueue: setup byte = indirect | event_idx<<1 | log2(size)<<2
def desc(i, addr, ln, flags, nxt):  # op 0: descriptor with 16-bit address and length
    return u8(0) + u8(i) + u16(addr) + u16(ln) + u8(flags) + u8(nxt)

pub = lambda h: u8(2) + u8(h)
pop = lambda n=1: u8(4) + u8(n - 1)
done = lambda ln: u8(5) + u32(ln)
poke = lambda at, b: u8(6) + u16(at) + u8(len(b)) + b
raw_desc = lambda addr, ln, fl, nx: u64(addr) + u32(ln) + u16(fl) + u16(nx)

write("virtqueue", "two-buffers", u8(3 | 4 << 2) + desc(0, 0x8000, 16, 1, 1) + desc(1, 0x8100, 512, 2, 0) + pub(0) + pop() + done(512) + u8(7))
write("virtqueue", "indirect", u8(3 | 4 << 2) + desc(0, 0x9000, 32, 4, 0)
      + poke(0x9000, raw_desc(0x8000, 16, 1, 1) + raw_desc(0x8100, 64, 2, 0)) + pub(0) + pop() + done(64))
write("virtqueue", "loop", u8(1 | 3 << 2) + desc(0, 0x8000, 16, 1, 1) + desc(1, 0x8000, 16, 1, 0) + pub(0) + pop() + done(0))
write("virtqueue", "idx-jump", u8(2 << 2) + u8(3) + u16(100) + pop() + pub(9) + pop())
write("virtqueue", "raw-desc", u8(1 | 2 << 2) + u8(1) + u8(0) + raw_desc(0xFFFF_FFFF_FFFF_F000, 0x2000, 2, 0) + pub(0) + pop() + done(1))

# ---- blk: setup byte = ro | flush<<1 | indirect<<2 | event_idx<<3 | log2(size)<<4
def req(first, type_sel, segs=()):  # op 4: request; segs = [(offset, len16, sector_flag, payload)]
    b = u8(4) + u8(first) + u8(type_sel | len(segs) << 5)
    for at, l16, big, payload in segs:
        b += u16(at) + u8(l16) + u8(big) + payload
    return b

kick = u8(7)
write("blk", "read", u8(2 | 4 << 4) + req(0, 0, [(0, 0, 1, b"")]) + kick)
write("blk", "write", u8(2 | 4 << 4) + req(0, 1, [(0, 0, 1, b"\xab" * 64)]) + kick)
write("blk", "write-sync-ro", u8(1 | 4 << 4) + req(0, 1, [(0, 0, 1, b"\xab" * 64)]) + kick)
write("blk", "flush-getid", u8(2 | 4 << 4) + req(0, 2) + req(4, 3, [(0x100, 2, 0, b"")]) + kick)
write("blk", "discard", u8(2 | 4 << 4) + req(0, 4, [(0, 1, 0, u64(2) + u32(4) + u32(0))]) + kick)
write("blk", "write-zeroes", u8(2 | 4 << 4) + req(0, 5, [(0, 2, 0, u64(0) + u32(8) + u32(1) + u64(126) + u32(2) + u32(0))]) + kick)
write("blk", "unsupported", u8(4 << 4) + req(0, 6) + req(2, 7) + kick)
write("blk", "indirect-read", u8(4 | 4 << 4) + desc(0, 0xE000, 48, 4, 0)
      + poke(0xE000, raw_desc(0x8000, 16, 0, 0)[:14] + u16(1) + raw_desc(0xA000, 512, 3, 2) + raw_desc(0xF000, 1, 2, 0)) + pub(0) + kick)

# ---- net: setup byte = mrg_rxbuf | indirect<<1 | event_idx<<2 | copied_len<<3 | log2(size)<<4
def post(q, first, segs, wide=False, flip=False):  # op 4 (+8 for tx): segs = [(offset, len, payload)]
    b = u8(4 | q << 3) + u8(first) + u8((len(segs) - 1) | (4 if flip else 0) | (8 if wide else 0))
    for at, ln, payload in segs:
        b += u16(at) + (u16(ln) if wide else u8(ln - 12)) + payload
    return b

frame = lambda kind, body: u8(5) + u8(kind) + body
rx, tx = u8(7), u8(15)
write("net", "rx-one", u8(4 << 4) + post(0, 0, [(0, 1526, b"")], wide=True) + frame(1, u16(100) + b"\0" * 16) + rx)
write("net", "rx-merge", u8(1 | 4 << 4) + post(0, 0, [(0, 100, b"")]) + post(0, 1, [(0x200, 200, b"")]) + post(0, 2, [(0x400, 2000, b"")], wide=True)
      + frame(1, u16(1500) + b"\0" * 16) + rx)
write("net", "rx-too-big", u8(4 << 4) + post(0, 0, [(0, 60, b"")]) + frame(2, u8(0) + b"\0" * 16) + rx + frame(0, u8(5)) + rx)
write("net", "tx", u8(4 << 4) + post(1, 0, [(0x1000, 12, b"\0" * 12), (0x2000, 60, b"\xff" * 16)]) + tx)
write("net", "tx-short-writable", u8(2 << 4) + post(1, 0, [(0x1000, 12, b"")], flip=True) + post(1, 1, [(0x1000, 12, b"")]) + tx)
write("net", "rx-error", u8(3 << 4) + post(0, 0, [(0, 200, b"")]) + frame(4 | 1, u16(64) + b"\0" * 16) + rx + rx)

# ---- mmio: setup byte = net; op 3 handshake = sel, u64 feature mask, per-queue log2(size)
hs = lambda sel, mask, *logs: u8(3) + u8(sel) + u64(mask) + bytes(logs)
act = lambda q, b: u8(4 | q << 3) + b  # then a QueueDriver action (its op byte + operands)
proc = lambda q: u8(5 | q << 3)
write("mmio", "blk-handshake", u8(0) + hs(0, 0xFFFF_FFFF_FFFF_FFFF, 4) + act(0, u8(0) + u8(0) + u16(0x8000) + u16(16) + u8(1) + u8(1))
      + act(0, u8(0) + u8(1) + u16(0x9000) + u16(1) + u8(2) + u8(0)) + act(0, u8(2) + u8(0)) + proc(0))
write("mmio", "net-handshake", u8(1) + hs(0, 0xFFFF_FFFF_FFFF_FFFF, 4, 4) + act(1, u8(0) + u8(0) + u16(0x8000) + u16(64) + u8(0) + u8(0))
      + act(1, u8(2) + u8(0)) + proc(1) + proc(0))
write("mmio", "bad-features", u8(0) + hs(1, 0x1_0000_0000_0000, 4) + u8(7) + u8(0x0F))
write("mmio", "registers", u8(1) + u8(0) + u16(0) + u8(2) + u8(1) + u16(0x101) + u8(1) + u32(7) + u8(0) + u16(0x100) + u8(7)
      + u8(2) + u8(12) + u32(0x3) + u8(0x12) + u8(5))

# ---- boot: memory selector, flags (bit 0 initrd), u16 cmdline selector, u32 kernel length, kernel, initrd
def bzimage(setup_sects=1, size=1200, version=0x020F, init_size=0x10000):
    b = bytearray(size)
    b[0x1F1] = setup_sects
    b[0x1FE:0x200] = u16(0xAA55)
    b[0x201] = 0x62  # jmp: header ends at 0x264
    b[0x202:0x206] = b"HdrS"
    b[0x206:0x208] = u16(version)
    b[0x211] = 1  # LOADED_HIGH
    b[0x22C:0x230] = u32(0x37FFFFFF)
    b[0x230:0x234] = u32(0x200000)
    b[0x236:0x238] = u16(1)  # XLF_KERNEL_64
    b[0x238:0x23C] = u32(2047)
    b[0x260:0x264] = u32(init_size)
    return bytes(b)

def elf(paddr=0x1000000, memsz=0x1000, entry=0x1000000):
    h = bytearray(64)
    h[0:4] = b"\x7fELF"
    h[4], h[5] = 2, 1
    h[18:20] = u16(62)
    h[24:32] = u64(entry)
    h[32:40] = u64(64)
    h[54:56] = u16(56)
    h[56:58] = u16(1)
    ph = u32(1) + u32(5) + u64(0) + u64(paddr) + u64(paddr) + u64(120) + u64(memsz) + u64(0x1000)
    return bytes(h) + ph

boot = lambda mem, flags, cmd, kernel, initrd=b"": u8(mem) + u8(flags) + u16(cmd) + u32(len(kernel)) + kernel + initrd
write("boot", "bzimage", boot(1, 0, 0, bzimage()))
write("boot", "bzimage-initrd", boot(2, 1, 1, bzimage(), b"070701" + b"\0" * 100))
write("boot", "bzimage-small-memory", boot(0, 1, 0, bzimage(), b"x" * 10))
write("boot", "bzimage-old-protocol", boot(1, 0, 0, bzimage(version=0x0206)))
write("boot", "elf", boot(1, 0, 0, elf()))
write("boot", "elf-initrd-long-cmdline", boot(2, 1, 2, elf(), b"initrd"))
write("boot", "elf-low", boot(1, 0, 0, elf(paddr=0x1000, entry=0x1000)))


# ---- pci: ops (PciTarget): 2 = config write to the function's own register, 11 = BAR 0 write,
# 3 = BAR 0 read, 4 = interrupts, 5 = device_status
cfg = lambda reg, v: u8(2) + u8(reg) + u32(v)
bar_w = lambda off, width_code, v: u8(11) + u16(off) + u8(width_code) + u64(v)
bar_r = lambda off, width_code: u8(3) + u16(off) + u8(width_code) + u64(0)
W1, W2, W4, W8 = 0, 1, 2, 3
sizing = (cfg(0x04, 0) + cfg(0x10, 0xFFFFFFFF) + cfg(0x14, 0xFFFFFFFF) + cfg(0x10, 0xE0000000)
          + cfg(0x14, 0) + cfg(0x04, 6))
write("pci", "bar-sizing", sizing)
driver = (bar_w(0x14, W1, 0) + bar_w(0x14, W1, 3) + bar_w(0x08, W4, 1) + bar_w(0x0C, W4, 1)
          + bar_w(0x08, W4, 0) + bar_w(0x0C, W4, 0) + bar_w(0x14, W1, 0xB) + bar_r(0x14, W1)
          + bar_w(0x10, W2, 0) + bar_w(0x16, W2, 0) + bar_w(0x18, W2, 16) + bar_w(0x1A, W2, 1)
          + bar_w(0x20, W4, 0x1000) + bar_w(0x28, W4, 0x2000) + bar_w(0x30, W4, 0x3000)
          + bar_w(0x1C, W2, 1) + bar_w(0x14, W1, 0xF)
          + bar_w(0x4000, W8, 0xFEE00000) + bar_w(0x4008, W4, 0x30) + bar_w(0x400C, W4, 0)
          + bar_w(0x4010, W8, 0xFEE00000) + bar_w(0x4018, W4, 0x31) + bar_w(0x401C, W4, 0)
          + cfg(0x84, 0x80000011) + u8(4) + u8(1) + bar_r(0x1000, W1) + bar_r(0x5000, W4))
write("pci", "driver-msix", driver)
hostile = (cfg(0x10, 0) + cfg(0x10, 0xC0000000) + cfg(0x10, 0xFEE00000) + cfg(0x10, 0xFEBFC000)
           + bar_w(0x4000, W4, 0xC0000000) + bar_w(0x4008, W4, 0x231) + cfg(0x84, 0xC0000011)
           + cfg(0x84, 0x80000011) + u8(4) + u8(0) + u8(5) + u8(0) + cfg(0x10, 0xE0000000))
write("pci", "hostile-bars-msix", hostile)
# ---- http: limits byte (even: Firecracker's, odd: tiny), then chunks [u8 length][bytes]
def chunks(data, size=255):
    return b"".join(u8(len(data[i:i + size])) + data[i:i + size] for i in range(0, len(data), size))

drive_json = b'{"drive_id":"rootfs","path_on_host":"/r.img","is_root_device":true,"is_read_only":false}'
put_drive = (b'PUT /drives/rootfs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: '
             + str(len(drive_json)).encode() + b'\r\n\r\n' + drive_json)
write("http", "keep-alive", u8(0) + chunks(b"GET / HTTP/1.1\r\n\r\n" + put_drive + b"PATCH /vm HTTP/1.1\r\nContent-Length: 18\r\n\r\n{\"state\":\"Paused\"}"))
write("http", "byte-by-byte", u8(0) + chunks(put_drive, 1))
write("http", "expect-continue", u8(0) + chunks(b"PUT /logger HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n") + chunks(b"{}"))
write("http", "lf-only-absolute", u8(0) + chunks(b"\r\n\nGET http://localhost/version?x HTTP/1.0\nConnection: keep-alive\n\n"))
write("http", "chunked", u8(0) + chunks(b"PUT /actions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
write("http", "too-large", u8(1) + chunks(b"PUT /x HTTP/1.1\r\nContent-Length: 65\r\n\r\n" + b"x" * 65))
write("http", "long-headers", u8(1) + chunks(b"GET / HTTP/1.1\r\n" + b"X-A: " + b"a" * 200 + b"\r\n\r\n"))

# ---- api: method byte (0 GET, 1 PUT, 2 PATCH, 3 DELETE), path byte (index, or length of a raw path), body
api = lambda method, path, body=b"": u8(method) + u8(path) + body
write("api", "instance-info", api(0, 0))
write("api", "machine-config", api(1, 3, b'{"vcpu_count":2,"mem_size_mib":256,"smt":false,"cpu_template":"None"}'))
write("api", "drive", api(1, 5, b'{"drive_id":"rootfs","path_on_host":"/r","is_root_device":true,"rate_limiter":{"bandwidth":{"size":1,"refill_time":2}}}'))
write("api", "net", api(1, 7, b'{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"06:00:ac:10:00:02","rx_rate_limiter":{}}'))
write("api", "action", api(1, 10, b'{"action_type":"InstanceStart"}'))
write("api", "vm-state", api(2, 11, b'{"state":"Paused"}'))
write("api", "nested", api(1, 8, b'{"level":' + b"[" * 40 + b"]" * 40 + b"}"))
write("api", "raw-path", api(1, 0x86, b"balloon" + b'{"amount_mib":1}'))
