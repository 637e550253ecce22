#!/usr/bin/env python3
"""Start a server binary N times; time from just before exec to the first complete answer to GET /
on its Unix socket (or, for a binary without an API, to its 'ready' line); the process's CPU time
at that moment (sum over threads of /proc/PID/task/*/schedstat); then, after 1 s idle, VmRSS and
VmHWM. Prints medians (min-max)."""
import os, socket, statistics, subprocess, sys, time

def cpu_ns(pid):
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total

def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])

def get_root(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(body) < length:
            body += s.recv(4096)
        return head.split(b"\r\n")[0]
    except OSError:
        return None
    finally:
        s.close()

def run_once(binary, api):
    sock = f"/tmp/fcapi-bench-{os.getpid()}.sock"
    if os.path.exists(sock):
        os.unlink(sock)
    t0 = time.monotonic_ns()
    p = subprocess.Popen([binary, sock], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        if api:
            while True:
                if os.path.exists(sock):
                    line = get_root(sock)
                    if line is not None:
                        break
                time.sleep(0.0002)
        else:
            p.stdout.readline()
        t1 = time.monotonic_ns()
        cpu = cpu_ns(p.pid)
        time.sleep(1.0)
        rss, hwm = status_kib(p.pid, "VmRSS"), status_kib(p.pid, "VmHWM")
        return (t1 - t0) / 1e6, cpu / 1e6, rss, hwm, line if api else b"ready"
    finally:
        p.kill()
        p.wait()
        if os.path.exists(sock):
            os.unlink(sock)

def fmt(xs, digits=1):
    return f"{statistics.median(xs):.{digits}f} ({min(xs):.{digits}f}-{max(xs):.{digits}f})"

runs = int(os.environ.get("RUNS", "20"))
for arg in sys.argv[1:]:
    name, _, binary = arg.partition("=")
    api = name not in ("none", "csvmm")
    res = [run_once(binary, api) for _ in range(runs)]
    print(f"{name:14} size {os.path.getsize(binary)/1024:8.0f} KiB | ready {fmt([r[0] for r in res])} ms | "
          f"cpu {fmt([r[1] for r in res])} ms | VmRSS {fmt([r[2] for r in res],0)} KiB | VmHWM {fmt([r[3] for r in res],0)} KiB | {res[0][4].decode()}")
