#!/usr/bin/env python3
"""Benchmark one static-file HTTP server with wrk, fairly and repeatably.

  bench.py run --name NAME [options] -- SERVER_CMD [ARGS...]
  bench.py report RESULT.jsonl [...]        # comparison tables (markdown)

SERVER_CMD may use the placeholders {ROOT} (fixture root, = WORK/public),
{PORT} and {WORK}; the server is started with WORK as its working directory,
so a server that can only serve ./public (the Go seed) works unchanged.

What `run` does:
  1. builds the fixture tree under WORK/public (idempotent);
  2. checks that 127.0.0.1:PORT is free;
  3. measures start-to-first-200 over --startup-trials fresh starts;
  4. starts the server once more, pinned with taskset to --server-cpus,
     records idle RSS, probes every scenario path once (status, body size,
     keep-alive), then for each scenario runs a wrk warm-up and a measured
     wrk run (wrk -t1, pinned to --client-cpus) while sampling the server's
     process tree (VmRSS, threads, CPU time) from /proc;
  5. stops everything it started, by PID, and checks the port is free again;
  6. writes RESULTS.jsonl (one JSON object per scenario), a markdown table,
     and the raw wrk output of every run into --out.

Only 127.0.0.1 is ever targeted.  Only the Python standard library is used.

Copied from the team's shared benchmark harness (shared/bench/bench.py) so the
repository is self-contained; driven by bench/run.  Changes from the shared copy:
  - --server-stdout null (the access log goes to /dev/null, stderr is still captured);
  - the probe sends the scenario's extra headers too (as wrk does), and a scenario that
    asks for gzip is valid only if the answer is Content-Encoding: gzip and gunzips to
    exactly the file: js100k-gzip-c16 (WORK/public/app.js, ~100 KB of generated
    JavaScript; fixture version 2);
  - idle9000 is not a wrk run: 9,000 keep-alive connections that have each been served
    one GET /1k.bin stay open while the server's RSS is measured and 20 fresh requests
    (each on a new connection) are timed; the harness raises its own RLIMIT_NOFILE for it
    and spreads the connections over source addresses 127.0.0.1-127.0.0.9.
"""

import argparse
import datetime
import errno
import gzip
import http.client
import json
import math
import os
import platform
import random
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "wrk_json.lua")
HOST = "127.0.0.1"  # fixed on purpose: this harness never targets anything else
FIXTURE_VERSION = "2"  # 2: app.js
CLK_TCK = os.sysconf("SC_CLK_TCK")

# name, path, connections, extra wrk headers, expected status, description
SCENARIOS = [
    ("small-c1", "/1k.bin", 1, [], 200, "1 KiB file, keep-alive, 1 conn"),
    ("small-c16", "/1k.bin", 16, [], 200, "1 KiB file, keep-alive, 16 conns"),
    ("small-c64", "/1k.bin", 64, [], 200, "1 KiB file, keep-alive, 64 conns"),
    ("small-c256", "/1k.bin", 256, [], 200, "1 KiB file, keep-alive, 256 conns"),
    ("64k-c16", "/64k.bin", 16, [], 200, "64 KiB file, keep-alive, 16 conns"),
    ("10m-c4", "/10m.bin", 4, [], 200, "10 MiB file, keep-alive, 4 conns (throughput)"),
    ("dirlist-c16", "/dir1000/", 16, [], 200, "listing of a 1000-entry directory, 16 conns"),
    ("nested-c16", "/a/b/c/d/e/nested.txt", 16, [], 200, "small file 5 directories deep, 16 conns"),
    ("404-c16", "/no/such/file.txt", 16, [], 404, "missing path, 16 conns"),
    ("close-c16", "/1k.bin", 16, ["Connection: close"], 200,
     "1 KiB file, Connection: close (new TCP connection per request), 16 conns"),
    ("js100k-gzip-c16", "/app.js", 16, ["Accept-Encoding: gzip, br"], 200,
     "100 KB JavaScript, Accept-Encoding: gzip, br (valid only if gzipped), 16 conns"),
    # not wrk: `conns` keep-alive connections left idle, then RSS and fresh requests (run_idle)
    ("idle9000", "/1k.bin", 9000, [], 200,
     "9,000 idle keep-alive conns: server RSS, and 20 fresh requests timed meanwhile"),
]
SCENARIO_NAMES = [s[0] for s in SCENARIOS]
IDLE_SCENARIOS = {"idle9000"}  # measured by run_idle, not by wrk
IDLE_FRESH = 20                # fresh requests timed while the idle connections stay open
IDLE_SOURCES = ["127.0.0.%d" % i for i in range(1, 10)]  # client addresses, round robin
FD_SPARE = 200                 # descriptors beyond one per idle connection (fresh, files, logs)


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- fixture
def det_bytes(n, seed):
    return random.Random(seed).randbytes(n)


JS_WORDS = ("user item list cache value index count state node event handler request response "
            "config options buffer result error token route path query params data payload "
            "element child parent render update timer queue store key entry size offset limit "
            "filter map source target module scope context layout style theme label title").split()
JS_VERBS = ("get set load save parse format build create update remove apply resolve handle "
            "fetch emit check").split()


def js_source(size, seed):
    """`size` bytes of deterministic JavaScript-looking code: commented functions built from a
    small vocabulary, each with its own local names, calling a few shared helpers.  It
    compresses like real unminified code (about 4.2x at deflate level 6, 3.3x at level 1),
    not like one repeated line (100x), so the gzip scenario costs what real JS costs."""
    rnd = random.Random(seed)

    def name():
        w = rnd.choice(JS_WORDS)
        return w + rnd.choice(JS_WORDS).capitalize() if rnd.random() < 0.5 else w

    def fname():
        n = name()
        return rnd.choice(JS_VERBS) + n[0].upper() + n[1:]

    helpers = [fname() for _ in range(40)]

    def expr(local, depth=0):
        r = rnd.random()
        if r < 0.1:
            return str(rnd.choice((0, 1, 2, 16, 100, 1000, rnd.randint(0, 999))))
        if r < 0.2:
            return '"%s"' % rnd.choice(JS_WORDS)
        if r < 0.55 or depth > 1:
            return "%s.%s" % (rnd.choice(local), name()) if rnd.random() < 0.6 else rnd.choice(local)
        if r < 0.8:
            return "%s(%s)" % (rnd.choice(helpers), ", ".join(
                expr(local, depth + 1) for _ in range(rnd.randint(0, 2))))
        return "%s %s %s" % (expr(local, depth + 1),
                             rnd.choice(("+", "===", "!==", "&&", "||", "<")), expr(local, depth + 1))

    def statement(local):
        k = rnd.random()
        if k < 0.35:
            v = name()
            line = ["  const %s = %s;" % (v, expr(local))]
            local.append(v)
            return line
        if k < 0.55:
            return ["  if (%s) {" % expr(local),
                    "    %s.%s = %s;" % (rnd.choice(local), name(), expr(local)), "  }"]
        if k < 0.7:
            a, b = rnd.choice(local), rnd.choice(local)
            return ["  for (let i = 0; i < %s.length; i++) {" % a,
                    "    %s.push(%s[i]);" % (b, a), "  }"]
        if k < 0.88:
            return ["  %s({ %s });" % (rnd.choice(helpers), ", ".join(
                "%s: %s" % (name(), expr(local)) for _ in range(rnd.randint(1, 3))))]
        return ["  // %s the %s first" % (rnd.choice(JS_VERBS), rnd.choice(JS_WORDS))]

    out, total = ['"use strict";\n'], 0
    while total < size:
        local = [name() for _ in range(rnd.randint(1, 3))]
        lines = ["", "/**", " * %s the %s of a %s." % (
            rnd.choice(JS_VERBS).capitalize(), rnd.choice(JS_WORDS), rnd.choice(JS_WORDS)),
                 " */", "export function %s(%s) {" % (fname(), ", ".join(local))]
        for _ in range(rnd.randint(2, 7)):
            lines += statement(local)
        lines += ["  return %s;" % expr(local), "}"]
        chunk = "\n".join(lines) + "\n"
        out.append(chunk)
        total += len(chunk)
    return "".join(out).encode()[:size]


def make_fixture(root):
    stamp = os.path.join(root, ".fixture-version")
    try:
        with open(stamp) as f:
            if f.read().strip() == FIXTURE_VERSION:
                return
    except OSError:
        pass
    log("creating fixture in", root)
    os.makedirs(root, exist_ok=True)
    for name, size, seed in (("1k.bin", 1024, 1), ("64k.bin", 64 * 1024, 2),
                             ("10m.bin", 10 * 1024 * 1024, 3)):
        with open(os.path.join(root, name), "wb") as f:
            f.write(det_bytes(size, seed))
    d = os.path.join(root, "dir1000")
    os.makedirs(d, exist_ok=True)
    for i in range(1000):
        with open(os.path.join(d, "file-%04d.txt" % i), "w") as f:
            f.write("entry %d\n" % i)
    nd = os.path.join(root, "a", "b", "c", "d", "e")
    os.makedirs(nd, exist_ok=True)
    with open(os.path.join(nd, "nested.txt"), "w") as f:
        f.write("nested file\n" * 20)
    with open(os.path.join(root, "app.js"), "wb") as f:
        f.write(js_source(100 * 1024, 7))
    with open(stamp, "w") as f:
        f.write(FIXTURE_VERSION + "\n")


def expected_size(root, path):
    p = os.path.join(root, path.lstrip("/"))
    return os.path.getsize(p) if os.path.isfile(p) else None


def expected_body(root, path):
    p = os.path.join(root, path.lstrip("/"))
    if not os.path.isfile(p):
        return None
    with open(p, "rb") as f:
        return f.read()


def wants_gzip(headers):
    """The scenario's request accepts gzip, so the answer must be gzipped to count."""
    return any(h.lower().startswith("accept-encoding:") and "gzip" in h.lower() for h in headers)


# ---------------------------------------------------------------- ports / probes
def port_in_use(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect((HOST, port))
        return True
    except OSError:
        pass
    finally:
        s.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((HOST, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def quick_get(port, path, timeout=1.0):
    """Raw one-shot GET; returns the status code or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((HOST, port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                   % (path, HOST, port)).encode())
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        parts = buf.split(b" ", 2)
        return int(parts[1]) if len(parts) >= 2 else None
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def probe(port, path, headers=(), expect=None):
    """One HTTP/1.1 request with http.client and the scenario's extra headers (as wrk sends
    them): status, body size as sent, keep-alive, Content-Encoding.  A gzip body is
    gunzipped and, given the file's bytes in `expect`, compared with them (decoded_ok)."""
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        hs = {"Host": "%s:%d" % (HOST, port)}
        hs.update(h.split(":", 1) for h in headers)
        hs = {k.strip(): v.strip() for k, v in hs.items()}
        c.request("GET", path, headers=hs)
        r = c.getresponse()
        body = r.read()
        hdr = {k.lower(): v for k, v in r.getheaders()}
        out = {"status": r.status, "body_bytes": len(body),
               "http_version": "1.1" if r.version == 11 else "1.0",
               "keepalive": not r.will_close,
               "content_type": hdr.get("content-type"),
               "content_encoding": hdr.get("content-encoding"),
               "vary": hdr.get("vary"),
               "server_header": hdr.get("server")}
        if (hdr.get("content-encoding") or "").lower() == "gzip":
            try:
                plain = gzip.decompress(body)
                out["decoded_bytes"] = len(plain)
                out["decoded_ok"] = expect is not None and plain == expect
            except (OSError, EOFError, ValueError) as e:  # not a whole gzip stream
                out["decoded_ok"] = False
                out["decode_error"] = repr(e)
        return out
    except Exception as e:  # noqa: BLE001 - report any failure as data
        return {"status": None, "error": repr(e)}
    finally:
        c.close()


def probe_ok(pr, want, size, gz):
    """Valid answer: the expected status and the file's size or, for a scenario that asks
    for gzip, Content-Encoding: gzip with a body that gunzips to exactly the file."""
    if pr.get("status") != want:
        return False
    if gz:
        return (pr.get("content_encoding") or "").lower() == "gzip" and bool(pr.get("decoded_ok"))
    return size is None or pr.get("body_bytes") == size


# ---------------------------------------------------------------- /proc sampling
def tree_pids(pid):
    """pid and all its live descendants (via /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            try:
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    return out


def proc_status(pid):
    d = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    d[k] = int(v.split()[0])
    except (OSError, ValueError):
        pass
    return d


def proc_cpu_ticks(pid, children=False):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime=14, stime=15, cutime=16, cstime=17
        t = int(fields[11]) + int(fields[12])
        if children:
            t += int(fields[13]) + int(fields[14])
        return t
    except (OSError, ValueError, IndexError):
        return 0


def tree_sample(pid):
    pids = tree_pids(pid)
    rss = thr = 0
    n = 0
    for p in pids:
        st = proc_status(p)
        if st:
            n += 1
            rss += st.get("VmRSS", 0)
            thr += st.get("Threads", 0)
    return {"rss_kb": rss, "threads": thr, "procs": n}


def tree_cpu_ticks(pid):
    """CPU ticks of the live tree plus reaped children of the main process."""
    total = 0
    for p in tree_pids(pid):
        total += proc_cpu_ticks(p, children=(p == pid))
    return total


def cpu_times():
    """Per-CPU jiffies from /proc/stat: {cpu: (busy, idle, softirq, steal, total)}."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *v = line.split()
                v = [int(x) for x in v[:8]] + [0] * (8 - len(v[:8]))
                user, nice, system, idle, iowait, irq, softirq, steal = v
                total = sum(v)
                out[int(name[3:])] = (total - idle - iowait, idle + iowait, softirq, steal, total,
                                      user + nice + system)
    return out


def cpu_usage(t0, t1, cpus):
    """Busy, softirq and steal % of the given CPUs between two cpu_times() snapshots."""
    d = [0, 0, 0, 0, 0]
    for c in cpus:
        for i in range(5):
            d[i] += t1[c][i] - t0[c][i]
    tot = d[4] or 1
    n = len(cpus)
    return {"busy": round(100.0 * d[0] / tot * n, 1), "softirq": round(100.0 * d[2] / tot * n, 1),
            "steal": round(100.0 * d[3] / tot * n, 1)}


CALIB_CODE = ("import time\nn = 0\nend = time.perf_counter() + %r\n"
              "while time.perf_counter() < end:\n    for _ in range(1000):\n        n += 1\n"
              "print(n)\n")


def calibrate(cpu_sets, secs=0.25):
    """Speed of each CPU set right now: millions of Python loop steps per second.

    The host under a VM can slow a core down without any steal time showing; a lower
    value than in other runs explains a lower result, it is not the server's fault."""
    procs = [subprocess.Popen(["taskset", "-c", c, sys.executable, "-c", CALIB_CODE % secs],
                              stdout=subprocess.PIPE, text=True) for c in cpu_sets]
    out = []
    for p in procs:
        o, _ = p.communicate()
        try:
            out.append(round(int(o.strip()) / secs / 1e6, 2))
        except ValueError:
            out.append(None)
    return out


class Sampler(threading.Thread):
    def __init__(self, pid, interval=0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop_ev = threading.Event()
        self.peak_rss = self.peak_threads = self.peak_procs = 0

    def run(self):
        while not self.stop_ev.is_set():
            s = tree_sample(self.pid)
            self.peak_rss = max(self.peak_rss, s["rss_kb"])
            self.peak_threads = max(self.peak_threads, s["threads"])
            self.peak_procs = max(self.peak_procs, s["procs"])
            self.stop_ev.wait(self.interval)

    def stop(self):
        self.stop_ev.set()
        self.join()


# ---------------------------------------------------------------- server lifecycle
class Server:
    def __init__(self, cmd, work, port, cpus, logpath, stdout_null=False):
        self.cmd, self.work, self.port, self.cpus = cmd, work, port, cpus
        self.logpath = logpath
        # stdout_null: the per-request access log on stdout goes to /dev/null instead of
        # into the log file (the benchmark then measures formatting and writing the log,
        # not the disk); stderr is still kept for start-up lines and errors.
        self.stdout_null = stdout_null
        self.proc = None

    def start(self):
        logf = open(self.logpath, "ab")
        self.t0 = time.monotonic()
        out = subprocess.DEVNULL if self.stdout_null else logf
        self.proc = subprocess.Popen(["taskset", "-c", self.cpus] + self.cmd, cwd=self.work,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=logf,
                                     start_new_session=True)
        logf.close()
        return self.proc.pid

    def wait_ready(self, path, timeout=30.0):
        """Seconds from Popen to the first 200 response, or raise."""
        deadline = self.t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early with code %s (see %s)"
                                   % (self.proc.returncode, self.logpath))
            if quick_get(self.port, path, timeout=1.0) == 200:
                return time.monotonic() - self.t0
            time.sleep(0.002)
        raise RuntimeError("server not ready after %.0fs (see %s)" % (timeout, self.logpath))

    def stop(self):
        if self.proc is None:
            return
        pid = self.proc.pid
        kids = [p for p in tree_pids(pid) if p != pid]
        if self.proc.poll() is None:
            os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log("server %d ignored SIGTERM; sending SIGKILL" % pid)
                os.kill(pid, signal.SIGKILL)
                self.proc.wait()
        # descendants we started (e.g. nginx workers, forked busybox children)
        deadline = time.monotonic() + 3
        for k in kids:
            while os.path.exists("/proc/%d" % k) and time.monotonic() < deadline:
                time.sleep(0.05)
            if os.path.exists("/proc/%d" % k):
                try:
                    log("killing leftover child %d" % k)
                    os.kill(k, signal.SIGKILL)
                except OSError:
                    pass
        self.proc = None
        deadline = time.monotonic() + 10
        while port_in_use(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)


# ---------------------------------------------------------------- wrk
def wrk_version():
    r = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    words = (r.stdout + r.stderr).split()
    return " ".join(words[:2]) if words else "?"


def run_wrk(port, path, conns, headers, duration, cpus, timeout_s):
    cmd = ["taskset", "-c", cpus, "wrk", "-t1", "-c%d" % conns, "-d%ds" % duration,
           "--timeout", "%ds" % timeout_s, "--latency", "-s", LUA]
    for h in headers:
        cmd += ["-H", h]
    cmd.append("http://%s:%d%s" % (HOST, port, path))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read().decode(errors="replace")
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    res = None
    for line in out.splitlines():
        if line.startswith("WRK_JSON "):
            res = json.loads(line[len("WRK_JSON "):])
    return cmd, out, res, ru.ru_utime + ru.ru_stime, p.returncode


# ---------------------------------------------------------------- idle connections
def raise_nofile(need):
    """Raise this process's soft RLIMIT_NOFILE to `need` (the server it starts inherits it),
    and the hard limit too where allowed (root); SystemExit saying what to change if not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    inf = resource.RLIM_INFINITY
    if soft == inf or soft >= need:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (need, hard if hard == inf or hard >= need else need))
    except (ValueError, OSError) as e:
        raise SystemExit(
            "idle connections need %d open files, but RLIMIT_NOFILE is %d (hard limit %d) and "
            "can't be raised (%s): raise the hard limit (`ulimit -Hn`, limits.conf, the "
            "container's nofile) or run as root" % (need, soft, hard, e))
    return need


def ephemeral_ports():
    """Size of the local port range connect() picks from (net.ipv4.ip_local_port_range)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = map(int, f.read().split())
        return hi - lo + 1
    except (OSError, ValueError):
        return 28232  # Linux's default 32768-60999


def check_idle_ports(n):
    """Each source address needs n/len(IDLE_SOURCES) free ports to 127.0.0.1:PORT; earlier
    runs leave TIME_WAITs on them for a minute, so ask for twice that.  SystemExit if short."""
    per_source = math.ceil(n / len(IDLE_SOURCES))
    ports = ephemeral_ports()
    if ports < 2 * per_source:
        raise SystemExit("%d idle connections over %d source addresses need %d ephemeral ports "
                         "each (twice, for TIME_WAITs), but net.ipv4.ip_local_port_range has %d"
                         % (n, len(IDLE_SOURCES), per_source, ports))


def time_wait_count():
    """TCP sockets in TIME_WAIT on this machine (for the out-of-ports message)."""
    n = 0
    for tab in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(tab) as f:
                n += sum(1 for line in f if line.split()[3:4] == ["06"])
        except OSError:
            pass
    return n


def tree_fds(pid):
    """Open descriptors of the server's process tree: shows the idle connections are held."""
    n = 0
    for p in tree_pids(pid):
        try:
            n += len(os.listdir("/proc/%d/fd" % p))
        except OSError:
            pass
    return n


def read_response(sock):
    """One HTTP/1.1 response with a Content-Length body: (status, body bytes, keep-alive)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the end of the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdr = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    if "content-length" not in hdr:
        raise ValueError("response without Content-Length")
    left = int(hdr["content-length"]) - len(body)
    got = len(body)
    while left > 0:
        chunk = sock.recv(min(left, 65536))
        if not chunk:
            raise ConnectionError("closed in the body")
        got += len(chunk)
        left -= len(chunk)
    return status, got, hdr.get("connection", "").lower() != "close"


def idle_socket(i):
    """A client socket bound to the i-th source address (round robin over IDLE_SOURCES), its
    port left for connect() to choose (IP_BIND_ADDRESS_NO_PORT): ports are then unique per
    (source, destination) and each of the 9 addresses has the whole ephemeral range."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24), 1)
    s.bind((IDLE_SOURCES[i % len(IDLE_SOURCES)], 0))
    return s


def get_on(sock, port, path, size):
    """connect (if not yet), GET path, read the whole answer: True if 200 with `size` bytes
    and the connection kept open; raises OSError/ValueError on a failed connection."""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path, HOST, port)).encode())
    status, got, keep = read_response(sock)
    return status == 200 and (size is None or got == size) and keep


def connect(sock, port):
    try:
        sock.connect((HOST, port))
    except OSError as e:
        if e.errno == errno.EADDRNOTAVAIL:  # no free local port for this 4-tuple
            raise SystemExit(
                "out of ephemeral ports to %s:%d (%d ports in net.ipv4.ip_local_port_range, "
                "%d sockets in TIME_WAIT): wait a minute for them to expire, or widen the range"
                % (HOST, port, ephemeral_ports(), time_wait_count()))
        raise


def open_idle(socks, port, path, n, size, give_up=50):
    """Append n connections to socks, each served one GET and then left idle.  One at a
    time: the server's accept queue never overflows (a dropped SYN costs a 1 s retry, and
    ours closes connections idle for 15 s).  Returns (bad answers, failed conns, first error)."""
    bad = failed = 0
    first = None
    for i in range(n):
        s = idle_socket(i)
        socks.append(s)  # the caller closes them all, whatever happens here
        try:
            connect(s, port)
            bad += not get_on(s, port, path, size)
        except (OSError, ValueError) as e:
            socks.pop().close()  # only live connections are held (and polled) afterwards
            failed += 1
            first = first or "connection %d: %r" % (i, e)
            if failed >= give_up:
                break
    return bad, failed, first


def fresh_request(port, path, size):
    """ms from connect() to the end of the answer on a new connection, None if it failed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        t0 = time.perf_counter()
        connect(s, port)
        ok = get_on(s, port, path, size)
        ms = (time.perf_counter() - t0) * 1000
        return round(ms, 3) if ok else None
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def closed_by_server(socks):
    """Idle connections that became readable (EOF, or an unasked-for answer) or broke."""
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    return len(poller.poll(0))


def run_idle(port, path, n, pid, size):
    """The idle scenario: n keep-alive connections, each served one request, held open while
    the server's tree RSS is read (after 1 s to settle) and IDLE_FRESH fresh requests are
    timed one by one, each on a new connection; then all are closed before returning."""
    socks = []
    fds0 = tree_fds(pid)
    t0 = time.monotonic()
    try:
        bad, failed, first = open_idle(socks, port, path, n, size)
        setup = time.monotonic() - t0
        time.sleep(1.0)
        held = tree_sample(pid)
        fds = tree_fds(pid)
        fresh = []
        for _ in range(IDLE_FRESH):
            fresh.append(fresh_request(port, path, size))
            time.sleep(0.02)
        closed = closed_by_server(socks)
        idle_s = time.monotonic() - t0
    finally:
        for s in socks:
            s.close()
        # let the server see the closes before the next scenario (or its stop)
        deadline = time.monotonic() + 5
        while tree_fds(pid) > fds0 + 50 and time.monotonic() < deadline:
            time.sleep(0.1)
    done = [x for x in fresh if x is not None]
    res = {"idle_conns": n, "idle_bad_answers": bad, "idle_failed_conns": failed,
           "idle_first_error": first, "idle_closed_by_server": closed,
           "idle_setup_s": round(setup, 2), "idle_held_s": round(idle_s, 2),
           "idle_rss_kb": held["rss_kb"], "idle_threads": held["threads"],
           "idle_procs": held["procs"], "idle_server_fds": fds,
           "idle_sources": "%s-%s" % (IDLE_SOURCES[0], IDLE_SOURCES[-1]),
           "fresh_ms": fresh, "fresh_failed": len(fresh) - len(done),
           "fresh_ms_median": round(statistics.median(done), 3) if done else None,
           "fresh_ms_max": max(done) if done else None}
    res["idle_ok"] = not (bad or failed or closed or res["fresh_failed"])
    return res


# ---------------------------------------------------------------- run
def cmd_run(a):
    port = a.port
    work = os.path.abspath(a.work)
    root = os.path.join(work, "public")
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    run_id = a.run_id or datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    tag = "%s-%s" % (a.name, run_id)
    scen = [s for s in SCENARIOS if not a.scenarios or s[0] in a.scenarios.split(",")]
    unknown = set(a.scenarios.split(",")) - set(SCENARIO_NAMES) if a.scenarios else set()
    if unknown:
        sys.exit("unknown scenarios: %s (known: %s)" % (",".join(sorted(unknown)),
                                                         ",".join(SCENARIO_NAMES)))
    if not a.cmd:
        sys.exit("missing server command after --")
    cmd = [x.replace("{ROOT}", root).replace("{PORT}", str(port)).replace("{WORK}", work)
           for x in a.cmd]
    # The harness itself (and its sampler) lives on the client CPUs.
    try:
        os.sched_setaffinity(0, {int(c) for c in expand_cpus(a.client_cpus)})
    except OSError as e:
        log("could not pin harness:", e)

    lockf = None
    if a.lock:
        import fcntl
        lockf = open(a.lock, "a")
        log("waiting for lock", a.lock)
        fcntl.flock(lockf, fcntl.LOCK_EX)

    idle_conns = max([s[2] for s in scen if s[0] in IDLE_SCENARIOS], default=0)
    if idle_conns:  # before the server starts, so it inherits the limit too
        raise_nofile(idle_conns + FD_SPARE)
        check_idle_ports(idle_conns)
    make_fixture(root)
    if port_in_use(port):
        sys.exit("port %d on %s is already in use; refusing to start" % (port, HOST))

    logpath = os.path.join(out, tag + ".server.log")
    meta = {
        "server": a.name, "run": run_id, "cmd": cmd, "port": port,
        "server_version": a.server_version, "server_stdout": a.server_stdout,
        "server_cpus": a.server_cpus, "client_cpus": a.client_cpus,
        "duration_s": a.duration, "warmup_s": a.warmup, "wrk": wrk_version(),
        "kernel": platform.release(), "cpu": cpu_model(), "nproc": os.cpu_count(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    srv = Server(cmd, work, port, a.server_cpus, logpath,
                 stdout_null=(a.server_stdout == "null"))
    results = []
    try:
        # --- startup time over fresh starts
        startups = []
        for i in range(a.startup_trials):
            srv.start()
            startups.append(srv.wait_ready("/1k.bin") * 1000)
            srv.stop()
        pid = srv.start()
        startups.append(srv.wait_ready("/1k.bin") * 1000)
        meta["startup_ms"] = [round(x, 2) for x in startups]
        meta["startup_ms_median"] = round(statistics.median(startups), 2)
        time.sleep(1.0)
        idle = tree_sample(pid)
        meta["rss_idle_kb"] = idle["rss_kb"]
        meta["threads_idle"] = idle["threads"]
        meta["procs_idle"] = idle["procs"]
        log("%s: pid %d ready, startup median %.1f ms, idle RSS %d KiB, %d threads"
            % (a.name, pid, meta["startup_ms_median"], idle["rss_kb"], idle["threads"]))

        for name, path, conns, headers, want, desc in scen:
            gz = wants_gzip(headers)
            exp = expected_size(root, path)
            pr = probe(port, path, headers, expected_body(root, path) if gz else None)
            ok = probe_ok(pr, want, exp, gz)
            idle_run = name in IDLE_SCENARIOS
            if a.warmup > 0 and not idle_run:
                run_wrk(port, path, conns, headers, a.warmup, a.client_cpus, a.wrk_timeout)
            calib = calibrate([a.server_cpus, a.client_cpus]) if a.calibrate else [None, None]
            time.sleep(0.3)
            sampler = Sampler(pid)
            c0 = tree_cpu_ticks(pid)
            k0 = cpu_times()
            h0 = os.times()
            log0 = file_size(logpath)
            t0 = time.monotonic()
            sampler.start()
            if idle_run:
                idle_res = run_idle(port, path, conns, pid, exp)
                wcmd, wout, w, wcpu, wrc = None, "", None, 0.0, 0
            else:
                wcmd, wout, w, wcpu, wrc = run_wrk(port, path, conns, headers, a.duration,
                                                   a.client_cpus, a.wrk_timeout)
            sampler.stop()
            wall = time.monotonic() - t0
            c1 = tree_cpu_ticks(pid)
            k1 = cpu_times()
            h1 = os.times()
            log1 = file_size(logpath)
            # CPU used by processes other than server, wrk and this harness, on all CPUs:
            # a non-zero value means something else ran during the measurement.
            proc_ticks = sum(k1[c][5] - k0[c][5] for c in k1 if c in k0)
            ours = (c1 - c0) + (wcpu + (h1.user - h0.user) + (h1.system - h0.system)) * CLK_TCK
            other_pct = round(max(0.0, 100.0 * (proc_ticks - ours) / CLK_TCK / wall), 1)
            if wcmd:
                with open(os.path.join(out, "%s.%s.wrk.txt" % (tag, name)), "w") as f:
                    f.write("$ " + " ".join(wcmd) + "\n" + wout)
            st = proc_status(pid)
            row = {"server": a.name, "run": run_id, "scenario": name, "desc": desc,
                   "path": path, "connections": conns, "headers": headers,
                   "expected_status": want, "probe": pr, "valid": ok}
            if idle_run:
                row.update(idle_res)
                row["valid"] = ok = ok and idle_res["idle_ok"]
            elif w is None or wrc != 0:
                row["error"] = "wrk failed (rc=%s)" % wrc
                log(name, row["error"])
            else:
                dur = w["duration_us"] / 1e6
                sock = w["errors_connect"] + w["errors_read"] + w["errors_write"] + w["errors_timeout"]
                row.update({
                    "requests": w["requests"], "rps": round(w["requests"] / dur, 1),
                    "bytes": w["bytes"], "mib_s": round(w["bytes"] / dur / 2**20, 2),
                    "lat_p50_ms": w["lat_p50_us"] / 1000, "lat_p90_ms": w["lat_p90_us"] / 1000,
                    "lat_p99_ms": w["lat_p99_us"] / 1000, "lat_p999_ms": w["lat_p999_us"] / 1000,
                    "lat_mean_ms": round(w["lat_mean_us"] / 1000, 3),
                    "lat_max_ms": w["lat_max_us"] / 1000,
                    "errors_non2xx3xx": w["errors_status"], "errors_socket": sock,
                    "errors_detail": {k: w[k] for k in ("errors_connect", "errors_read",
                                                         "errors_write", "errors_timeout")},
                    "wrk_duration_s": round(dur, 3),
                })
            row.update({
                "server_cpu_pct": round(100.0 * (c1 - c0) / CLK_TCK / wall, 1),
                "server_cpu_us_per_req": (round(1e6 * (c1 - c0) / CLK_TCK / w["requests"], 1)
                                          if w and w["requests"] else None),
                "client_cpu_pct": round(100.0 * wcpu / wall, 1),
                # whole-core view from /proc/stat (includes softirq work not charged to a PID)
                "server_core": cpu_usage(k0, k1, expand_cpus(a.server_cpus)),
                "client_core": cpu_usage(k0, k1, expand_cpus(a.client_cpus)),
                "other_cpu_pct": other_pct,
                # bytes the server wrote to stdout/stderr during the run: per-request logging
                "server_log_bytes": log1 - log0,
                "calib_server_core_mops": calib[0], "calib_client_core_mops": calib[1],
                "rss_peak_kb": sampler.peak_rss, "threads_peak": sampler.peak_threads,
                "procs_peak": sampler.peak_procs, "vmhwm_main_kb": st.get("VmHWM"),
                "rss_idle_kb": meta["rss_idle_kb"], "startup_ms_median": meta["startup_ms_median"],
                "server_version": a.server_version,
            })
            results.append(row)
            if idle_run:
                log("%-12s %d idle conns (%d bad, %d failed, %d closed by the server, set up in "
                    "%.1f s): RSS %s KiB, %s fds, thr %s; fresh request median %s ms, max %s ms, "
                    "%d failed" % (name, conns, row["idle_bad_answers"], row["idle_failed_conns"],
                                   row["idle_closed_by_server"], row["idle_setup_s"],
                                   row["idle_rss_kb"], row["idle_server_fds"], row["idle_threads"],
                                   row["fresh_ms_median"], row["fresh_ms_max"],
                                   row["fresh_failed"]))
                continue
            log("%-12s %10s req/s %9s MiB/s p50 %7s ms p99 %7s ms non2xx/3xx %s sockerr %s "
                "RSS %s KiB thr %s srvCPU %s%% cliCPU %s%% other %s%%%s" % (
                    name, row.get("rps"), row.get("mib_s"), row.get("lat_p50_ms"),
                    row.get("lat_p99_ms"), row.get("errors_non2xx3xx"), row.get("errors_socket"),
                    row["rss_peak_kb"], row["threads_peak"], row["server_cpu_pct"],
                    row["client_cpu_pct"], row["other_cpu_pct"],
                    "" if ok else "  [INVALID: probe %s]" % pr))
        end = tree_sample(pid)
        meta["rss_end_kb"] = end["rss_kb"]
        meta["vmhwm_main_kb"] = proc_status(pid).get("VmHWM")
    finally:
        srv.stop()
        if lockf:
            lockf.close()
        meta["server_log_bytes_total"] = file_size(logpath)
        trim_log(logpath)

    meta["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with open(os.path.join(out, tag + ".jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    with open(os.path.join(out, tag + ".meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    md = server_table(meta, results)
    with open(os.path.join(out, tag + ".md"), "w") as f:
        f.write(md)
    print(md)
    for r in results:
        print(json.dumps(r, sort_keys=True))


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def trim_log(path, limit=2 << 20, keep=64 << 10):
    """Servers that log every request can write hundreds of MB: keep head and tail."""
    size = file_size(path)
    if size <= limit:
        return
    with open(path, "rb") as f:
        head = f.read(keep)
        f.seek(size - keep)
        tail = f.read()
    with open(path, "wb") as f:
        f.write(head)
        f.write(b"\n[bench: %d bytes cut]\n" % (size - 2 * keep))
        f.write(tail)


def expand_cpus(spec):
    cpus = []
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            cpus += list(range(int(lo), int(hi) + 1))
        else:
            cpus.append(int(part))
    return cpus


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# ---------------------------------------------------------------- tables
def fmt(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, float) and nd:
        return "%.*f" % (nd, v)
    return "{:,.0f}".format(v) if isinstance(v, (int, float)) else str(v)


def server_table(meta, rows):
    h = ["## %s (run %s)%s" % (meta["server"], meta["run"],
                               " - " + meta["server_version"] if meta.get("server_version") else ""), "",
         "`%s`  " % " ".join(meta["cmd"]),
         "startup to first 200: median %.1f ms (%s); idle RSS %.1f MiB, %d threads, %d procs; "
         "wrk %s x %ds (+%ds warm-up), server on CPU %s, wrk -t1 on CPU %s" % (
             meta["startup_ms_median"], ", ".join("%.1f" % x for x in meta["startup_ms"]),
             meta["rss_idle_kb"] / 1024, meta["threads_idle"], meta["procs_idle"],
             meta["wrk"], meta["duration_s"], meta["warmup_s"], meta["server_cpus"],
             meta["client_cpus"]), "",
         "| scenario | req/s | MiB/s | p50 ms | p99 ms | non-2xx/3xx | sock err | peak RSS MiB "
         "| threads | srv CPU % | srv core busy/sirq % | wrk CPU % | other CPU % | core speed srv/cli "
         "| note |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        note = "" if r["valid"] else "probe: %s" % r["probe"].get("status")
        if "idle_conns" in r:
            note = (note + "; " if note else "") + (
                "%s idle: RSS %.1f MiB, fresh request median %s ms, max %s ms%s" % (
                    fmt(r["idle_conns"]), r["idle_rss_kb"] / 1024, fmt(r["fresh_ms_median"], 2),
                    fmt(r["fresh_ms_max"], 2), "" if r["idle_ok"] else
                    " (%d bad, %d failed, %d closed, %d fresh failed)" % (
                        r["idle_bad_answers"], r["idle_failed_conns"],
                        r["idle_closed_by_server"], r["fresh_failed"])))
        elif r["probe"].get("content_encoding"):
            note = (note + "; " if note else "") + "%s B %s per response" % (
                fmt(r["probe"].get("body_bytes")), r["probe"]["content_encoding"])
        if "error" in r:
            note = r["error"]
        elif r.get("server_log_bytes") and r.get("requests"):
            note = (note + "; " if note else "") + "logs %.0f B/req" % (
                r["server_log_bytes"] / r["requests"])
        sc, cc = r.get("server_core", {}), r.get("client_core", {})
        h.append("| %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %s | %s/%s | %s | %s | %s/%s | %s |" % (
            r["scenario"], fmt(r.get("rps")), fmt(r.get("mib_s"), 1),
            fmt(r.get("lat_p50_ms"), 2), fmt(r.get("lat_p99_ms"), 2),
            fmt(r.get("errors_non2xx3xx")), fmt(r.get("errors_socket")),
            r["rss_peak_kb"] / 1024, r["threads_peak"], r["server_cpu_pct"],
            sc.get("busy", "-"), sc.get("softirq", "-"), r["client_cpu_pct"],
            r.get("other_cpu_pct", "-"), fmt(r.get("calib_server_core_mops"), 1),
            fmt(r.get("calib_client_core_mops"), 1), note))
    return "\n".join(h) + "\n"


def load_rows(files):
    runs = {}  # (server, run) -> {scenario: row}
    for path in files:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    r = json.loads(line)
                    # whole server core (incl. softirq and children that are never charged
                    # to the server process) per request: comparable across server designs
                    sc = r.get("server_core") or {}
                    if sc.get("busy") is not None and r.get("requests"):
                        r["core_us_per_req"] = round(
                            sc["busy"] / 100 * r["wrk_duration_s"] * 1e6 / r["requests"], 1)
                    runs.setdefault((r["server"], r["run"]), {})[r["scenario"]] = r
    return runs


def cell(rows, m):
    """Median of metric m over runs, with flags for invalid or erroring runs."""
    rows = [r for r in rows if r]
    if not rows:
        return ""
    vals = [r[m] for r in rows if r.get(m) is not None]
    if not vals:
        return "-"
    v = fmt(statistics.median(vals), 0 if m == "rps" else 2)
    r = rows[0]
    if not r["valid"]:
        v += " (probe %s)" % r["probe"].get("status")
    else:
        sock = sum(x.get("errors_socket") or 0 for x in rows)
        bad = sum(x.get("errors_non2xx3xx") or 0 for x in rows) if r["expected_status"] < 400 else 0
        if sock or bad:
            v += " (err %s/%s)" % (fmt(bad), fmt(sock))
    return v


def cmd_report(a):
    runs = load_rows(a.files)
    servers = []
    for s, _ in sorted(runs, key=lambda k: k[1]):
        if s not in servers:
            servers.append(s)
    if a.order:
        servers = [s for s in a.order.split(",") if s in servers] + \
                  [s for s in servers if s not in a.order.split(",")]
    byserver = {s: [runs[k] for k in sorted(runs) if k[0] == s] for s in servers}
    metrics = ["rps", "mib_s", "lat_p50_ms", "lat_p99_ms"] if a.metric == "all" else a.metric.split(",")
    out = ["Median over runs (runs per server: %s). (err N/M): N unexpected non-2xx/3xx, M socket "
           "errors summed over runs; (probe S): the path was answered with status S, so the "
           "scenario does not measure what it names." % ", ".join(
               "%s %d" % (s, len(byserver[s])) for s in servers), ""]
    for m in metrics:
        title = {"rps": "requests/s", "mib_s": "transfer MiB/s", "lat_p50_ms": "p50 latency ms",
                 "lat_p99_ms": "p99 latency ms", "server_cpu_us_per_req": "server CPU us per request",
                 "core_us_per_req": "server core busy us per request (incl. softirq)"
                 }.get(m, m)
        out += ["### %s" % title, "",
                "| scenario | " + " | ".join(servers) + " |", "|---|" + "---:|" * len(servers)]
        for sc in SCENARIO_NAMES:
            cells = [cell([r.get(sc) for r in byserver[s]], m) for s in servers]
            if any(cells):
                out.append("| %s | %s |" % (sc, " | ".join(cells)))
        out.append("")
    # resources
    out += ["### resources and behaviour (median over runs; peaks are the max over runs)", "",
            "| server | startup ms | idle RSS MiB | peak RSS MiB | peak threads | peak procs "
            "| keep-alive | dir listing |", "|---|---:|---:|---:|---:|---:|---|---|"]
    for s in servers:
        rows = [r for run in byserver[s] for r in run.values()]
        first = list(byserver[s][0].values())[0]
        ka = byserver[s][0].get("small-c16", first)["probe"].get("keepalive")
        dl = byserver[s][0].get("dirlist-c16")
        out.append("| %s | %.1f | %.1f | %.1f | %d | %d | %s | %s |" % (
            s, statistics.median(list(run.values())[0]["startup_ms_median"] for run in byserver[s]),
            statistics.median(list(run.values())[0]["rss_idle_kb"] for run in byserver[s]) / 1024,
            max(r["rss_peak_kb"] for r in rows) / 1024, max(r["threads_peak"] for r in rows),
            max(r["procs_peak"] for r in rows), "yes" if ka else "no",
            "-" if not dl else ("yes" if dl["valid"] else "no (%s)" % dl["probe"].get("status"))))
    out.append("")
    # noise
    multi = [s for s in servers if len(byserver[s]) > 1]
    if multi:
        out += ["### run-to-run noise (req/s of each run; spread = (max-min)/median; other = max "
                "CPU % used by unrelated processes during the scenario, over the runs; core speed = "
                "server core's calibration of each run, M loop steps/s)", "",
                "| server | scenario | runs | spread % | other CPU % | core speed |",
                "|---|---|---|---:|---:|---|"]
        for s in multi:
            for sc in SCENARIO_NAMES:
                rr = [r[sc] for r in byserver[s] if sc in r and "rps" in r[sc]]
                vals = [r["rps"] for r in rr]
                if len(vals) > 1:
                    med = statistics.median(vals)
                    oth = [r["other_cpu_pct"] for r in rr if r.get("other_cpu_pct") is not None]
                    cal = [r.get("calib_server_core_mops") for r in rr]
                    out.append("| %s | %s | %s | %.1f | %s | %s |" % (
                        s, sc, " / ".join(fmt(v) for v in vals),
                        100 * (max(vals) - min(vals)) / med if med else 0,
                        fmt(max(oth), 1) if oth else "n/a",
                        " / ".join(fmt(c, 1) if c else "-" for c in cal)))
        out.append("")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="sub", required=True)
    r = sub.add_parser("run", help="benchmark one server")
    r.add_argument("--name", required=True, help="label for the server under test")
    r.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8080")))
    r.add_argument("--work", default=os.environ.get("BENCH_WORK"),
                   required="BENCH_WORK" not in os.environ,
                   help="work dir: fixture goes to WORK/public; server cwd (env BENCH_WORK)")
    r.add_argument("--out", default=os.environ.get("BENCH_OUT"),
                   required="BENCH_OUT" not in os.environ, help="results dir (env BENCH_OUT)")
    r.add_argument("--run-id", default=None, help="label for this run (default: timestamp)")
    r.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "8")),
                   help="seconds per measured wrk run (default 8)")
    r.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", "2")),
                   help="seconds of wrk warm-up before each scenario (default 2)")
    r.add_argument("--wrk-timeout", type=int, default=4, help="wrk --timeout seconds (default 4)")
    r.add_argument("--startup-trials", type=int, default=5,
                   help="extra fresh starts to time start-to-first-200 (default 5)")
    r.add_argument("--scenarios", default=os.environ.get("BENCH_SCENARIOS"),
                   help="comma-separated subset of: " + ",".join(SCENARIO_NAMES))
    r.add_argument("--server-cpus", default=os.environ.get("BENCH_SERVER_CPUS", "0"))
    r.add_argument("--client-cpus", default=os.environ.get("BENCH_CLIENT_CPUS", "1"))
    r.add_argument("--server-version", default=None, help="free text recorded in the results")
    r.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="skip the 0.25 s CPU-speed check of both cores before each scenario")
    r.add_argument("--server-stdout", choices=("log", "null"), default="log",
                   help="server stdout: into NAME-RUN.server.log with stderr (default), or "
                        "/dev/null (stderr is still logged)")
    r.add_argument("--lock", default=os.environ.get("BENCH_LOCK"),
                   help="flock this file for the whole run (env BENCH_LOCK)")
    r.add_argument("cmd", nargs=argparse.REMAINDER, help="-- SERVER_CMD [ARGS...]")
    p = sub.add_parser("report", help="comparison tables from result .jsonl files")
    p.add_argument("--metric", default="all",
                   help="comma list of row fields (rps, mib_s, lat_p50_ms, lat_p99_ms, ...) or all")
    p.add_argument("--order", default=None, help="comma-separated server order for columns")
    p.add_argument("files", nargs="+")
    a = ap.parse_args()
    if a.sub == "run":
        if a.cmd and a.cmd[0] == "--":
            a.cmd = a.cmd[1:]
        cmd_run(a)
    else:
        cmd_report(a)


if __name__ == "__main__":
    main()
