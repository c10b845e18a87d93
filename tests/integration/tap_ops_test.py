"""TAP mode, running linetls for real: a config file, --check-config, SIGHUP reloads,
ticket key files shared between processes, DPDK telemetry and Prometheus /metrics.

Engine A (ltops0, 10.99.50.0/24) starts from a config file written like
docs/linetls.example.toml: tls:http on 443 and echo on 7, certificates from live.pem /
live.key, a HAProxy-format ticket key file, --metrics on a loopback port and a stats line
every second.
- --check-config: the file is ok (exit 0); an unknown key, a bad value and a missing
  certificate file are one line each with FILE:LINE:COLUMN (exit 2).
- Python's ssl and a plain socket talk to the services the file declares.
- 200 concurrent TLS downloads start under certificate "first"; live.pem/live.key are
  replaced by "second" and SIGHUP sent while every download is mid-transfer; once
  telemetry says every worker uses generation 2, a new handshake gets "second"; then the
  downloads finish, each with the SHA-256 of the /bytes pattern. A handshake that was half
  done (ClientHello answered) at the reload finishes on the old certificate and serves a
  request. A SIGHUP with a broken certificate file keeps "second" and logs one line.
Engine B (ltops1, 10.99.51.0/24) shares the ticket key file: a session ticket from A
resumes on B; an engine C on ltops1 without the file does a full handshake. Rewriting the
key file is picked up without a signal (HAProxy rotation: a key still in the file keeps
opening tickets; a file without it does not).
Before A stops, /linetls/stats, /workers, /tls and /config answer on the telemetry socket
and /metrics is scraped; at stop the counters that cannot change in between (handshakes by
version, resumptions, passive opens, batch histogram counts) equal the printed ones.

Sizes: 200 x 256 KiB downloads; the whole test takes a few seconds.
"""
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from engine import Engine, binary_from_env, wait_for  # noqa: E402

TAP_A, IP_A, HOST_A = "ltops0", "10.99.50.2", "10.99.50.1"
TAP_B, IP_B, HOST_B = "ltops1", "10.99.51.2", "10.99.51.1"
HTTPS, ECHO = 443, 7
CLIENTS = 200
SIZE = 256 * 1024


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, **kw)


def body_sha256(n):
    return hashlib.sha256(bytes(ord("a") + i % 26 for i in range(n))).hexdigest()


def make_cert(d, name):
    """A self-signed ECDSA certificate CN=<name>.test for a.test and both engines' IPs."""
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={name}.test",
             "-addext", f"subjectAltName=DNS:a.test,IP:{IP_A},IP:{IP_B}"], cwd=d)
    assert r.returncode == 0, r.stderr.decode()
    with open(os.path.join(d, f"{name}.pem")) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def replace_file(path, data):
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def haproxy_keys(*keys):
    return b"".join(base64.b64encode(k) + b"\n" for k in keys)


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test compares the certificate's bytes itself
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def read_response(s):
    """One HTTP response from s (Content-Length framed): (head, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"closed before the headers: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    m = re.search(rb"Content-Length: (\d+)", head)
    assert m, head
    n = int(m.group(1))
    while len(body) < n:
        chunk = s.recv(65536)
        assert chunk, f"closed after {len(body)} of {n} body bytes"
        body += chunk
    return head, body


def get(ip, path="/", session=None, ctx=None):
    """A GET over a new TLS connection: (peer certificate DER, head, body, ssl socket)."""
    raw = socket.create_connection((ip, HTTPS), timeout=20)
    s = (ctx or client_context()).wrap_socket(raw, server_hostname="a.test", session=session)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: a.test\r\n\r\n".encode())
    head, body = read_response(s)
    return s.getpeercert(binary_form=True), head, body, s


def telemetry(pid, cmd):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(10)
        s.connect(f"/var/run/dpdk/linetls-{pid}/dpdk_telemetry.v2")
        json.loads(s.recv(1 << 16))  # the greeting: version, pid, max_output_len
        s.send(cmd.encode())
        return json.loads(s.recv(1 << 20))[cmd]


def scrape(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"text/plain; version=0.0.4" in head, head
    return body.decode()


def metric_sum(text, name, **labels):
    """The sum of every sample of family `name` whose labels include `labels`."""
    total = 0
    found = False
    for line in text.splitlines():
        if line.startswith("#") or not (line.startswith(name + "{") or
                                        line.startswith(name + " ")):
            continue
        sample, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in sample for k, v in labels.items()):
            total += int(value)
            found = True
    assert found, f"no {name} {labels} in /metrics"
    return total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TapOpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = binary_from_env()
        cls.dir = tempfile.mkdtemp(prefix="linetls-ops-")
        cls.first = make_cert(cls.dir, "first")
        cls.second = make_cert(cls.dir, "second")
        shutil.copy(os.path.join(cls.dir, "first.pem"), os.path.join(cls.dir, "live.pem"))
        shutil.copy(os.path.join(cls.dir, "first.key"), os.path.join(cls.dir, "live.key"))
        cls.keys = [os.urandom(80) for _ in range(5)]
        cls.ticket_file = os.path.join(cls.dir, "ticket.key")
        replace_file(cls.ticket_file, haproxy_keys(*cls.keys[:3]))  # keys[1] seals
        cls.metrics_port = free_port()
        cls.config = os.path.join(cls.dir, "linetls.toml")
        with open(cls.config, "w") as f:
            f.write(f"""# as docs/linetls.example.toml
tap = "{TAP_A}"
host_ip = "{HOST_A}/24"
ip = "{IP_A}/24"
log_level = 1
handshake_timeout_ms = 60000
certificates = [{{ cert = "live.pem", key = "live.key" }}]
ticket_key_file = "ticket.key"
metrics = "127.0.0.1:{cls.metrics_port}"
stats_interval = 1
serve = ["{ECHO}=echo"]

[[service]]
port = {HTTPS}
app = "http"
tls = true
""")
        cls.a = Engine(cls.binary, TAP_A, IP_A, HOST_A, args=["--config", cls.config])
        cls.a.start()
        cls.a_started = time.monotonic()
        cls.b = None

    @classmethod
    def tearDownClass(cls):
        cls.a.kill()
        if cls.b is not None:
            cls.b.kill()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def a_tls(self):
        return telemetry(self.a.proc.pid, "/linetls/tls")

    # ---- --check-config

    def test_1_check_config(self):
        ok = run([self.binary, "--check-config", self.config])
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn(b": ok (2 services, 1 TLS profiles, ticket key file)", ok.stdout)
        bad = os.path.join(self.dir, "bad.toml")
        cases = [
            ('tap = "x"\nwokers = 2\n', f"{bad}:2:1: unknown key 'wokers'"),
            ('tap = "x"\nidle_timeout_ms = "5s"\n',
             f"{bad}:2:19: idle_timeout_ms: expected an integer"),
            ('tap = "x"\ncertificates = [{ cert = "missing.pem", key = "live.key" }]\n'
             'serve = ["443=tls:http"]\n',
             f"{bad}:2:1: --cert {self.dir}/missing.pem --key {self.dir}/live.key: "),
        ]
        for text, start in cases:
            with open(bad, "w") as f:
                f.write(text)
            r = run([self.binary, "--check-config", bad])
            err = r.stderr.decode()
            self.assertEqual(r.returncode, 2, err)
            self.assertEqual(err.count("\n"), 1, err)
            self.assertTrue(err.startswith("linetls: " + start), err)

    # ---- the services the file declares

    def test_2_serves_from_the_config_file(self):
        der, head, body, s = get(IP_A)
        s.close()
        self.assertEqual(der, self.first)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"X-TLS-Version: 1.3", head)
        with socket.create_connection((IP_A, ECHO), timeout=10) as e:
            e.sendall(b"config file")
            got = b""
            while len(got) < 11:
                chunk = e.recv(64)
                self.assertTrue(chunk)
                got += chunk
            self.assertEqual(got, b"config file")

    # ---- SIGHUP during 200 downloads

    def test_3_sighup_swaps_the_certificate_under_load(self):
        ready = threading.Semaphore(0)
        go = threading.Event()
        expected = body_sha256(SIZE)

        def download(i):
            raw = socket.create_connection((IP_A, HTTPS), timeout=60)
            with client_context().wrap_socket(raw, server_hostname="a.test") as s:
                der = s.getpeercert(binary_form=True)
                s.sendall(f"GET /bytes/{SIZE} HTTP/1.1\r\nHost: a.test\r\n\r\n".encode())
                first = s.recv(4096)  # the transfer has started
                ready.release()
                assert go.wait(60), "never released"
                # The rest of the response, after the reload.
                data = first
                while b"\r\n\r\n" not in data:
                    data += s.recv(65536)
                head, body = data.split(b"\r\n\r\n", 1)
                while len(body) < SIZE:
                    chunk = s.recv(65536)
                    assert chunk, f"client {i}: closed after {len(body)} bytes"
                    body += chunk
                return der, hashlib.sha256(body).hexdigest(), len(body)

        # A handshake half done at the reload: ClientHello sent and answered.
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        half = client_context().wrap_bio(incoming, outgoing, server_hostname="a.test")
        half_sock = socket.create_connection((IP_A, HTTPS), timeout=20)
        try:
            half.do_handshake()
        except ssl.SSLWantReadError:
            pass
        half_sock.sendall(outgoing.read())
        incoming.write(half_sock.recv(65536))  # ServerHello .. server Finished

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(download, i) for i in range(CLIENTS)]
            for _ in range(CLIENTS):
                if not ready.acquire(timeout=60):
                    go.set()
                    raise AssertionError("not every download started: " +
                                         repr([f.exception() for f in futures if f.done()]))
            # Every download is mid-transfer: swap the files and reload.
            replace_file(os.path.join(self.dir, "live.key"),
                         read_bytes(os.path.join(self.dir, "second.key")))
            replace_file(os.path.join(self.dir, "live.pem"),
                         read_bytes(os.path.join(self.dir, "second.pem")))
            self.a.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: self.a_tls()["generation_in_use"] == 2, 20),
                            self.a_tls())
            der, head, _, s = get(IP_A)
            s.close()
            self.assertEqual(der, self.second, "a new handshake after the reload")
            go.set()
            results = [f.result(timeout=120) for f in futures]
        for der, digest, n in results:
            self.assertEqual(der, self.first)  # they started before the reload
            self.assertEqual((n, digest), (SIZE, expected))

        # The half-done handshake finishes on the old material and serves a request.
        while True:
            try:
                half.do_handshake()
                break
            except ssl.SSLWantReadError:
                half_sock.sendall(outgoing.read())
                incoming.write(half_sock.recv(65536))
        half_sock.sendall(outgoing.read())
        self.assertEqual(half.getpeercert(binary_form=True), self.first)
        half.write(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        half_sock.sendall(outgoing.read())
        answer = b""
        while b"linetls" not in answer:
            data = half_sock.recv(65536)
            self.assertTrue(data, answer)
            incoming.write(data)
            try:
                answer += half.read(65536)
            except ssl.SSLWantReadError:
                pass
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer)
        half_sock.close()

        # A broken certificate file: the reload fails, "second" stays.
        replace_file(os.path.join(self.dir, "live.pem"), b"not a certificate\n")
        self.a.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.a_tls()["reload_failures"] == 1, 20))
        t = self.a_tls()
        self.assertEqual((t["generation_offered"], t["generation_in_use"]), (2, 2), t)
        der, _, _, s = get(IP_A)
        s.close()
        self.assertEqual(der, self.second)
        replace_file(os.path.join(self.dir, "live.pem"),
                     read_bytes(os.path.join(self.dir, "second.pem")))

    # ---- ticket key files across processes

    def test_4_tickets_resume_across_processes_sharing_the_key_file(self):
        cert = ["--cert", os.path.join(self.dir, "second.pem"),
                "--key", os.path.join(self.dir, "second.key")]
        ctx = client_context()
        _, _, _, s = get(IP_A, ctx=ctx)
        session = s.session
        s.close()
        self.assertTrue(session.has_ticket)

        b = Engine(self.binary, TAP_B, IP_B + "/24", HOST_B + "/24",
                   ["--serve", f"{HTTPS}=tls:http", "--ticket-key-file", self.ticket_file] + cert)
        type(self).b = b
        b.start()
        _, head, _, s2 = get(IP_B, session=session, ctx=ctx)
        self.assertTrue(s2.session_reused, "B opens A's ticket")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"))
        s2.close()
        code, counters = b.stop()
        self.assertEqual(code, 0)
        self.assertEqual(counters.get("tls.handshakes_resumed"), 1)

        c = Engine(self.binary, TAP_B, IP_B + "/24", HOST_B + "/24",
                   ["--serve", f"{HTTPS}=tls:http"] + cert)
        type(self).b = c
        c.start()
        _, _, _, s3 = get(IP_B, session=session, ctx=ctx)
        self.assertFalse(s3.session_reused, "C, without the key file, cannot open it")
        s3.close()
        code, counters = c.stop()
        self.assertEqual(code, 0)
        self.assertEqual(counters.get("tls.handshakes_resumed", 0), 0)
        type(self).b = None

        # Rewriting the file is picked up without a signal. HAProxy's rotation: append a
        # key, drop the oldest; the ticket's key (keys[1]) still opens.
        generation = self.a_tls()["generation_in_use"]
        replace_file(self.ticket_file, haproxy_keys(*self.keys[1:4]))
        self.assertTrue(wait_for(lambda: self.a_tls()["generation_in_use"] == generation + 1,
                                 20), self.a_tls())
        _, _, _, s4 = get(IP_A, session=session, ctx=ctx)
        self.assertTrue(s4.session_reused, "a key still in the file opens its tickets")
        s4.close()
        replace_file(self.ticket_file, haproxy_keys(self.keys[4]))
        self.assertTrue(wait_for(lambda: self.a_tls()["generation_in_use"] == generation + 2,
                                 20), self.a_tls())
        _, _, _, s5 = get(IP_A, session=session, ctx=ctx)
        self.assertFalse(s5.session_reused, "a key gone from the file no longer opens")
        s5.close()

    # ---- telemetry, /metrics, exit counters

    def test_5_telemetry_and_metrics_match_the_exit_counters(self):
        pid = self.a.proc.pid
        config = telemetry(pid, "/linetls/config")
        self.assertEqual(config["services"], f"{ECHO}=echo {HTTPS}=tls:http")
        self.assertEqual(config["config_file"], self.config)
        self.assertEqual(config["metrics"], f"127.0.0.1:{self.metrics_port}")
        workers = telemetry(pid, "/linetls/workers")
        self.assertEqual(sorted(workers), ["0"])
        tls = self.a_tls()
        self.assertEqual(tls["ticket_keys"], "file")
        self.assertEqual(tls["reloads"], 3)  # SIGHUP, then two key file changes
        self.assertEqual(tls["reload_failures"], 1)
        # Every client is gone (nothing established) before the last look.
        self.assertTrue(wait_for(lambda: metric_sum(scrape(self.metrics_port),
                                                    "linetls_tcp_connections",
                                                    state="established") == 0, 20))
        stats = telemetry(pid, "/linetls/stats")
        text = scrape(self.metrics_port)
        # The stats line runs every second: let one pass since start, then stop.
        wait_for(lambda: time.monotonic() - self.a_started > 1.5, 5)
        code, counters = self.a.stop()
        self.assertEqual(code, 0, self.a.stderr)

        self.assertEqual(metric_sum(text, "linetls_tls_handshakes_total", version="1.3") +
                         metric_sum(text, "linetls_tls_handshakes_total", version="1.2"),
                         counters["tls.handshakes"])
        self.assertEqual(metric_sum(text, "linetls_tls_handshakes_total", version="1.3"),
                         counters["tls.tls13"])
        self.assertGreaterEqual(counters["tls.handshakes"], CLIENTS + 5)
        self.assertEqual(metric_sum(text, "linetls_tls_handshakes_resumed_total"),
                         counters["tls.handshakes_resumed"])
        self.assertEqual(counters["tls.handshakes_resumed"], 1)  # the s4 connection
        self.assertEqual(metric_sum(text, "linetls_tcp_passive_opens_total"),
                         counters["tcp.passive_opens"])
        self.assertEqual(metric_sum(text, "linetls_tls_open_batch_size_count"),
                         counters["tls.open_batches"])
        self.assertEqual(metric_sum(text, "linetls_tls_open_batch_size_bucket", le="+Inf"),
                         counters["tls.open_batches"])
        self.assertEqual(metric_sum(text, "linetls_tls_open_batch_size_sum"),
                         counters["tls.open_ops"])
        self.assertEqual(metric_sum(text, "linetls_tls_seal_batch_size_bucket", le="1"),
                         counters["tls.seal_batch.1"])
        self.assertEqual(metric_sum(text, "linetls_tls_generation"), 4)
        self.assertEqual(counters["tls.generations_adopted"], 3)
        self.assertGreater(metric_sum(text, "linetls_mempool_in_use"), 0)
        self.assertIn("# TYPE linetls_tls_open_batch_size histogram", text)
        self.assertEqual(stats["tls"]["handshakes"], counters["tls.handshakes"])
        self.assertEqual(stats["tcp"]["passive_opens"], counters["tcp.passive_opens"])
        self.assertIn("rx_packets", stats["port"])
        # One line for the broken certificate, naming the file.
        failures = [l for l in self.a.stderr.splitlines() if "reload (SIGHUP) failed" in l]
        self.assertEqual(len(failures), 1, self.a.stderr)
        self.assertIn("live.pem", failures[0])
        self.assertIn("keeping generation 2", failures[0])
        lines = [l for l in self.a.stdout.splitlines() if l.startswith("stats conns=")]
        self.assertTrue(lines, self.a.stdout[-2000:])
        self.assertRegex(lines[-1], r"^stats conns=\d+ hs/s=[\d.]+ in=[\d.]+Gbit/s "
                                    r"out=[\d.]+Gbit/s drops=\d+ errors=\d+ \| w0 conns=")


if __name__ == "__main__":
    unittest.main(verbosity=2)
