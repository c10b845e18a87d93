"""linetls-perf against linetls over memif: two DPDK processes on one machine, no kernel in
between. linetls runs two workers on two memif queue pairs, and linetls-perf (--queues 2)
sends each flow on the queue its symmetric Toeplitz hash selects (memif has no RSS): both
workers must get connections. Every mode runs briefly (about a second each) and must finish with zero errors and
the work it promises: handshakes (TLS 1.3 and 1.2), resumptions that really resume,
requests answered, bytes moved both ways, plain TCP. The generator's own JSON report is what
is checked, so this also covers --json.

LT_PERF_LONG=1 runs each mode for 10 s (the issue's acceptance run) instead.
"""
import json
import os
import sys
import subprocess
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from engine import Engine, binary_from_env  # noqa: E402

PERF = os.environ.get("LINETLS_PERF_BIN")
DURATION = "10" if os.environ.get("LT_PERF_LONG") else "0.6"
SERVER_IP, CLIENT_IP = "10.89.0.1", "10.89.0.2"
CERTS = os.path.join(os.path.dirname(__file__), "..", "vectors", "certs")


def run_perf(sock, tmp, mode, target, extra=(), queues=2):
    run_perf.n = getattr(run_perf, "n", 0) + 1
    out = os.path.join(tmp, f"{run_perf.n}-{mode}.json")
    cmd = [PERF, "--no-huge", "-m", "512", "--file-prefix=ltpt_c", "--",
           "--port", f"net_memif0,role=client,socket={sock}", "--ip", f"{CLIENT_IP}/24",
           "--target", target, "--mode", mode, "--connections", "4", "--duration", DURATION,
           "--queues", str(queues),
           "--quiet", "--json", out] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"{cmd}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    with open(out) as f:
        return json.load(f)


def check(name, r, **at_least):
    t = r["totals"]
    assert r["errors"] == {} and t["errors"] == 0, f"{name}: errors {r['errors']}"
    for k, v in at_least.items():
        assert t[k] >= v, f"{name}: {k} = {t[k]}, expected at least {v}: {t}"
    print(f"{name}: ok {t}")


def main():
    assert PERF and os.access(PERF, os.X_OK), "set LINETLS_PERF_BIN"
    tmp = tempfile.mkdtemp(prefix="ltpt")
    sock = os.path.join(tmp, "memif.sock")
    engine = Engine(binary_from_env(), None, None, None, args=[
        "-l", "0-1", "--no-huge", "-m", "512", "--file-prefix=ltpt_s", "--",
        "--port", f"net_memif0,role=server,socket={sock}", "--ip", f"{SERVER_IP}/24",
        "--serve", "8443=tls:http", "--serve", "80=http", "--serve", "9443=tls:discard",
        "--cert", os.path.join(CERTS, "ecdsa256_chain.pem"),
        "--key", os.path.join(CERTS, "ecdsa256.key"), "--log-level", "1"])
    engine.start()
    try:
        https = f"{SERVER_IP}:8443"
        check("handshake 1.3", run_perf(sock, tmp, "handshake", https), handshakes=20)
        r = run_perf(sock, tmp, "resume", https)
        check("resume 1.3", r, handshakes=20)
        assert r["totals"]["resumed"] >= r["totals"]["handshakes"] - 8, r["totals"]
        r = run_perf(sock, tmp, "resume", https, ["--tls", "1.2"])
        check("resume 1.2", r, handshakes=20)
        assert r["totals"]["resumed"] >= r["totals"]["handshakes"] - 8, r["totals"]
        r = run_perf(sock, tmp, "request", https)
        check("request 1.3 (1 KiB)", r, requests=100)
        assert r["totals"]["bytes_rx"] >= r["totals"]["requests"] * 1024
        r = run_perf(sock, tmp, "download", https, ["--size", "1M"])
        check("download", r, requests=4)
        assert r["totals"]["bytes_rx"] >= r["totals"]["requests"] * (1 << 20)
        check("upload", run_perf(sock, tmp, "upload", f"{SERVER_IP}:9443", ["--size", "1M"]),
              bytes_tx=4 << 20)
        check("plain", run_perf(sock, tmp, "plain", f"{SERVER_IP}:80"), requests=100)
        # --verify: the chain checks out under its own name, and is refused under another
        # (every handshake fails: our bad_certificate alert).
        ca = os.path.join(CERTS, "ca.pem")
        # (TLS 1.2 full handshakes are the verified ones; 1.3 is refused under a wrong name.)
        check("verify 1.2", run_perf(sock, tmp, "handshake", https,
                                     ["--tls", "1.2", "--verify", ca, "--sni", "ecdsa256.test"]),
              handshakes=20)
        r = run_perf(sock, tmp, "handshake", https,
                     ["--tls", "1.3", "--verify", ca, "--sni", "other.test"])
        assert r["totals"]["handshakes"] == 0 and r["errors"].get("tls", 0) > 0, r["errors"]
        print("verify 1.3 under the wrong name: refused", r["errors"])
        # A port nobody serves: refused, counted as errors of that kind, and still a report.
        r = run_perf(sock, tmp, "handshake", f"{SERVER_IP}:9999")
        assert r["totals"]["handshakes"] == 0 and r["errors"].get("refused", 0) > 0, r["errors"]
        print("refused port: ok", r["errors"])
    finally:
        code, counters = engine.stop()
    assert code == 0, f"linetls exit {code}: {engine.stderr[-2000:]}"
    assert counters.get("tls.handshakes", 0) > 0
    per_worker = {}
    for line in engine.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "counter" and parts[2] == "tls.handshakes":
            per_worker[parts[1]] = int(parts[3])
    assert len(per_worker) == 2 and min(per_worker.values()) > 0, per_worker
    print("handshakes per server worker:", per_worker)
    # With two workers the exit output also sums each counter over them.
    totals = {p[1]: int(p[2]) for p in (l.split() for l in engine.stdout.splitlines())
              if len(p) == 3 and p[0] == "total"}
    assert totals.get("tls.handshakes") == sum(per_worker.values()), (totals, per_worker)
    assert totals.get("tls.connections") == counters["tls.connections"], totals
    # Without --handshake-lcores every public-key step ran inside the machines.
    assert counters.get("tls.pk_jobs.inline", 0) > 0, counters
    assert counters.get("tls.pk_jobs.offloaded", 0) == 0, counters
    handshake_lcores(tmp)
    print("linetls-perf over memif: all modes ok")


def handshake_lcores(tmp):
    """The same handshakes with --handshake-lcores: one worker on lcore 0, the public-key
    work on lcore 1. Same results, and every public-key job ran on the handshake lcore."""
    sock = os.path.join(tmp, "memif-hs.sock")
    engine = Engine(binary_from_env(), None, None, None, args=[
        "-l", "0-1", "--no-huge", "-m", "512", "--file-prefix=ltpt_s", "--",
        "--port", f"net_memif0,role=server,socket={sock}", "--ip", f"{SERVER_IP}/24",
        "--serve", "8443=tls:http", "--handshake-lcores", "1",
        "--client-ca", os.path.join(CERTS, "ca.pem"), "--client-auth", "optional",
        "--cert", os.path.join(CERTS, "ecdsa256_chain.pem"),
        "--key", os.path.join(CERTS, "ecdsa256.key"), "--log-level", "1"])
    mtls = ["--cert", os.path.join(CERTS, "client256.pem"),
            "--key", os.path.join(CERTS, "client256.key")]
    engine.start()
    https = f"{SERVER_IP}:8443"
    totals = {}
    try:
        for name, mode, extra in (("1.3 full", "handshake", []), ("1.3 resumed", "resume", []),
                                  ("1.2 full", "handshake", ["--tls", "1.2"]),
                                  ("1.2 resumed", "resume", ["--tls", "1.2"]),
                                  ("1.3 mTLS", "handshake", mtls),
                                  ("1.2 mTLS", "handshake", ["--tls", "1.2"] + mtls)):
            r = run_perf(sock, tmp, mode, https, extra, queues=1)
            check("handshake lcores, " + name, r, handshakes=20)
            if mode == "resume":
                assert r["totals"]["resumed"] >= r["totals"]["handshakes"] - 8, r["totals"]
            totals[name] = r["totals"]
    finally:
        code, counters = engine.stop()
    assert code == 0, f"linetls exit {code}: {engine.stderr[-2000:]}"
    jobs = {}
    for line in engine.stdout.splitlines():
        if line.startswith("counter handshake_lcore=1 "):
            jobs = dict(kv.split("=") for kv in line.split()[1:])
    assert jobs, engine.stdout[-2000:]
    ran = sum(int(jobs[k]) for k in ("key_exchange", "key_gen", "derive", "sign",
                                     "verify_chain", "verify"))
    assert counters.get("tls.pk_jobs.inline", 0) == 0, counters
    assert counters.get("tls.pk_jobs.ring_full", 0) == 0, counters
    assert counters["tls.pk_jobs.offloaded"] == ran > 0, (counters, jobs)
    # Every full handshake signed once on the lcore: TLS 1.3's CertificateVerify and
    # TLS 1.2's ServerKeyExchange (resumed ones sign nothing); a few more may have signed
    # and not finished when a run stopped (4 connections in flight per run).
    full = sum(t["handshakes"] - t["resumed"] for t in totals.values())
    assert full <= int(jobs["sign"]) <= full + 4 * len(totals), (jobs, totals)
    # Mutual TLS: the client's chain and its CertificateVerify were checked on the lcore,
    # once per mTLS handshake.
    mutual = totals["1.3 mTLS"]["handshakes"] + totals["1.2 mTLS"]["handshakes"]
    verified = counters["tls.mtls.client_cert_verified"]
    assert mutual <= verified <= mutual + 8, (verified, totals)  # (some still in flight)
    assert mutual <= int(jobs["verify"]) <= mutual + 8, (jobs, totals)
    assert mutual <= int(jobs["verify_chain"]) <= mutual + 8, (jobs, totals)
    print("handshake lcores: every public-key job ran on lcore 1:", jobs)


if __name__ == "__main__":
    main()
