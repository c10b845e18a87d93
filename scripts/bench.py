#!/usr/bin/env python3
"""The end-to-end benchmark matrix (issue 13): linetls-perf against linetls over memif, and
the same generator against nginx 1.22 and HAProxy 2.6 in a network namespace over a veth
pair (the generator on net_af_packet). Every server runs on core 0, the generator on
core 1. Called by scripts/bench.sh; see there for the knobs.

Per row and server it writes the generator's JSON, then a table (results.md) and plots
(PNG): operations per second of server core, latency CDFs, the batch-size distribution of
linetls's seal and open batches. Server CPU is core 0's busy time from /proc/stat during
the run (user, system, irq, softirq): the server, its kernel TCP (veth receive is steered
to core 0 with RPS) and nothing else runs there. linetls runs with its idle back-off (no
busy-poll), so its busy time is its work.
"""
import argparse
import json
import resource
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS, VETH, PEER = "ltbn", "ltbv0", "ltbv1"
NS_IP, GEN_IP = "10.90.0.1", "10.90.0.2"
MEMIF_SERVER, MEMIF_GEN = "10.88.0.1", "10.88.0.2"

# name, mode, generator flags, servers that can serve it
ROWS = [
    ("hs13", "handshake", ["--connections", "32"], ["linetls", "nginx", "haproxy"]),
    ("res13", "resume", ["--connections", "32"], ["linetls", "nginx", "haproxy"]),
    ("hs12", "handshake", ["--tls", "1.2", "--connections", "32"], ["linetls", "nginx", "haproxy"]),
    ("req1k", "request", ["--size", "1024", "--connections", "32"], ["linetls", "nginx", "haproxy"]),
    ("dl16m", "download", ["--size", "16M", "--connections", "4"], ["linetls", "nginx"]),
    ("bulk256", "request", ["--size", "64K", "--connections", "256"], ["linetls", "nginx"]),
    ("plain", "plain", ["--size", "1024", "--connections", "32"], ["linetls", "nginx", "haproxy"]),
]
SIZES = [1024, 65536, 16 << 20]


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, **kw)


def cpu0_busy_jiffies():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                v = [int(x) for x in line.split()[1:]]
                user, nice, system, idle, iowait, irq, softirq = v[:7]
                return user + nice + system + irq + softirq
    raise RuntimeError("no cpu0 in /proc/stat")


def proc_cpu_s(pid):
    """utime + stime of pid and its children (nginx's workers), in seconds."""
    hz = os.sysconf("SC_CLK_TCK")
    pids = [pid] + [int(x) for x in sh("pgrep", "-P", str(pid), check=False).stdout.split()]
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / hz


def cpu_family():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu family"):
                return line.split(":")[1].strip()
    return "?"


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = args.build
        self.tmp = tempfile.mkdtemp(prefix="ltbench")
        os.chmod(self.tmp, 0o755)  # nginx's and haproxy's workers read the files as nobody
        self.out = args.out
        os.makedirs(self.out, exist_ok=True)
        self.linetls = os.path.join(self.build, "apps/linetls/linetls")
        self.perf = os.path.join(self.build, "apps/linetls-perf/linetls-perf")
        self.results = {}  # (row, server) -> dict

    # ---- set-up
    def material(self):
        d = self.tmp
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem", "-days", "2",
           "-subj", "/CN=bench", "-addext", f"subjectAltName=IP:{NS_IP},DNS:localhost")
        with open(f"{d}/combined.pem", "w") as f:
            f.write(open(f"{d}/cert.pem").read() + open(f"{d}/key.pem").read())
        os.makedirs(f"{d}/www/bytes", exist_ok=True)
        for n in SIZES:
            with open(f"{d}/www/bytes/{n}", "wb") as f:
                f.write(bytes((97 + i % 26) for i in range(26)) * (n // 26) + b"a" * (n % 26))

    def netns(self):
        self.netns_down()
        sh("ip", "netns", "add", NS)
        sh("ip", "link", "add", VETH, "type", "veth", "peer", "name", PEER)
        sh("ip", "link", "set", PEER, "netns", NS)
        sh("ip", "link", "set", VETH, "up")
        sh("ip", "-n", NS, "addr", "add", NS_IP + "/24", "dev", PEER)
        sh("ip", "-n", NS, "link", "set", PEER, "up")
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        # af_packet would see veth's CHECKSUM_PARTIAL frames unfinished: the kernel finishes
        # its checksums; and its receive work for the server goes to core 0 (RPS).
        sh("ip", "netns", "exec", NS, "ethtool", "-K", PEER, "tx", "off")
        sh("ip", "netns", "exec", NS, "sh", "-c",
           f"echo 1 > /sys/class/net/{PEER}/queues/rx-0/rps_cpus")


    def netns_down(self):
        sh("ip", "netns", "del", NS, check=False)
        sh("ip", "link", "del", VETH, check=False)

    # ---- servers
    def start_linetls(self):
        sock = f"{self.tmp}/memif.sock"
        if os.path.exists(sock):
            os.unlink(sock)
        cmd = ["taskset", "-c", "0", self.linetls, "-l", "0", "--no-huge", "-m", "1024",
               "--file-prefix=ltbench_s", "--", "--port",
               f"net_memif0,role=server,socket={sock}", "--ip", f"{MEMIF_SERVER}/24",
               "--serve", "8443=tls:http", "--serve", "80=http", "--busy-poll", "--cert",
               f"{self.tmp}/cert.pem", "--key", f"{self.tmp}/key.pem", "--log-level", "1"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"linetls did not start: {line} {p.stderr.read()}")
        self.server = ("linetls", p)
        return ["--port", f"net_memif0,role=client,socket={sock}", "--ip", f"{MEMIF_GEN}/24"], \
            MEMIF_SERVER

    def start_nginx(self):
        d = self.tmp
        conf = f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  sendfile on;
  server {{
    listen {NS_IP}:8443 ssl;
    listen {NS_IP}:80;
    ssl_certificate {d}/cert.pem;
    ssl_certificate_key {d}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519:prime256v1;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;
    location /bytes/ {{ alias {d}/www/bytes/; }}
  }}
}}
"""
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(conf)
        p = subprocess.Popen(["ip", "netns", "exec", NS, "taskset", "-c", "0", "nginx", "-p", d,
                              "-c", f"{d}/nginx.conf", "-g", "daemon off;"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        if p.poll() is not None:
            raise RuntimeError(f"nginx did not start: {p.stderr.read()}")
        self.server = ("nginx", p)
        return self.gen_veth(), NS_IP

    def start_haproxy(self):
        d = self.tmp
        rules = "\n".join(
            f"  http-request return status 200 content-type application/octet-stream "
            f"file {d}/www/bytes/{n} if {{ path /bytes/{n} }}" for n in SIZES if n <= 65536)
        conf = f"""
global
  nbthread 1
  tune.bufsize 131072
  tune.ssl.default-dh-param 2048
  maxconn 8000
defaults
  mode http
  timeout client 300s
  timeout connect 5s
  timeout server 300s
  timeout http-keep-alive 300s
frontend fe
  bind {NS_IP}:8443 ssl crt {d}/combined.pem ssl-min-ver TLSv1.2 curves X25519:P-256 ciphers ECDHE-ECDSA-AES128-GCM-SHA256
  bind {NS_IP}:80
{rules}
  http-request return status 404
"""
        with open(f"{d}/haproxy.cfg", "w") as f:
            f.write(conf)
        p = subprocess.Popen(["ip", "netns", "exec", NS, "taskset", "-c", "0", "haproxy", "-db",
                              "-f", f"{d}/haproxy.cfg"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        if p.poll() is not None:
            raise RuntimeError(f"haproxy did not start: {p.stderr.read()}")
        self.server = ("haproxy", p)
        return self.gen_veth(), NS_IP

    def gen_veth(self):
        return ["--port", f"net_af_packet0,iface={VETH}", "--ip", f"{GEN_IP}/24"]

    def stop_server(self):
        name, p = self.server
        p.send_signal(signal.SIGINT if name == "linetls" else signal.SIGTERM)
        try:
            out, _ = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        counters = {}
        for line in (out or "").splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == "counter":
                counters[parts[2]] = counters.get(parts[2], 0) + int(parts[3])
            elif len(parts) == 4 and parts[:3] == ["counter", "engine", "tsc_hz"]:
                counters["tsc_hz"] = int(parts[3])
        return counters

    # ---- one run
    def run_row(self, row, server):
        name, mode, flags, _ = row
        port_args, ip = {"linetls": self.start_linetls, "nginx": self.start_nginx,
                         "haproxy": self.start_haproxy}[server]()
        target = f"{ip}:{80 if mode == 'plain' else 8443}"
        out = os.path.join(self.out, f"{name}-{server}.json")
        cmd = ["taskset", "-c", "1", self.perf, "--no-huge", "-m", "1024", "--no-pci",
               "--file-prefix=ltbench_c", "--"] + port_args + [
            "--target", target, "--mode", mode, "--duration", str(self.args.seconds),
            "--warmup", "1", "--busy-poll", "--quiet", "--json", out] + flags
        j0 = None
        try:
            # The warm-up second is not measured by the generator: neither is its CPU here.
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            spid = self.server[1].pid
            j0, c0, t0 = cpu0_busy_jiffies(), proc_cpu_s(spid), time.monotonic()
            stdout, stderr = p.communicate(timeout=self.args.seconds + 60)
            j1, c1, t1 = cpu0_busy_jiffies(), proc_cpu_s(spid), time.monotonic()
        finally:
            counters = self.stop_server()
        if p.returncode != 0 or not os.path.exists(out):
            print(f"  {name} {server}: generator failed: {stderr[-500:]}", file=sys.stderr)
            return
        r = json.load(open(out))
        hz = os.sysconf("SC_CLK_TCK")
        # The window measured here is ~0.5 s longer than the generator's: scale to it.
        scale = min(1.0, r["elapsed_s"] / max(t1 - t0, 1e-9))
        busy_s = (j1 - j0) / hz * scale
        # The kernel servers' own process time (user + system, their workers included): their
        # share of the veth/af_packet path's softirq work on core 0 is left out, so this is
        # the lower bound of what they cost and the ratios below are the conservative ones.
        r["server_core_busy_s"] = busy_s
        if server != "linetls":
            busy_s = (c1 - c0) * scale
        r["server"] = server
        if server == "linetls":
            # It busy-polls: its own count of cycles in loops that did work is its CPU.
            busy_s = counters.get("engine.busy_cycles", 0) / max(counters.get("tsc_hz", 1), 1)
            busy_s *= r["elapsed_s"] / max(self.args.seconds + 1.0, 1e-9)  # minus the warm-up
        r["server_cpu_s"] = busy_s
        r["server_counters"] = {k: v for k, v in counters.items()
                                if "batch" in k or k.startswith("tls.handshake")}
        with open(out, "w") as f:
            json.dump(r, f)
        self.results[(name, server)] = r
        t = r["totals"]
        ops = t["handshakes"] if mode in ("handshake", "resume") else t["requests"]
        print(f"  {name:8s} {server:8s} ops/s {ops / r['elapsed_s']:>12.0f}  "
              f"server core busy {100 * busy_s / r['elapsed_s']:5.1f}%  "
              f"Gbit/s {8 * t['bytes_rx'] / r['elapsed_s'] / 1e9:7.3f}  errors {r['errors']}",
              flush=True)

    # ---- report
    def report(self):
        lines = [f"CPU family {cpu_family()}, {self.args.seconds} s per run, server on core 0, "
                 f"linetls-perf on core 1.", "",
                 "| row | server | ops/s | resumed | server CPU | ops per server-core-second | "
                 "Gbit/s (rx) | Gbit/s per server core | p50 / p99 us | errors |",
                 "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for row in ROWS[:1] + [("hs13_half", "handshake", [], [])] + ROWS[1:]:
            name, mode = row[0], row[1]
            for server in ("linetls", "nginx", "haproxy"):
                r = self.results.get((name, server))
                if r is None:
                    continue
                t = r["totals"]
                ops = t["handshakes"] if mode in ("handshake", "resume") else t["requests"]
                cpu = max(r["server_cpu_s"], 1e-9)
                lat = r["latency_us"]["handshake" if mode in ("handshake", "resume")
                                      else "first_byte"]
                gbit = 8 * t["bytes_rx"] / r["elapsed_s"] / 1e9
                lines.append(
                    f"| {name} | {server} | {ops / r['elapsed_s']:.0f} | {t['resumed']} | "
                    f"{100 * cpu / r['elapsed_s']:.0f}% | {ops / cpu:.0f} | {gbit:.3f} | "
                    f"{8 * t['bytes_rx'] / cpu / 1e9:.3f} | "
                    f"{lat.get('p50', 0):.0f} / {lat.get('p99', 0):.0f} | {r['errors'] or 0} |")
        lines.append("")
        for row in ROWS:
            name = row[0]
            base = self.results.get((name, "linetls"))
            for other in ("nginx", "haproxy"):
                o = self.results.get((name, other))
                if base is None or o is None:
                    continue
                def per_core(r):
                    t = r["totals"]
                    ops = t["handshakes"] if row[1] in ("handshake", "resume") else t["requests"]
                    return ops / max(r["server_cpu_s"], 1e-9)
                if per_core(o) <= 0 or o["errors"]:
                    lines.append(f"- {name}: no ratio against {other} (its run had errors or no "
                                 f"operations: {o['errors']})")
                    continue
                lines.append(f"- {name}: linetls / {other}, operations per server-core-second: "
                             f"{per_core(base) / per_core(o):.2f}x")
        text = "\n".join(lines) + "\n"
        with open(os.path.join(self.out, "results.md"), "w") as f:
            f.write(text)
        print(text)
        self.plots()

    def plots(self):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib missing: no plots", file=sys.stderr)
            return
        servers = ("linetls", "nginx", "haproxy")
        names = [r[0] for r in ROWS]
        fig, ax = plt.subplots(figsize=(9, 4))
        width = 0.27
        for i, s in enumerate(servers):
            vals = []
            for row in ROWS:
                r = self.results.get((row[0], s))
                if r is None:
                    vals.append(0)
                    continue
                t = r["totals"]
                ops = t["handshakes"] if row[1] in ("handshake", "resume") else t["requests"]
                vals.append(ops / max(r["server_cpu_s"], 1e-9))
            ax.bar([x + i * width for x in range(len(names))], vals, width, label=s)
        ax.set_xticks([x + width for x in range(len(names))], names)
        ax.set_yscale("log")
        ax.set_ylabel("operations per server-core-second")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(self.out, "per_core.png"), dpi=110)
        plt.close(fig)
        # Latency CDFs of the handshake rows.
        fig, ax = plt.subplots(figsize=(9, 4))
        for row in ROWS:
            if row[1] not in ("handshake", "resume"):
                continue
            for s in servers:
                r = self.results.get((row[0], s))
                if r is None:
                    continue
                b = r["latency_us"]["handshake"].get("buckets_ns", [])
                total = sum(c for _, _, c in b) or 1
                xs, ys, acc = [], [], 0
                for lo, hi, c in b:
                    acc += c
                    xs.append(hi / 1000)
                    ys.append(acc / total)
                ax.plot(xs, ys, label=f"{row[0]} {s}")
        ax.set_xscale("log")
        ax.set_xlabel("handshake latency (us, TCP connect included)")
        ax.set_ylabel("fraction")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(self.out, "latency_cdf.png"), dpi=110)
        plt.close(fig)
        # linetls's batch sizes (server side) in the bulk rows.
        fig, ax = plt.subplots(figsize=(9, 4))
        labels = ["1", "2_3", "4_7", "8_15", "16_31", "32_plus"]
        for k, row in enumerate(r for r in ROWS if r[0] in ("req1k", "bulk256", "dl16m")):
            r = self.results.get((row[0], "linetls"))
            if r is None:
                continue
            c = r["server_counters"]
            vals = [c.get(f"tls.seal_batch.{l}", 0) for l in labels]
            ax.bar([x + k * 0.27 for x in range(len(labels))], vals, 0.27, label=f"{row[0]} seal")
        ax.set_xticks([x + 0.27 for x in range(len(labels))], labels)
        ax.set_xlabel("records per seal batch (linetls, server)")
        ax.set_ylabel("batches")
        ax.set_yscale("log")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(self.out, "batches.png"), dpi=110)
        plt.close(fig)

    def run(self):
        self.material()
        servers = self.args.servers.split(",")
        try:
            if any(s != "linetls" for s in servers):
                self.netns()
            for row in ROWS:
                if self.args.rows and row[0] not in self.args.rows.split(","):
                    continue
                for server in servers:
                    if server in row[3]:
                        self.run_row(row, server)
                    # Latency at half of that server's peak: open loop, measured from each
                    # connection's intended start.
                    peak = self.results.get((row[0], server))
                    if row[0] == "hs13" and peak is not None:
                        rate = max(1, int(peak["totals"]["handshakes"] / peak["elapsed_s"] / 2))
                        half = ("hs13_half", "handshake",
                                ["--rate", str(rate), "--connections", "1024"], row[3])
                        self.run_row(half, server)
        finally:
            self.netns_down()
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.report()


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--servers", default="linetls,nginx,haproxy")
    ap.add_argument("--rows", default="")
    Bench(ap.parse_args()).run()


if __name__ == "__main__":
    main()
