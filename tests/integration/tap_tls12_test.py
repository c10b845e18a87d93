"""TAP mode, TLS 1.2, version negotiation and mutual TLS: real clients (curl, openssl
s_client, gnutls-cli, Python's ssl) against the engine's tls:http and tls:echo services.

- TLS 1.2 on the main engine (lttls12), which holds an ECDSA P-256 and an RSA-2048 leaf
  (both signed by a test server CA made here with the openssl CLI):
  curl --tlsv1.2 --tls-max 1.2 (X-TLS-Version: 1.2); s_client -tls1_2 with each of the
  six AEAD suites (ECDHE-{ECDSA,RSA}-{AES128-GCM-SHA256,AES256-GCM-SHA384,CHACHA20-POLY1305})
  and each of X25519, P-256 and P-384 (ECDSA with P-384 alone on an engine with a P-384
  leaf: RFC 8422 §5.3 ties the leaf's curve to supported_groups); resumption with
  -sess_out/-sess_in by ticket and by session ID (-no_ticket); gnutls-cli with only TLS 1.2
  allowed; a 16 MiB /bytes download
  whose SHA-256 matches the pattern; 1,000 Python ssl echoes (maximum_version TLSv1_2)
  ended by close_notify both ways;
- version negotiation: TLS 1.0 and 1.1 refused with protocol_version; -fallback_scsv with
  TLS 1.2 refused with inappropriate_fallback; a 1.2-only client gets the RFC 8446 §4.1.3
  downgrade sentinel in ServerHello.random; --tls-min 1.3 refuses a 1.2-only client with
  protocol_version; --tls-max 1.2 serves a 1.3-capable client with TLS 1.2 and without the
  sentinel (a 1.3 client would abort on it);
- mutual TLS (--client-ca, a client CA made here): with --client-auth required, in TLS 1.2
  and 1.3, curl with an RSA and an ECDSA client certificate gets 200 with X-Client-Subject
  (RFC 2253) and X-Client-SHA256 matching the openssl CLI; no certificate is refused
  (1.3: certificate_required, 1.2: handshake_failure), an expired one with
  certificate_expired and one from an unknown CA with unknown_ca, from curl and s_client;
  with --client-auth optional, no certificate gets 200 without X-Client-Subject;
- at stop: exit code 0, and the tls.* counters (handshakes, tls12, suites, groups,
  resumptions, mtls.*, alert_sent.<name>) match what the clients did.



The whole test took 4.7 s with the gcc build and 5.0 s with build-san when written.

Everything stays on the TAP links (10.99.32.0/24 on lttls12; the engines with other
settings one after another on lttls13, 10.99.33.0/24).
"""
import collections
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from engine import Engine, binary_from_env  # noqa: E402

TAP = "lttls12"
IP = "10.99.32.2"
HOST_IP = "10.99.32.1"
TAP2 = "lttls13"  # the engines with other settings, one at a time
IP2 = "10.99.33.2"
HOST_IP2 = "10.99.33.1"
HTTP_PORT = 443
ECHO_PORT = 7443
MiB = 1 << 20
DEFAULT_PAGE = b"linetls: hello from a userspace TCP stack\n"
SUITES12 = {  # s_client name -> the engine's counter
    "ECDHE-ECDSA-AES128-GCM-SHA256": "tls12_ecdhe_ecdsa_aes_128_gcm_sha256",
    "ECDHE-RSA-AES128-GCM-SHA256": "tls12_ecdhe_rsa_aes_128_gcm_sha256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "tls12_ecdhe_ecdsa_aes_256_gcm_sha384",
    "ECDHE-RSA-AES256-GCM-SHA384": "tls12_ecdhe_rsa_aes_256_gcm_sha384",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "tls12_ecdhe_ecdsa_chacha20_poly1305_sha256",
    "ECDHE-RSA-CHACHA20-POLY1305": "tls12_ecdhe_rsa_chacha20_poly1305_sha256",
}
# s_client -groups name -> (what s_client prints after "Server Temp Key: ", counter)
GROUPS = {"X25519": ("X25519", "x25519"), "P-256": ("ECDH, prime256v1", "secp256r1"),
          "P-384": ("ECDH, secp384r1", "secp384r1")}
DOWNGRADE_TLS12 = b"DOWNGRD\x01"  # RFC 8446 §4.1.3: last 8 bytes of ServerHello.random
DOWNLOAD = 16 * MiB
MESSAGES = 1000
# openssl's text for the alerts it receives ("... alert <text>" / "alert number N")
ALERT_TEXT = {"protocol_version": ("protocol version", 70),
              "inappropriate_fallback": ("inappropriate fallback", 86),
              "handshake_failure": ("handshake failure", 40),
              "certificate_required": ("certificate required", 116),
              "certificate_expired": ("certificate expired", 45),
              "unknown_ca": ("unknown ca", 48)}


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, **kw)


def body_bytes(n):
    return bytes(ord("a") + i % 26 for i in range(n))


def body_sha256(n):
    """SHA-256 of the first n bytes of the /bytes/N pattern ('a' + i % 26)."""
    block = body_bytes(26 * 40960)
    h = hashlib.sha256()
    while n > 0:
        take = min(n, len(block))
        h.update(block[:take])
        n -= take
    return h.hexdigest()


def make_certs(d):
    """In d: a server CA with an ECDSA P-256 leaf (a.test), an RSA-2048 leaf (b.test) and
    an ECDSA P-384 leaf (d.test), all naming the engines' IPs; a client CA with an RSA
    client (crsa), an ECDSA client (cec) and an expired client (cexp, valid in 2020 only,
    signed with `openssl ca`); and a client (cunk) from a CA the engine does not know.
    Returns the directory."""
    def ossl(*args):
        r = run(["openssl", *args], cwd=d)
        assert r.returncode == 0, (args, r.stderr.decode())

    def ca(name, cn):
        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", name + ".key", "-out", name + ".pem", "-subj", f"/CN={cn}",
             "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign")

    def leaf(name, newkey, subj, ext, ca_name):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        ossl("req", *newkey, "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
             "-subj", subj)
        ossl("x509", "-req", "-in", name + ".csr", "-CA", ca_name + ".pem", "-CAkey",
             ca_name + ".key", "-CAcreateserial", "-out", name + ".pem", "-days", "2",
             "-extfile", name + ".ext")

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    rsa = ["-newkey", "rsa:2048"]
    client_ext = ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                  "extendedKeyUsage=clientAuth\n")
    ca("ca", "linetls test server CA")
    ec384 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]
    for name, newkey in (("a", ec), ("b", rsa), ("d", ec384)):
        leaf(name, newkey, f"/CN={name}.test",
             f"subjectAltName=DNS:{name}.test,IP:{IP},IP:{IP2}\nbasicConstraints=CA:FALSE\n"
             "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n", "ca")
    ca("clientca", "linetls test client CA")
    leaf("crsa", rsa, "/O=linetls test/CN=client rsa", client_ext, "clientca")
    leaf("cec", ec, "/O=linetls test/CN=client ecdsa", client_ext, "clientca")
    ca("unkca", "linetls unknown CA")
    leaf("cunk", ec, "/O=linetls test/CN=client unknown", client_ext, "unkca")
    # Expired: `openssl ca` takes explicit validity dates (x509 -days cannot go back).
    os.makedirs(os.path.join(d, "caroot", "newcerts"))
    open(os.path.join(d, "caroot", "index.txt"), "w").close()
    with open(os.path.join(d, "caroot", "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca=c\n[c]\ndir=caroot\ndatabase=$dir/index.txt\n"
                "new_certs_dir=$dir/newcerts\nserial=$dir/serial\ndefault_md=sha256\n"
                "policy=p\nunique_subject=no\n[p]\ncommonName=supplied\n"
                "organizationName=optional\n")
    with open(os.path.join(d, "cexp.ext"), "w") as f:
        f.write(client_ext)
    ossl("req", *ec, "-nodes", "-keyout", "cexp.key", "-out", "cexp.csr",
         "-subj", "/O=linetls test/CN=client expired")
    ossl("ca", "-batch", "-config", "ca.cnf", "-cert", "clientca.pem", "-keyfile",
         "clientca.key", "-in", "cexp.csr", "-out", "cexp.pem", "-notext",
         "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
         "-extfile", "cexp.ext")
    r = run(["openssl", "x509", "-in", "cexp.pem", "-noout", "-checkend", "0"], cwd=d)
    assert r.returncode != 0, "cexp.pem should be expired"
    return d


def cert_subject(pem):
    r = run(["openssl", "x509", "-in", pem, "-noout", "-subject", "-nameopt", "RFC2253"])
    return r.stdout.decode().strip().removeprefix("subject=")


def cert_sha256(pem):
    r = run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint", "-sha256"])
    return r.stdout.decode().strip().split("=", 1)[1].replace(":", "").lower()


def headers(raw):
    """{lower-case name: value} of an HTTP response head (bytes)."""
    out = {}
    for line in raw.decode(errors="replace").split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def assert_alert(tc, err, name):
    text, number = ALERT_TEXT[name]
    tc.assertRegex(err, rf"alert {text}|alert number {number}\b", err)


class Expect:
    """What the clients did to one engine, counted as they succeed."""

    def __init__(self):
        self.full = 0
        self.resumed = 0
        self.tls12 = 0  # of full + resumed
        self.refused = 0  # handshakes that never completed (alert sent)
        self.aborted = 0  # connections the client gave up (alert received)
        self.alerts = collections.Counter()  # alert_sent.<name>

    def ok(self, tls12=True, resumed=False):
        if resumed:
            self.resumed += 1
        else:
            self.full += 1
        self.tls12 += 1 if tls12 else 0

    def refuse(self, alert):
        self.refused += 1
        self.alerts[alert] += 1


def check_counters(tc, c, expect):
    tls = {k[4:]: v for k, v in c.items() if k.startswith("tls.")}
    tc.assertTrue(tls, f"no tls.* counters: {c}")
    print(f"\nclients: {expect.full} full + {expect.resumed} resumed ({expect.tls12} TLS 1.2), "
          f"{expect.refused} refused {dict(expect.alerts)}; engine: " +
          " ".join(f"{k}={v}" for k, v in sorted(tls.items()) if v), file=sys.stderr)
    handshakes = expect.full + expect.resumed
    tc.assertEqual(tls.get("handshakes", 0), handshakes, tls)
    tc.assertEqual(tls.get("handshakes_resumed", 0), expect.resumed, tls)
    tc.assertEqual(tls.get("tls12", 0), expect.tls12, tls)
    tc.assertEqual(tls.get("tls13", 0), handshakes - expect.tls12, tls)
    tc.assertEqual(tls.get("handshake_failures", 0), expect.refused, tls)
    tc.assertEqual(tls.get("connections", 0), handshakes + expect.refused + expect.aborted, tls)
    sent = {k[len("alert_sent."):]: v for k, v in tls.items() if k.startswith("alert_sent.")
            and k != "alert_sent.close_notify"}
    tc.assertEqual(sent, dict(expect.alerts), tls)
    return tls


class TapTls12Test(unittest.TestCase):
    main = Expect()  # the main engine
    required_counters = ({}, -1)  # test_4a's engine: (tls.* counters, refused handshakes)

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="linetls-tls12-")
        make_certs(cls.dir)
        cls.ca = cls.path("ca.pem")
        cls.engine = Engine(binary_from_env(), TAP, IP + "/24", HOST_IP + "/24",
                            ["--serve", f"{HTTP_PORT}=tls:http",
                             "--serve", f"{ECHO_PORT}=tls:echo"] + cls.cert_args())
        cls.engine.start()
        # One TLS 1.2 handshake first, so an engine that does not answer fails every case
        # at once instead of each running into its own client timeout.
        try:
            raw = socket.create_connection((IP, ECHO_PORT), timeout=20)
            with tls12_context(cls.ca).wrap_socket(raw, server_hostname="a.test") as s:
                s.sendall(b"probe")
                got = b""
                while len(got) < 5:
                    b = s.recv(5 - len(got))
                    assert b, "echo closed"
                    got += b
                assert got == b"probe", got
        except Exception as e:
            cls.engine.kill()
            raise AssertionError(f"no TLS 1.2 echo from the engine: {e!r}")
        cls.main.ok()

    @classmethod
    def tearDownClass(cls):
        cls.engine.kill()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    @classmethod
    def cert_args(cls):
        # a (ECDSA) first, b (RSA) second: ECDHE-ECDSA and ECDHE-RSA suites both work.
        return ["--cert", cls.path("a.pem"), "--key", cls.path("a.key"),
                "--cert", cls.path("b.pem"), "--key", cls.path("b.key")]

    def s_client(self, *args, ip=IP, port=HTTP_PORT, request=True, servername="a.test"):
        """One s_client connection; with request, a GET that closes. Returns (out, err)."""
        cmd = ["openssl", "s_client", "-connect", f"{ip}:{port}", "-CAfile", self.ca,
               "-ign_eof"]
        if servername:
            cmd += ["-servername", servername]
        cmd += list(args)
        data = (b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
                if request else b"")
        r = run(cmd, input=data, timeout=30)
        return r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def curl(self, *args, ip=IP, versions=("--tlsv1.2", "--tls-max", "1.2"), timeout=60):
        return run(["curl", "-sS", *versions, "--cacert", self.ca, "--max-time", str(timeout),
                    "--resolve", f"a.test:{HTTP_PORT}:{ip}", *args], timeout=timeout + 10)

    def curl_get(self, *args, **kw):
        """GET / with the response head in a file. Returns (curl result, headers dict)."""
        head = self.path(f"head-{random.getrandbits(32):08x}")
        r = self.curl("-D", head, "-o", "-", *args, f"https://a.test:{HTTP_PORT}/", **kw)
        h = {}
        if os.path.exists(head):
            with open(head, "rb") as f:
                raw = f.read()
            os.unlink(head)
            if raw:
                h = headers(raw)
                h[":status"] = raw.split(b"\r\n", 1)[0].decode(errors="replace")
        return r, h

    # ---- TLS 1.2 on the main engine

    def test_1a_curl_tls12(self):
        r, h = self.curl_get()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.main.ok()
        self.assertEqual(r.stdout, DEFAULT_PAGE)
        self.assertIn(" 200", h[":status"])
        self.assertEqual(h.get("x-tls-version"), "1.2", h)
        self.assertEqual(h.get("x-tls-cipher"), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", h)
        self.assertNotIn("x-client-subject", h)

    def test_1b_suites_and_groups(self):
        for suite in SUITES12:
            for group, (printed, _) in GROUPS.items():
                if "ECDSA" in suite and group == "P-384":
                    continue  # test_1h: a P-256 leaf cannot go with P-384 alone
                with self.subTest(suite=suite, group=group):
                    # In TLS 1.2 supported_groups also names the curves the client takes
                    # in the server's ECDSA certificate (RFC 8422 §5.1, §5.3): P-256 for
                    # a.test, offered after X25519 (which the engine prefers).
                    groups = group if "RSA" in suite or group == "P-256" else group + ":P-256"
                    out, err = self.s_client("-tls1_2", "-cipher", suite, "-groups", groups)
                    self.assertIn(f"New, TLSv1.2, Cipher is {suite}", out, err)
                    self.main.ok()
                    self.assertIn(f"Server Temp Key: {printed}", out)
                    self.assertIn("Verification: OK", out)
                    self.assertIn("HTTP/1.1 200 OK", out)
                    self.assertIn("X-TLS-Version: 1.2", out)
                    subject = "a.test" if "ECDSA" in suite else "b.test"
                    self.assertIn(f"subject=CN = {subject}", out)
                    self.assertIn("Extended master secret: yes", out)

    def test_1g_ecdsa_certificate_curve(self):
        # RFC 8422 §5.3: "If the client has used a Supported Elliptic Curves Extension, the
        # public key in the server's certificate MUST respect the client's choice of
        # elliptic curves." A client that takes only X25519 and P-384 gets the RSA leaf
        # when it offers RSA suites too, and handshake_failure when it offers only ECDSA
        # ones (s_client would abort with "wrong curve" otherwise).
        failures = []
        out, err = self.s_client("-tls1_2", "-groups", "X25519:P-384")
        if "New, TLSv1.2" in out:
            self.main.ok()
            if "Cipher is ECDHE-RSA-" not in out:
                failures.append(f"both offered: not an RSA suite: {out}")
        else:
            self.main.aborted += 1
            failures.append(f"both offered: aborted: {err}")
        out, err = self.s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256",
                                 "-groups", "X25519:P-384", request=False)
        if re.search(r"alert handshake failure|alert number 40\b", err):
            self.main.refuse("handshake_failure")
        else:
            if "New, TLSv1.2" in out:
                self.main.ok()
            else:
                self.main.aborted += 1
            failures.append(f"ECDSA only: no handshake_failure alert: {err}")
        self.assertEqual(failures, [])

    def test_1h_ecdsa_suites_with_p384(self):
        # The ECDSA suites with P-384 only: an engine whose ECDSA leaf is on P-384 (d.test),
        # since s_client takes no P-256 leaf without P-256 in supported_groups, and with
        # P-256 offered the engine prefers it.
        expect = Expect()
        e = Engine(binary_from_env(), TAP2, IP2 + "/24", HOST_IP2 + "/24",
                   ["--serve", f"{HTTP_PORT}=tls:http", "--cert", self.path("d.pem"),
                    "--key", self.path("d.key")])
        e.start()
        try:
            for suite in SUITES12:
                if "ECDSA" not in suite:
                    continue
                with self.subTest(suite=suite):
                    out, err = self.s_client("-tls1_2", "-cipher", suite, "-groups", "P-384",
                                             ip=IP2, servername="d.test")
                    self.assertIn(f"New, TLSv1.2, Cipher is {suite}", out, err)
                    expect.ok()
                    self.assertIn("Server Temp Key: ECDH, secp384r1", out)
                    self.assertIn("Verification: OK", out)
                    self.assertIn("subject=CN = d.test", out)
                    self.assertIn("HTTP/1.1 200 OK", out)
        finally:
            tls = self.stop(e, expect)
        self.assertEqual(tls.get("group.secp384r1", 0), 3, tls)
        for suite, name in SUITES12.items():
            self.assertEqual(tls.get("suite." + name, 0), 1 if "ECDSA" in suite else 0, tls)

    def test_1c_resumption(self):
        for how, extra in (("ticket", []), ("session id", ["-no_ticket"])):
            with self.subTest(how=how):
                sess = self.path(f"sess-{len(extra)}.pem")
                out, err = self.s_client("-tls1_2", *extra, "-sess_out", sess)
                self.assertIn("New, TLSv1.2", out, err)
                self.main.ok()
                if extra:
                    self.assertNotIn("TLS session ticket:", out)
                else:
                    self.assertIn("TLS session ticket lifetime hint", out)
                out, err = self.s_client("-tls1_2", *extra, "-sess_in", sess)
                self.assertIn("Reused, TLSv1.2", out, err)
                self.main.ok(resumed=True)
                self.assertIn("HTTP/1.1 200 OK", out)

    def test_1d_gnutls_cli(self):
        r = run(["gnutls-cli", "--x509cafile", self.ca, "--port", str(HTTP_PORT),
                 "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2", "--sni-hostname", "a.test",
                 "--verify-hostname", "a.test", IP],
                input=b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
                timeout=30)
        out = r.stdout.decode(errors="replace")
        self.assertIn("- Description: (TLS1.2-X.509)", out, r.stderr)
        self.main.ok()
        self.assertIn("HTTP/1.1 200 OK", out)
        self.assertIn("X-TLS-Version: 1.2", out)

    def test_1e_download(self):
        p = subprocess.Popen(["curl", "-sS", "--tlsv1.2", "--tls-max", "1.2", "--cacert",
                              self.ca, "--max-time", "120", "--resolve",
                              f"a.test:{HTTP_PORT}:{IP}", "-o", "-",
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
        self.main.ok()
        self.assertEqual(n, DOWNLOAD)
        self.assertEqual(h.hexdigest(), body_sha256(DOWNLOAD))

    def test_1f_python_echo(self):
        rng = random.Random(12)
        raw = socket.create_connection((IP, ECHO_PORT), timeout=60)
        s = tls12_context(self.ca).wrap_socket(raw, server_hostname="a.test")
        self.main.ok()
        self.assertEqual(s.version(), "TLSv1.2")
        for i in range(MESSAGES):
            msg = rng.randbytes(rng.randint(1, 20000))
            s.sendall(msg)
            got = bytearray()
            while len(got) < len(msg):
                b = s.recv(len(msg) - len(got))
                self.assertTrue(b, f"echo closed at message {i}")
                got += b
            self.assertEqual(bytes(got), msg, f"message {i}")
        # close_notify both ways
        plain = s.unwrap()
        self.assertEqual(plain.recv(1), b"")
        plain.close()

    # ---- version negotiation on the main engine

    def test_2a_old_versions_refused(self):
        for v in ("-tls1", "-tls1_1"):
            with self.subTest(version=v):
                out, err = self.s_client(v, "-cipher", "DEFAULT@SECLEVEL=0", request=False)
                self.assertNotIn("New, TLSv1", out)
                assert_alert(self, err, "protocol_version")
                self.main.refuse("protocol_version")

    def test_2b_fallback_scsv(self):
        out, err = self.s_client("-tls1_2", "-fallback_scsv", request=False)
        self.assertNotIn("New, TLSv1", out)
        assert_alert(self, err, "inappropriate_fallback")
        self.main.refuse("inappropriate_fallback")

    def test_2c_downgrade_sentinel(self):
        # A 1.3-capable server that picks 1.2 marks ServerHello.random (RFC 8446 §4.1.3).
        with socket.create_connection((IP, ECHO_PORT), timeout=30) as s:
            obj, first = handshake_raw(s, tls12_context(self.ca))
            self.main.ok()
            self.assertEqual(obj.version(), "TLSv1.2")
        self.assertEqual(server_hello_random(first)[-8:], DOWNGRADE_TLS12, first[:64].hex())

    # ---- engines with other settings, one at a time on lttls13

    def other_engine(self, *extra):
        e = Engine(binary_from_env(), TAP2, IP2 + "/24", HOST_IP2 + "/24",
                   ["--serve", f"{HTTP_PORT}=tls:http"] + self.cert_args() + list(extra))
        e.start()
        return e

    def stop(self, e, expect):
        try:
            rc, c = e.stop(signal.SIGINT)
        finally:
            e.kill()
        self.assertEqual(rc, 0, e.stderr)
        return check_counters(self, c, expect)

    def test_3a_tls_min_13(self):
        expect = Expect()
        e = self.other_engine("--tls-min", "1.3")
        try:
            out, err = self.s_client("-tls1_2", ip=IP2, request=False)
            self.assertNotIn("New, TLSv1.2", out)
            assert_alert(self, err, "protocol_version")
            expect.refuse("protocol_version")
            r = self.curl("-o", "-", f"https://a.test:{HTTP_PORT}/", ip=IP2)
            self.assertNotEqual(r.returncode, 0, r.stdout)
            expect.refuse("protocol_version")
            r, h = self.curl_get(ip=IP2, versions=("--tlsv1.2",))
            self.assertEqual(r.returncode, 0, r.stderr)
            expect.ok(tls12=False)
            self.assertEqual(h.get("x-tls-version"), "1.3", h)
        finally:
            tls = self.stop(e, expect)
        self.assertEqual(tls.get("version_refused", 0), 2, tls)

    def test_3b_tls_max_12(self):
        expect = Expect()
        e = self.other_engine("--tls-max", "1.2")
        try:
            # A 1.3-capable s_client and curl: 1.2, and no downgrade sentinel (a TLS 1.3
            # client must abort with illegal_parameter on one).
            out, err = self.s_client(ip=IP2)
            self.assertIn("New, TLSv1.2", out, err)
            expect.ok()
            self.assertIn("X-TLS-Version: 1.2", out)
            r, h = self.curl_get(ip=IP2, versions=("--tlsv1.2",))
            self.assertEqual(r.returncode, 0, r.stderr)
            expect.ok()
            self.assertEqual(h.get("x-tls-version"), "1.2", h)
            ctx = ssl.create_default_context(cafile=self.ca)
            with socket.create_connection((IP2, HTTP_PORT), timeout=30) as s:
                obj, first = handshake_raw(s, ctx)
                expect.ok()
                self.assertEqual(obj.version(), "TLSv1.2")
            self.assertNotEqual(server_hello_random(first)[-8:], DOWNGRADE_TLS12)
            # A 1.3-only client: protocol_version.
            out, err = self.s_client("-tls1_3", ip=IP2, request=False)
            self.assertNotIn("New, TLSv1", out)
            assert_alert(self, err, "protocol_version")
            expect.refuse("protocol_version")
        finally:
            self.stop(e, expect)

    def mtls_refused(self, expect, version, cert, alert):
        """A client certificate (name or None) refused with alert, from curl and
        s_client. TLS 1.3 clients finish before the server has checked their certificate,
        so they may print the handshake as done; only the alert matters."""
        cert_args = ["--cert", self.path(cert + ".pem"), "--key", self.path(cert + ".key")] \
            if cert else []
        versions = ("--tlsv1.2", "--tls-max", "1.2") if version == "1.2" else ("--tlsv1.3",)
        r, h = self.curl_get(*cert_args, ip=IP2, versions=versions)
        self.assertNotEqual(r.returncode, 0, (h, r.stdout))
        self.assertNotIn(":status", h)
        # curl names some alerts only by its own code (certificate_expired: "(60) SSL
        # certificate verification failed"); the engine's alert_sent counters decide.
        expect.refuse(alert)
        s_args = ["-cert", self.path(cert + ".pem"), "-key", self.path(cert + ".key")] \
            if cert else []
        out, err = self.s_client("-tls" + version.replace(".", "_"), *s_args, ip=IP2)
        self.assertNotIn("HTTP/1.1", out)
        assert_alert(self, err, alert)
        expect.refuse(alert)

    def test_4a_mtls_required(self):
        expect = Expect()
        e = self.other_engine("--client-ca", self.path("clientca.pem"),
                              "--client-auth", "required")
        verified = 0
        try:
            for version in ("1.2", "1.3"):
                versions = (("--tlsv1.2", "--tls-max", "1.2") if version == "1.2"
                            else ("--tlsv1.3",))
                for cert in ("crsa", "cec"):
                    with self.subTest(version=version, cert=cert):
                        pem = self.path(cert + ".pem")
                        r, h = self.curl_get("--cert", pem, "--key", self.path(cert + ".key"),
                                             ip=IP2, versions=versions)
                        self.assertEqual(r.returncode, 0, r.stderr)
                        expect.ok(tls12=version == "1.2")
                        verified += 1
                        self.assertIn(" 200", h[":status"])
                        self.assertEqual(h.get("x-tls-version"), version, h)
                        self.assertEqual(h.get("x-client-subject"), cert_subject(pem), h)
                        self.assertEqual(h.get("x-client-sha256", "").replace(":", "").lower(),
                                         cert_sha256(pem), h)
                for cert, alert in ((None, "certificate_required" if version == "1.3"
                                     else "handshake_failure"),
                                    ("cexp", "certificate_expired"),
                                    ("cunk", "unknown_ca")):
                    with self.subTest(version=version, cert=cert):
                        self.mtls_refused(expect, version, cert, alert)
        finally:
            tls = self.stop(e, expect)
        self.assertEqual(tls.get("mtls.handshakes", 0), verified, tls)
        self.assertEqual(tls.get("mtls.client_cert_verified", 0), verified, tls)
        # Each certificate's second handshake (1.3 after 1.2) is answered by the worker's
        # verified-chain cache; refused chains (expired, unknown CA) are never cached.
        self.assertEqual(tls.get("mtls.chain_cache_hits", 0), verified // 2, tls)
        self.assertEqual(tls.get("mtls.client_cert_missing", 0), 0, tls)
        TapTls12Test.required_counters = (tls, expect.refused)

    def test_4c_mtls_rejected_counter(self):
        # tls.mtls.client_cert_rejected counts every handshake refused over the client's
        # certificate, the TLS 1.2 "no certificate" refusals (handshake_failure) as well as
        # the TLS 1.3 ones (certificate_required).
        tls, refused = self.required_counters
        self.assertEqual(tls.get("mtls.client_cert_rejected", 0), refused, tls)

    def test_4b_mtls_optional(self):
        expect = Expect()
        e = self.other_engine("--client-ca", self.path("clientca.pem"),
                              "--client-auth", "optional")
        try:
            for version, versions in (("1.2", ("--tlsv1.2", "--tls-max", "1.2")),
                                      ("1.3", ("--tlsv1.3",))):
                with self.subTest(version=version):
                    r, h = self.curl_get(ip=IP2, versions=versions)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    expect.ok(tls12=version == "1.2")
                    self.assertIn(" 200", h[":status"])
                    self.assertEqual(h.get("x-tls-version"), version, h)
                    self.assertNotIn("x-client-subject", h)
                    self.assertNotIn("x-client-sha256", h)
                    pem = self.path("cec.pem")
                    r, h = self.curl_get("--cert", pem, "--key", self.path("cec.key"),
                                         ip=IP2, versions=versions)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    expect.ok(tls12=version == "1.2")
                    self.assertEqual(h.get("x-client-subject"), cert_subject(pem), h)
        finally:
            tls = self.stop(e, expect)
        self.assertEqual(tls.get("mtls.handshakes", 0), 4, tls)
        self.assertEqual(tls.get("mtls.client_cert_missing", 0), 2, tls)
        self.assertEqual(tls.get("mtls.client_cert_verified", 0), 2, tls)
        self.assertEqual(tls.get("mtls.chain_cache_hits", 0), 1, tls)  # cec again, in 1.3

    # ---- counters of the main engine

    def test_9_counters_at_exit(self):
        # Runs last (alphabetical): stop the engine and compare with what the clients did.
        rc, c = self.engine.stop(signal.SIGINT)
        self.assertEqual(rc, 0, self.engine.stderr)
        tls = check_counters(self, c, self.main)
        self.assertEqual(tls.get("version_refused", 0), 2, tls)
        self.assertEqual(tls.get("fallback_refused", 0), 1, tls)
        # The s_client matrix is the only user of most suites and of P-384.
        for suite, name in SUITES12.items():
            n = tls.get("suite." + name, 0)
            if suite == "ECDHE-ECDSA-AES128-GCM-SHA256":
                self.assertGreaterEqual(n, 2, (suite, tls))
            elif suite == "ECDHE-RSA-AES128-GCM-SHA256":  # the matrix, plus test_1g's
                self.assertEqual(n, 4, (suite, tls))
            else:  # the matrix: 3 groups each, 2 for ECDSA (P-384 in test_1h)
                self.assertEqual(n, 2 if "ECDSA" in suite else 3, (suite, tls))
        self.assertEqual(sum(tls.get("suite." + n, 0) for n in SUITES12.values()),
                         self.main.tls12, tls)
        self.assertGreaterEqual(tls.get("group.secp384r1", 0), 3, tls)
        self.assertEqual(sum(tls.get("group." + g[1], 0) for g in GROUPS.values()),
                         self.main.full + self.main.resumed, tls)
        self.assertGreaterEqual(tls.get("close_notify_received", 0), 1, tls)
        self.assertGreaterEqual(tls.get("bytes_sealed", 0), DOWNLOAD, tls)
        self.assertGreater(tls.get("records_opened", 0), MESSAGES, tls)
        self.assertEqual(tls.get("mtls.handshakes", 0), 0, tls)


def tls12_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def server_hello_random(first):
    """ServerHello.random from the server's first bytes (a handshake record that starts
    with the ServerHello: header 5, type 1, length 3, version 2, then random 32)."""
    assert first[:1] == b"\x16" and first[5:6] == b"\x02", first[:16].hex()
    return first[11:43]


def handshake_raw(s, ctx):
    """Runs a client handshake over socket s through memory BIOs. Returns the SSLObject
    and the first bytes the server sent (its ServerHello first)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="a.test")
    first = b""
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
            if len(first) < 64:
                first += b
            incoming.write(b)
    if outgoing.pending:
        s.sendall(outgoing.read())  # the client's Finished
    return obj, first


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("tap_tls12_test: needs root (TAP devices)", file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=2)
