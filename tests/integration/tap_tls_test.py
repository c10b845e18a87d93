"""TAP mode, TLS 1.3: real clients (curl, openssl s_client, gnutls-cli, Python's ssl)
against the engine's tls:http, tls:echo and tls:discard services.

- curl: one GET, two URLs over one kept-alive connection, and a 100 MiB /bytes download
  whose SHA-256 matches the documented pattern;
- openssl s_client: each of the 3 cipher suites with each of X25519, P-256 and P-384
  (the suite and group it prints match); a key share the server does not support forces a
  HelloRetryRequest; certificate selection by SNI among an ECDSA P-256, an RSA-2048 and an
  Ed25519 leaf (all signed by a test CA made here); resumption with -sess_out/-sess_in;
  KeyUpdate both ways through tls:echo (s_client's interactive 'k' and 'K');
- gnutls-cli: a handshake and an HTTP GET;
- Python ssl: 10,000 echoed messages of seeded random length (1..20000 bytes), then a
  clean close (close_notify both ways); 16 MiB into tls:discard; 100 concurrent
  handshakes;
- versions: TLS 1.0 and 1.1 refused with protocol_version; TLS 1.2 completes where the
  engine has it (--help lists --tls-min; then --tls-min 1.3 refuses it) and is refused
  with protocol_version where it does not;
- bad input: plaintext HTTP on the TLS port, a truncated ClientHello left hanging
  (closed by --handshake-timeout-ms 1000, on a second engine on lttls1), garbage and a
  forged record after the handshake; the engine keeps serving;
- --key-update-records 16 (another engine on lttls1): a 4 MiB download crosses many
  server KeyUpdates and arrives intact;
- at stop: exit code 0 and the tls.* counters match what the clients did, exactly where
  the test can count it.

The sanitizer build runs the same sizes: the whole test took 6.2 s with the gcc build and
8.5 s with build-san (ASan + UBSan) when written, so nothing is scaled down.

Everything stays on the TAP links (10.99.30.0/24 on lttls0, 10.99.31.0/24 on lttls1):
clients reach the engine by its TAP address, with curl --resolve and s_client
-servername for the test names.
"""
import concurrent.futures
import hashlib
import os
import queue
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from engine import Engine, binary_from_env  # noqa: E402

TAP = "lttls0"
IP = "10.99.30.2"
HOST_IP = "10.99.30.1"
TAP2 = "lttls1"  # test_4c's own engine
IP2 = "10.99.31.2"
HOST_IP2 = "10.99.31.1"
HTTP_PORT = 443
ECHO_PORT = 7443
DISCARD_PORT = 9443
MiB = 1 << 20
DEFAULT_PAGE = b"linetls: hello from a userspace TCP stack\n"
SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
# s_client -groups name -> what s_client prints after "Server Temp Key: "
GROUPS = {"X25519": "X25519", "P-256": "ECDH, prime256v1", "P-384": "ECDH, secp384r1"}
SUITE_COUNTER = {
    "TLS_AES_128_GCM_SHA256": "tls13_aes_128_gcm_sha256",
    "TLS_AES_256_GCM_SHA384": "tls13_aes_256_gcm_sha384",
    "TLS_CHACHA20_POLY1305_SHA256": "tls13_chacha20_poly1305_sha256",
}
GROUP_COUNTER = {"X25519": "x25519", "P-256": "secp256r1", "P-384": "secp384r1"}
DOWNLOAD = 100 * MiB
MESSAGES = 10000


def body_sha256(n):
    """SHA-256 of the first n bytes of the /bytes/N pattern ('a' + i % 26)."""
    block = bytes(ord("a") + i % 26 for i in range(26 * 40960))
    h = hashlib.sha256()
    while n > 0:
        take = min(n, len(block))
        h.update(block[:take])
        n -= take
    return h.hexdigest()


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, **kw)


def make_certs(d):
    """A test CA and three leaves it signs, in d: a (ECDSA P-256, a.test), b (RSA-2048,
    b.test), c (Ed25519, c.test). Each leaf also names the engine's IP. Returns paths."""
    def ossl(*args):
        r = run(["openssl", *args], cwd=d)
        assert r.returncode == 0, r.stderr.decode()

    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=linetls test CA", "-days", "2",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign")
    keys = {"a": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "b": ["-newkey", "rsa:2048"],
            "c": ["-newkey", "ed25519"]}
    for name, newkey in keys.items():
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(f"subjectAltName=DNS:{name}.test,IP:{IP}\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        ossl("req", *newkey, "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
             "-subj", f"/CN={name}.test")
        ossl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")
    return {n: os.path.join(d, n) for n in ("ca", "a", "b", "c")}


class TapTlsTest(unittest.TestCase):
    # What the clients did, counted as they succeed; test_9 compares with the engine.
    full = 0
    resumed = 0
    psk_ke = 0  # of resumed: without a key exchange (test_2g)
    tls12 = 0  # of full: TLS 1.2 handshakes
    refused = 0  # connections refused with protocol_version
    echo_bytes = 0  # application bytes test_3a sent (and got back)
    discard_bytes = 0  # application bytes test_3c sent
    lock = threading.Lock()

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="linetls-tls-")
        cls.certs = make_certs(cls.dir)
        cls.ca = cls.certs["ca"] + ".pem"
        args = ["--serve", f"{HTTP_PORT}=tls:http", "--serve", f"{ECHO_PORT}=tls:echo",
                "--serve", f"{DISCARD_PORT}=tls:discard", "--tls13-psk-ke"]
        for n in ("a", "b", "c"):  # a first: the certificate when nothing else decides
            args += ["--cert", cls.certs[n] + ".pem", "--key", cls.certs[n] + ".key"]
        cls.engine = Engine(binary_from_env(), TAP, IP + "/24", HOST_IP + "/24", args)
        cls.engine.start()
        # One handshake first, so an engine that does not answer fails every case at once
        # instead of each running into its own client timeout.
        try:
            raw = socket.create_connection((IP, ECHO_PORT), timeout=20)
            with tls13_context(cls.ca).wrap_socket(raw, server_hostname="a.test") as s:
                s.sendall(b"probe")
                got = b""
                while len(got) < 5:
                    b = s.recv(5 - len(got))
                    assert b, "echo closed"
                    got += b
                assert got == b"probe", got
        except Exception as e:
            cls.engine.kill()
            raise AssertionError(f"no TLS echo from the engine: {e!r}")
        cls.full = 1

    @classmethod
    def tearDownClass(cls):
        cls.engine.kill()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def count(cls, full=0, resumed=0):
        with cls.lock:
            cls.full += full
            cls.resumed += resumed

    def context(self):
        return tls13_context(self.ca)

    def s_client(self, *args, port=HTTP_PORT, request=True, servername="a.test"):
        """One s_client connection; with request, a GET that closes. Returns (out, err)."""
        cmd = ["openssl", "s_client", "-connect", f"{IP}:{port}", "-CAfile", self.ca,
               "-ign_eof"]
        if servername:
            cmd += ["-servername", servername, "-verify_hostname", servername]
        cmd += list(args)
        data = (b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
                if request else b"")
        r = run(cmd, input=data, timeout=20)
        return r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    # ---- curl

    def curl(self, *args, timeout=120):
        return run(["curl", "-sS", "--tlsv1.3", "--cacert", self.ca, "--max-time",
                    str(timeout), "--resolve", f"a.test:{HTTP_PORT}:{IP}", *args],
                   timeout=timeout + 10)

    def test_1a_curl_get(self):
        r = self.curl("-o", "-", "-w", "%{http_code}", f"https://a.test:{HTTP_PORT}/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.count(full=1)
        self.assertEqual(r.stdout, DEFAULT_PAGE + b"200")

    def test_1b_curl_keep_alive(self):
        r = self.curl("-v", f"https://a.test:{HTTP_PORT}/",
                      f"https://a.test:{HTTP_PORT}/bytes/1000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.count(full=1)
        self.assertEqual(r.stdout, DEFAULT_PAGE + body_bytes(1000))
        self.assertIn(b"Re-using existing connection", r.stderr)
        self.assertEqual(r.stderr.count(b"SSL connection using TLSv1.3"), 1, r.stderr)

    def test_1c_curl_download(self):
        p = subprocess.Popen(["curl", "-sS", "--tlsv1.3", "--cacert", self.ca, "--max-time",
                              "300", "--resolve", f"a.test:{HTTP_PORT}:{IP}", "-o", "-",
                              f"https://a.test:{HTTP_PORT}/bytes/{DOWNLOAD}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        h = hashlib.sha256()
        n = 0
        while True:
            b = p.stdout.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        self.assertEqual(p.wait(), 0, err)
        self.count(full=1)
        self.assertEqual(n, DOWNLOAD)
        self.assertEqual(h.hexdigest(), body_sha256(DOWNLOAD))

    # ---- openssl s_client

    def test_2a_suites_and_groups(self):
        for suite in SUITES:
            for group, printed in GROUPS.items():
                with self.subTest(suite=suite, group=group):
                    out, err = self.s_client("-tls1_3", "-ciphersuites", suite, "-groups", group)
                    self.assertIn(f"New, TLSv1.3, Cipher is {suite}", out, err)
                    self.count(full=1)
                    self.assertIn(f"Server Temp Key: {printed}", out)
                    self.assertIn("Verification: OK", out)
                    self.assertIn("HTTP/1.1 200 OK", out)

    def test_2b_hello_retry_request(self):
        # X448 is offered first, so s_client's only key share is X448, which the server
        # does not support: it must ask for X25519 with a HelloRetryRequest.
        out, err = self.s_client("-tls1_3", "-groups", "X448:X25519")
        self.assertIn("New, TLSv1.3", out, err)
        self.count(full=1)
        self.assertIn("Server Temp Key: X25519", out)
        self.assertIn("HTTP/1.1 200 OK", out)

    def test_2c_certificate_by_sni(self):
        cases = [("a.test", "a.test", "ECDSA"), ("b.test", "b.test", "RSA-PSS"),
                 ("c.test", "c.test", "Ed25519"), (None, "a.test", "ECDSA")]
        for sni, subject, sig in cases:
            with self.subTest(sni=sni):
                extra = ["-noservername"] if sni is None else []
                out, err = self.s_client("-tls1_3", *extra, servername=sni)
                self.assertIn("New, TLSv1.3", out, err)
                self.count(full=1)
                self.assertIn(f"subject=CN = {subject}", out)
                self.assertIn(f"peer signature type: {sig.lower()}", out.lower())
                if sni:
                    self.assertIn("Verification: OK", out)

    def test_2d_resumption(self):
        sess = os.path.join(self.dir, "sess.pem")
        out, err = self.s_client("-tls1_3", "-sess_out", sess)
        self.assertIn("New, TLSv1.3", out, err)
        self.count(full=1)
        self.assertTrue(os.path.getsize(sess) > 0, "s_client saved no session (no ticket?)")
        out, err = self.s_client("-tls1_3", "-sess_in", sess)
        self.assertIn("Reused, TLSv1.3", out, err)
        self.count(resumed=1)
        self.assertIn("HTTP/1.1 200 OK", out)

    def test_2g_resumption_without_key_exchange(self):
        # --tls13-psk-ke: OpenSSL's client lists psk_ke only with -allow_no_dhe_kex (and then
        # psk_dhe_ke too); the engine prefers psk_ke, so there is no key share either way.
        sess = os.path.join(self.dir, "sess_psk_ke.pem")
        out, err = self.s_client("-tls1_3", "-allow_no_dhe_kex", "-sess_out", sess)
        self.assertIn("New, TLSv1.3", out, err)
        self.count(full=1)
        out, err = self.s_client("-tls1_3", "-allow_no_dhe_kex", "-sess_in", sess)
        self.assertIn("Reused, TLSv1.3", out, err)
        self.assertIn("HTTP/1.1 200 OK", out)
        self.assertNotIn("Server Temp Key", out)  # no (EC)DHE share in the ServerHello
        with self.lock:
            type(self).psk_ke += 1
        self.count(resumed=1)

    def test_2e_key_update_through_echo(self):
        p = subprocess.Popen(["openssl", "s_client", "-connect", f"{IP}:{ECHO_PORT}",
                              "-CAfile", self.ca, "-servername", "a.test", "-tls1_3"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        lines = queue.Queue()

        def reader():
            for ln in p.stdout:
                lines.put(ln)
            lines.put(None)

        threading.Thread(target=reader, daemon=True).start()
        seen = []

        def wait_line(want):
            while True:
                try:
                    ln = lines.get(timeout=30)
                except queue.Empty:
                    p.kill()
                    self.fail(f"no {want!r} from s_client: {b''.join(seen)!r}")
                if ln is None:
                    self.fail(f"s_client ended before {want!r}: {b''.join(seen)!r}")
                seen.append(ln)
                if ln.rstrip(b"\r\n") == want:
                    return

        def send(b):
            p.stdin.write(b)
            p.stdin.flush()

        try:
            send(b"before\n")
            wait_line(b"before")
            send(b"k\n")  # KeyUpdate, update_not_requested
            wait_line(b"KEYUPDATE")
            send(b"after-k\n")
            wait_line(b"after-k")
            send(b"K\n")  # KeyUpdate, update_requested: the server must update too
            wait_line(b"KEYUPDATE")
            send(b"after-K\n")
            wait_line(b"after-K")
            p.stdin.close()
            p.wait(30)
        finally:
            p.kill()
            p.wait()
            p.stdout.close()
        self.count(full=1)

    def test_2f_gnutls_cli(self):
        r = run(["gnutls-cli", "--x509cafile", self.ca, "-p", str(HTTP_PORT),
                 "--sni-hostname", "a.test", "--verify-hostname", "a.test", IP],
                input=b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
                timeout=30)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        self.assertIn("Handshake was completed", out)
        self.count(full=1)
        self.assertIn("(TLS1.3", out)
        self.assertIn("The certificate is trusted", out)
        self.assertIn("HTTP/1.1 200 OK", out)
        self.assertIn(DEFAULT_PAGE.decode().strip(), out)

    # ---- Python ssl

    def test_3a_python_echo_messages_then_clean_close(self):
        rng = random.Random(30)
        pool = rng.randbytes(1 << 16)
        raw = socket.create_connection((IP, ECHO_PORT), timeout=60)
        s = self.context().wrap_socket(raw, server_hostname="a.test")
        self.count(full=1)
        self.assertEqual(s.version(), "TLSv1.3")
        for i in range(MESSAGES):
            n = rng.randint(1, 20000)
            off = rng.randrange(len(pool))
            msg = (pool[off:] + pool)[:n]
            s.sendall(msg)
            got = bytearray()
            while len(got) < n:
                b = s.recv(n - len(got))
                self.assertTrue(b, f"message {i}: connection ended after {len(got)}/{n} bytes")
                got += b
            self.assertEqual(bytes(got), msg, f"message {i} ({n} bytes) came back different")
            TapTlsTest.echo_bytes += n
        # unwrap() sends our close_notify and returns once the server's has arrived.
        plain = s.unwrap()
        self.assertEqual(plain.recv(1), b"", "TCP must close after close_notify both ways")
        plain.close()

    def test_3c_python_into_discard(self):
        raw = socket.create_connection((IP, DISCARD_PORT), timeout=60)
        s = self.context().wrap_socket(raw, server_hostname="a.test")
        self.count(full=1)
        chunk = random.Random(3).randbytes(1 << 20)
        for _ in range(16):
            s.sendall(chunk)
        TapTlsTest.discard_bytes += 16 * MiB
        # close_notify both ways: the engine answers ours once it has taken everything.
        plain = s.unwrap()
        self.assertEqual(plain.recv(1), b"")
        plain.close()

    def test_3b_hundred_concurrent_handshakes(self):
        n = 100
        barrier = threading.Barrier(n, timeout=60)
        ctx = self.context()

        def one(i):
            raw = socket.create_connection((IP, HTTP_PORT), timeout=60)
            barrier.wait()  # every TCP connection is up before any handshake starts
            with ctx.wrap_socket(raw, server_hostname="a.test") as s:
                self.count(full=1)
                s.sendall(f"GET /bytes/{1000 + i} HTTP/1.1\r\nHost: a.test\r\n"
                          "Connection: close\r\n\r\n".encode())
                buf = b""
                while True:
                    try:
                        b = s.recv(65536)
                    except ssl.SSLEOFError:
                        break  # TCP FIN without close_notify: the check below decides
                    if not b:
                        break
                    buf += b
            head, _, body = buf.partition(b"\r\n\r\n")
            return head.startswith(b"HTTP/1.1 200") and body == body_bytes(1000 + i)

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
            ok = list(ex.map(one, range(n)))
        self.assertEqual(sum(ok), n, "every concurrent handshake and response completes")

    # ---- bad input, then the engine still serves

    def assert_closed(self, s, what):
        """Reads until EOF (30 s guard against a hang); returns the bytes the engine sent."""
        s.settimeout(30)
        got = b""
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail(f"{what}: the engine neither answered nor closed ({got!r})")
        return got

    def test_4a_plaintext_http_on_tls_port(self):
        with socket.create_connection((IP, HTTP_PORT), timeout=30) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            got = self.assert_closed(s, "plaintext HTTP")
        if got:
            # RFC 8446 §5: an unexpected record type ('G') gets a fatal unexpected_message
            # alert, in plaintext since no keys exist yet.
            self.assertEqual(got, b"\x15\x03\x03\x00\x02\x02\x0a")

    def test_4b_protocol_versions(self):
        # TLS 1.0 and 1.1 are refused with protocol_version (RFC 8446 §4.2.1, RFC 8996).
        for v in ("-tls1", "-tls1_1"):
            with self.subTest(version=v):
                out, err = self.s_client(v, "-cipher", "DEFAULT@SECLEVEL=0", request=False)
                self.assertNotIn("New, TLSv1", out)
                self.assertRegex(err, r"alert protocol version|SSL alert number 70", err)
                TapTlsTest.refused += 1
        out, err = self.s_client("-tls1_2")
        if engine_has_tls12():
            self.assertIn("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256", out, err)
            self.count(full=1)
            TapTlsTest.tls12 += 1
            self.assertIn("HTTP/1.1 200 OK", out)
        else:
            # An engine without TLS 1.2 must refuse a 1.2-only ClientHello the same way.
            self.assertNotIn("New, TLSv1.2", out)
            self.assertRegex(err, r"alert protocol version|SSL alert number 70", err)
            TapTlsTest.refused += 1

    def test_4c_truncated_client_hello_times_out(self):
        # A second engine with a short handshake deadline, on its own TAP, so the main
        # engine keeps its default deadline for the concurrent and sanitizer-slow cases.
        tls13_only = ["--tls-min", "1.3"] if engine_has_tls12() else []
        e = Engine(binary_from_env(), TAP2, IP2 + "/24", HOST_IP2 + "/24",
                   ["--serve", f"{HTTP_PORT}=tls:http", "--handshake-timeout-ms", "1000",
                    "--cert", self.certs["a"] + ".pem", "--key", self.certs["a"] + ".key"] +
                   tls13_only)
        e.start()
        try:
            if tls13_only:
                # --tls-min 1.3: a 1.2-only client is refused with protocol_version.
                r = run(["openssl", "s_client", "-connect", f"{IP2}:{HTTP_PORT}", "-tls1_2"],
                        input=b"", timeout=20)
                self.assertNotIn(b"New, TLSv1.2", r.stdout)
                self.assertRegex(r.stderr.decode(errors="replace"),
                                 r"alert protocol version|SSL alert number 70")
            hello = client_hello_bytes(self.context())
            with socket.create_connection((IP2, HTTP_PORT), timeout=30) as s:
                s.sendall(hello[:len(hello) // 2])
                got = self.assert_closed(s, "truncated ClientHello")
            if got:
                self.assertEqual(got[:1], b"\x15", got)
            # Still serving, and the deadline did not cut a handshake that completes.
            raw = socket.create_connection((IP2, HTTP_PORT), timeout=30)
            with self.context().wrap_socket(raw, server_hostname="a.test") as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
                self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200 OK"))
            rc, c = e.stop(signal.SIGINT)
        finally:
            e.kill()
        self.assertEqual(rc, 0, e.stderr)
        self.assertEqual(c.get("tls.handshake_timeouts", 0), 1, c)
        self.assertEqual(c.get("tls.handshakes", 0), 1, c)
        self.assertEqual(c.get("tls.alert_sent.protocol_version", 0), 1 if tls13_only else 0, c)

    def test_4d_garbage_after_handshake(self):
        with socket.create_connection((IP, ECHO_PORT), timeout=30) as s:
            obj = handshake_raw(s, self.context())
            self.count(full=1)
            s.sendall(random.Random(4).randbytes(300))
            got = self.assert_closed(s, "garbage after the handshake")
        self.assertTrue(obj.version() == "TLSv1.3")
        del got  # an alert or not: the header decides (content type, length); only EOF is sure

    def test_4e_forged_record_after_handshake_gets_bad_record_mac(self):
        with socket.create_connection((IP, ECHO_PORT), timeout=30) as s:
            obj, incoming = handshake_raw(s, self.context(), want_bio=True)
            self.count(full=1)
            # A well-formed application_data record whose ciphertext is random: the AEAD
            # tag cannot verify, so the engine must send bad_record_mac (RFC 8446 §5.2).
            body = random.Random(5).randbytes(64)
            s.sendall(b"\x17\x03\x03" + len(body).to_bytes(2, "big") + body)
            incoming.write(self.assert_closed(s, "forged record"))
        incoming.write_eof()
        with self.assertRaises(ssl.SSLError) as e:
            while True:
                obj.read(4096)
        self.assertIn("BAD_RECORD_MAC", str(e.exception).upper())

    def test_4f_still_serving(self):
        r = self.curl("-o", "-", f"https://a.test:{HTTP_PORT}/bytes/5000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.count(full=1)
        self.assertEqual(r.stdout, body_bytes(5000))

    def test_5_key_update_records(self):
        e = Engine(binary_from_env(), TAP2, IP2 + "/24", HOST_IP2 + "/24",
                   ["--serve", f"{HTTP_PORT}=tls:http", "--key-update-records", "16",
                    "--cert", self.certs["a"] + ".pem", "--key", self.certs["a"] + ".key"])
        e.start()
        n = 4 * MiB
        try:
            raw = socket.create_connection((IP2, HTTP_PORT), timeout=60)
            with self.context().wrap_socket(raw, server_hostname="a.test") as s:
                s.sendall(f"GET /bytes/{n} HTTP/1.1\r\nHost: a.test\r\n"
                          "Connection: close\r\n\r\n".encode())
                buf = bytearray()
                while True:
                    try:
                        b = s.recv(1 << 20)
                    except ssl.SSLEOFError:
                        break
                    if not b:
                        break
                    buf += b
            rc, c = e.stop(signal.SIGINT)
        finally:
            e.kill()
        head, _, body = bytes(buf).partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK"), head)
        self.assertEqual(len(body), n)
        self.assertEqual(hashlib.sha256(body).hexdigest(), body_sha256(n))
        self.assertEqual(rc, 0, e.stderr)
        # 4 MiB is at least 256 full records: one KeyUpdate per 16 records sealed.
        self.assertGreaterEqual(c.get("tls.key_updates_sent", 0), n // 16384 // 16 - 1, c)
        self.assertEqual(c.get("tls.key_updates_received", 0), 0, c)

    # ---- counters

    def test_9_counters_at_exit(self):
        # Runs last (alphabetical): stop the engine and compare with what the clients did.
        rc, c = self.engine.stop(signal.SIGINT)
        self.assertEqual(rc, 0, self.engine.stderr)
        tls = {k[4:]: v for k, v in c.items() if k.startswith("tls.")}
        self.assertTrue(tls, f"no tls.* counters: {c}")
        print(f"\nclients: {self.full} full + {self.resumed} resumed handshakes; engine: " +
              " ".join(f"{k}={v}" for k, v in sorted(tls.items()) if v), file=sys.stderr)
        handshakes = self.full + self.resumed
        self.assertEqual(tls.get("handshakes", 0), handshakes, tls)
        self.assertEqual(tls.get("handshakes_resumed", 0), self.resumed, tls)
        self.assertEqual(tls.get("tls13", 0), handshakes - self.tls12, tls)
        self.assertEqual(tls.get("tls12", 0), self.tls12, tls)
        # Connections that never completed a handshake: plaintext HTTP and the refused ones.
        self.assertEqual(tls.get("connections", 0), handshakes + 1 + self.refused, tls)
        self.assertEqual(tls.get("handshake_failures", 0), 1 + self.refused, tls)
        self.assertEqual(tls.get("hello_retry_requests", 0), 1, tls)
        # Only the s_client matrix asks for these suites and for P-384 (3 handshakes each).
        for suite in SUITES[1:]:
            self.assertEqual(counter(tls, SUITE_COUNTER[suite]), 3, (suite, tls))
        self.assertEqual(counter(tls, GROUP_COUNTER["P-384"]), 3, tls)
        self.assertGreaterEqual(counter(tls, GROUP_COUNTER["P-256"]), 3, tls)
        self.assertGreaterEqual(counter(tls, GROUP_COUNTER["X25519"]), 3, tls)
        self.assertEqual(sum(counter(tls, v) for v in SUITE_COUNTER.values()),
                         handshakes - self.tls12, tls)
        self.assertEqual(tls.get("handshakes_resumed_psk_ke", 0), self.psk_ke, tls)
        # A psk_ke resumption has no group.
        self.assertEqual(sum(counter(tls, v) for v in GROUP_COUNTER.values()),
                         handshakes - self.psk_ke, tls)
        self.assertEqual(tls.get("key_updates_received", 0), 2, tls)  # 'k' and 'K'
        self.assertEqual(tls.get("key_updates_sent", 0), 1, tls)  # the answer to 'K'
        self.assertGreaterEqual(tls.get("close_notify_received", 0), 1, tls)
        self.assertGreaterEqual(tls.get("close_notify_sent", 0), 1, tls)
        self.assertEqual(tls.get("alert_sent.protocol_version", 0), self.refused, tls)
        self.assertEqual(tls.get("alert_sent.bad_record_mac", 0), 1, tls)
        self.assertGreaterEqual(tls.get("alert_sent.unexpected_message", 0), 1, tls)
        self.assertGreater(tls.get("records_opened", 0), MESSAGES, tls)
        self.assertGreater(tls.get("records_sealed", 0), MESSAGES, tls)
        self.assertGreaterEqual(tls.get("bytes_opened", 0), self.echo_bytes + self.discard_bytes,
                                tls)
        self.assertGreaterEqual(tls.get("bytes_sealed", 0), DOWNLOAD + self.echo_bytes, tls)


def engine_has_tls12():
    """True when the engine terminates TLS 1.2 too (its --help lists --tls-min)."""
    r = run([binary_from_env(), "--help"])
    return b"--tls-min" in r.stdout


def tls13_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def counter(tls, name):
    """tls.NAME, or tls.suite.NAME / tls.group.NAME (the engine groups those)."""
    for k in (name, "suite." + name, "group." + name):
        if k in tls:
            return tls[k]
    return 0


def body_bytes(n):
    return bytes(ord("a") + i % 26 for i in range(n))


def client_hello_bytes(ctx):
    """The first flight (one ClientHello record) of a TLS 1.3 client, without a socket."""
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname="a.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def handshake_raw(s, ctx, want_bio=False):
    """Runs a client handshake over socket s through memory BIOs, so the test can write
    raw bytes afterwards. Returns the SSLObject (and its incoming BIO if want_bio)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="a.test")
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            if outgoing.pending:
                s.sendall(outgoing.read())
            b = s.recv(65536)
            if not b:
                raise AssertionError("connection closed during the handshake")
            incoming.write(b)
    if outgoing.pending:
        s.sendall(outgoing.read())  # the client's Finished
    return (obj, incoming) if want_bio else obj


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("tap_tls_test: needs root (TAP devices)", file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=2)
