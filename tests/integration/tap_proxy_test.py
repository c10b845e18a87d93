"""TAP mode, the proxy app with real programs: curl and Python's ssl -> linetls -> nginx
(Debian's, on a config written here) and small Python backends, all on the kernel side
of the TAP.

Engine 1 (ltpx0, 10.99.40.0/24):
  443  = tls:proxy -> nginx :18080   downloads (TLS 1.3 and 1.2, SHA-256 checked), 200
                                      concurrent clients, a client that never reads
  80   = proxy     -> nginx :18080   plain TCP pass-through
  8443 = tls:proxy -> Python :18081  uploads answered with their SHA-256; a backend that
                                      resets mid-answer; a client that resets mid-upload
  9443 = tls:proxy -> :18089         nothing listens there: the backend is down at start
Engine 2 (ltpx1, 10.99.41.0/24), --proxy-protocol v2 --idle-timeout-ms 2000, optional
client certificates, ALPN x-test,http/1.1:
  443  = tls:proxy -> nginx :18082 proxy_protocol   the client address nginx logs
  8443 = tls:proxy -> Python :18083  reports the PROXY v2 header it got; the test builds
                                      the expected bytes itself and compares every byte
  9443 = tls:proxy -> Python :18084  accepts and never reads: bounded, then idle timeout
and a client that stops reading a large download: bounded, then idle timeout.

At stop both engines' proxy.* counters are checked against what the clients did.

Sizes: 64 MiB down, 32 MiB up by default (a few seconds); LT_PROXY_BIG=1 runs the issue's
1 GiB download and 256 MiB upload.
"""
import concurrent.futures
import hashlib
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from backends import (HttpBackend, Nginx, PP2_SIGNATURE, RawBackend,  # noqa: E402
                      never_read, report_proxy_header)
from engine import Engine, binary_from_env, wait_for  # noqa: E402

MiB = 1 << 20
BIG = os.environ.get("LT_PROXY_BIG") == "1"
DOWNLOAD = 1024 * MiB if BIG else 64 * MiB
UPLOAD = 256 * MiB if BIG else 32 * MiB

TAP1, IP1, HOST1 = "ltpx0", "10.99.40.2", "10.99.40.1"
TAP2, IP2, HOST2 = "ltpx1", "10.99.41.2", "10.99.41.1"
NGINX_PORT, PY_PORT, DOWN_PORT = 18080, 18081, 18089
NGINX_PP_PORT, PP_REPORT_PORT, NEVER_READ_PORT = 18082, 18083, 18084


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, **kw)


def write_random(path, n):
    """n pseudo-random bytes (AES-CTR keystream) into path; returns their SHA-256."""
    h = hashlib.sha256()
    key = hashlib.sha256(path.encode()).digest()[:16]
    ctr = 0
    with open(path, "wb") as f:
        # A fast deterministic stream: SHA-256 of counters is slow in Python, so expand
        # a 1 MiB block with a per-block counter prefix.
        block = b"".join(hashlib.sha256(key + i.to_bytes(8, "big")).digest()
                         for i in range(MiB // 32))
        left = n
        while left > 0:
            chunk = ctr.to_bytes(8, "big") + block[8:]
            chunk = chunk[:min(left, MiB)]
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
            ctr += 1
    return h.hexdigest()


def client_ctx(alpn=None, cert=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if cert:
        ctx.load_cert_chain(cert + ".pem", cert + ".key")
    return ctx


def https_get(ip, port, path, timeout=20):
    """One GET over TLS with Connection: close; returns (status line, body)."""
    with socket.create_connection((ip, port), timeout=timeout) as raw:
        with client_ctx().wrap_socket(raw) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


def tlv(t, v):
    return bytes([t]) + struct.pack(">H", len(v)) + v


def expected_pp2(src, dst, alpn, sni, version, cipher, key_alg, sig_alg, cn=None):
    """The PROXY v2 header linetls must send (HAProxy's TLV order), built from the spec."""
    sub = tlv(0x21, version)
    if cn is not None:
        sub += tlv(0x22, cn)
    sub += tlv(0x25, key_alg) + tlv(0x24, sig_alg) + tlv(0x23, cipher)
    client = 0x01 | (0x06 if cn is not None else 0)
    verify = 0 if cn is not None else 1
    tlvs = b""
    if alpn:
        tlvs += tlv(0x01, alpn)
    if sni:
        tlvs += tlv(0x02, sni)
    tlvs += tlv(0x20, bytes([client]) + struct.pack(">I", verify) + sub)
    body = (socket.inet_aton(src[0]) + socket.inet_aton(dst[0]) +
            struct.pack(">HH", src[1], dst[1]) + tlvs)
    return PP2_SIGNATURE + b"\x21\x11" + struct.pack(">H", len(body)) + body


def make_client_cert(d):
    def ossl(*args):
        r = run(["openssl", *args], cwd=d)
        assert r.returncode == 0, r.stderr.decode()

    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=proxy test CA", "-days", "2",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=clientAuth\n")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "client.key", "-out", "client.csr", "-subj", "/O=linetls/CN=proxy-client")
    ossl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "client.pem", "-days", "2", "-extfile", "client.ext")
    return os.path.join(d, "ca"), os.path.join(d, "client")


class TapProxyTest(unittest.TestCase):
    # What the clients did to each engine, compared with its counters at the end.
    clients1 = 0
    clients2 = 0

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lt-proxy-")
        cls.www = os.path.join(cls.tmp, "www")
        os.makedirs(os.path.join(cls.www, "upload"))
        cls.big_sha = write_random(os.path.join(cls.www, "big.bin"), DOWNLOAD)
        cls.small = b"small file through the proxy\n" * 100
        with open(os.path.join(cls.www, "small.bin"), "wb") as f:
            f.write(cls.small)
        cls.ca, cls.client_cert = make_client_cert(cls.tmp)
        binary = binary_from_env()
        cls.e1 = Engine(binary, TAP1, IP1 + "/24", HOST1 + "/24", extra=[
            "--serve", f"443=tls:proxy:{HOST1}:{NGINX_PORT}",
            "--serve", f"80=proxy:{HOST1}:{NGINX_PORT}",
            "--serve", f"8443=tls:proxy:{HOST1}:{PY_PORT}",
            "--serve", f"9443=tls:proxy:{HOST1}:{DOWN_PORT}"])
        cls.e2 = Engine(binary, TAP2, IP2 + "/24", HOST2 + "/24", extra=[
            "--serve", f"443=tls:proxy:{HOST2}:{NGINX_PP_PORT}",
            "--serve", f"8443=tls:proxy:{HOST2}:{PP_REPORT_PORT}",
            "--serve", f"9443=tls:proxy:{HOST2}:{NEVER_READ_PORT}",
            "--proxy-protocol", "v2", "--idle-timeout-ms", "2000",
            "--client-ca", cls.ca + ".pem", "--client-auth", "optional",
            "--alpn", "x-test,http/1.1"])
        # The engines first: the backends bind to the TAPs' host addresses.
        cls.e1.start()
        cls.e2.start()
        cls.nginx = Nginx(cls.tmp, cls.www, [(f"{HOST1}:{NGINX_PORT}", ""),
                                             (f"{HOST2}:{NGINX_PP_PORT}", "proxy_protocol")])
        cls.nginx.start()
        cls.py = HttpBackend(HOST1, PY_PORT)
        cls.py.start()
        cls.reporter = RawBackend(HOST2, PP_REPORT_PORT, report_proxy_header)
        cls.reporter.start()
        cls.sink = RawBackend(HOST2, NEVER_READ_PORT, never_read)
        cls.sink.start()

    @classmethod
    def tearDownClass(cls):
        for e in (cls.e1, cls.e2):
            e.kill()
        for b in (cls.py, cls.reporter, cls.sink):
            b.stop()
        cls.nginx.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def curl(self, *args):
        r = run(["curl", "-sS", "-k", *args])
        return r

    # ---- Engine 1: bytes through the proxy.

    def test_1a_tls13_download(self):
        r = run(f"curl -sSk --tlsv1.3 https://{IP1}/big.bin | sha256sum", shell=True)
        self.assertEqual(r.stdout.decode().split()[0], self.big_sha)
        TapProxyTest.clients1 += 1

    def test_1b_tls12_download(self):
        r = run(f"curl -sSk --tlsv1.2 --tls-max 1.2 https://{IP1}/big.bin | sha256sum",
                shell=True)
        self.assertEqual(r.stdout.decode().split()[0], self.big_sha)
        TapProxyTest.clients1 += 1

    def test_1c_plain_pass_through(self):
        r = run(f"curl -sS http://{IP1}/big.bin | sha256sum", shell=True)
        self.assertEqual(r.stdout.decode().split()[0], self.big_sha)
        TapProxyTest.clients1 += 1

    def test_1d_upload(self):
        path = os.path.join(self.tmp, "upload.bin")
        sha = write_random(path, UPLOAD)
        r = self.curl("-T", path, f"https://{IP1}:8443/sha256")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(), sha)
        os.unlink(path)
        TapProxyTest.clients1 += 1

    def test_1e_two_hundred_concurrent_clients(self):
        with concurrent.futures.ThreadPoolExecutor(200) as pool:
            results = list(pool.map(lambda _: https_get(IP1, 443, "/small.bin"), range(200)))
        for status, body in results:
            self.assertEqual(status, b"HTTP/1.1 200 OK")
            self.assertEqual(body, self.small)
        TapProxyTest.clients1 += 200

    # ---- Engine 1: faults.

    def test_2a_backend_down_at_start(self):
        # The backend refuses: the client is closed cleanly (close_notify, then FIN), and the
        # next client does not even try it (down for --backend-down-ms).
        for _ in range(2):
            with socket.create_connection((IP1, 9443), timeout=10) as raw:
                with client_ctx().wrap_socket(raw) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    self.assertEqual(s.recv(100), b"")  # a clean close_notify, no reset
        TapProxyTest.clients1 += 2

    def test_2b_backend_resets_mid_download(self):
        r = self.curl("-o", os.path.join(self.tmp, "cut.bin"), "-w", "%{size_download}",
                      f"https://{IP1}:8443/reset-after/1048576")
        self.assertNotEqual(r.returncode, 0)  # curl sees the connection reset, not an end
        self.assertLessEqual(int(r.stdout.decode() or "0"), 1048576)
        self.assertIn("sent-reset", self.py.events)
        TapProxyTest.clients1 += 1

    def test_2c_client_resets_mid_upload(self):
        raw = socket.create_connection((IP1, 8443), timeout=10)
        s = client_ctx().wrap_socket(raw)
        s.sendall(b"PUT /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
        s.sendall(b"x" * MiB)
        time.sleep(0.3)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
        self.assertTrue(wait_for(lambda: "reset" in self.py.events, timeout=10),
                        f"backend events: {self.py.events}")
        TapProxyTest.clients1 += 1

    # ---- Engine 2: PROXY protocol v2.

    def test_3a_nginx_sees_the_client_address(self):
        r = self.curl("-o", "/dev/null", "-w", "%{local_ip} %{local_port}",
                      f"https://{IP2}/small.bin")
        self.assertEqual(r.returncode, 0, r.stderr)
        local_ip, local_port = r.stdout.decode().split()
        log = self.nginx.log(NGINX_PP_PORT)
        self.assertTrue(log, "nginx logged nothing")
        pp_addr, pp_port, remote_addr, *_ = log[-1].split()
        self.assertEqual((pp_addr, pp_port), (local_ip, local_port))
        self.assertEqual(remote_addr, IP2)  # the connection itself came from linetls
        TapProxyTest.clients2 += 1

    def report(self, alpn=None, sni=None, cert=None, tls12=False):
        ctx = client_ctx(alpn, cert)
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection((IP2, 8443), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni) as s:
                src = s.getsockname()
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                cipher = s.cipher()[0]
        TapProxyTest.clients2 += 1
        return src, cipher, json.loads(data)

    def test_3b_header_bytes_tls13(self):
        src, cipher, rep = self.report(alpn=["x-test"], sni="pp.test")
        self.assertTrue(rep["ok"], rep)
        want = expected_pp2(src, (IP2, 8443), b"x-test", b"pp.test", b"TLSv1.3",
                            cipher.encode(), b"EC256", b"ecdsa-with-SHA256")
        self.assertEqual(rep["raw"], want.hex())

    def test_3c_header_bytes_tls12_no_sni_no_alpn(self):
        src, cipher, rep = self.report(tls12=True)
        self.assertTrue(rep["ok"], rep)
        self.assertTrue(cipher.startswith("ECDHE-ECDSA-"), cipher)
        want = expected_pp2(src, (IP2, 8443), None, None, b"TLSv1.2", cipher.encode(),
                            b"EC256", b"ecdsa-with-SHA256")
        self.assertEqual(rep["raw"], want.hex())

    def test_3d_header_bytes_with_client_certificate(self):
        src, cipher, rep = self.report(alpn=["x-test"], sni="pp.test", cert=self.client_cert)
        self.assertTrue(rep["ok"], rep)
        want = expected_pp2(src, (IP2, 8443), b"x-test", b"pp.test", b"TLSv1.3",
                            cipher.encode(), b"EC256", b"ecdsa-with-SHA256",
                            cn=b"proxy-client")
        self.assertEqual(rep["raw"], want.hex())
        self.assertEqual(rep["parsed"]["ssl"]["verify"], 0)

    # ---- Engine 2: peers that stop, bounded and timed out.

    def test_4a_backend_never_reads(self):
        raw = socket.create_connection((IP2, 9443), timeout=15)
        s = client_ctx().wrap_socket(raw)
        sent = 0
        t0 = time.monotonic()
        with self.assertRaises(OSError):
            while time.monotonic() - t0 < 30:
                s.sendall(b"u" * 65536)
                sent += 65536
        # Far less than the client tried went anywhere; the idle timeout ended it.
        self.assertLess(sent, 64 * MiB)
        self.assertLess(time.monotonic() - t0, 20)
        s.close()
        TapProxyTest.clients2 += 1

    def test_4b_client_never_reads_a_large_download(self):
        raw = socket.create_connection((IP2, 443), timeout=15)
        s = client_ctx().wrap_socket(raw)
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(4)  # well past --idle-timeout-ms 2000 once every window is full
        got = 0
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        except OSError:
            pass
        self.assertLess(got, DOWNLOAD)
        s.close()
        TapProxyTest.clients2 += 1

    # ---- The command line.

    def test_5_bad_serve_specs(self):
        binary = binary_from_env()
        for spec, words in [("443=tls:proxy:", "HOST:PORT"),
                            ("443=tls:proxy:10.0.0.300:80", "host"),
                            ("443=proxy:10.0.0.1", "HOST:PORT"),
                            ("443=proxy:10.0.0.1:0", "port"),
                            ("443=proxy:10.0.0.1:80,", "backend"),
                            ("443=proxy:localhost:80", "host")]:
            r = run([binary, "--tap", "ltpxbad", "--serve", spec], timeout=10)
            self.assertEqual(r.returncode, 2, spec)
            err = r.stderr.decode()
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn(words, err, spec)

    # ---- At stop.

    def test_9_counters_at_exit(self):
        rc1, c1 = self.e1.stop()
        rc2, c2 = self.e2.stop()
        self.assertEqual((rc1, rc2), (0, 0))
        print(f"\nengine 1: " + " ".join(f"{k}={v}" for k, v in sorted(c1.items())
                                          if k.startswith("proxy.") and v))
        print(f"engine 2: " + " ".join(f"{k}={v}" for k, v in sorted(c2.items())
                                        if k.startswith("proxy.") and v))
        self.assertEqual(c1["proxy.clients"], TapProxyTest.clients1)
        self.assertEqual(c1["proxy.pairs_closed"], TapProxyTest.clients1)  # nothing left over
        self.assertEqual(c1["proxy.backend_failures"], 1)  # :18089 refused once ...
        self.assertGreaterEqual(c1["proxy.backend_skipped"], 1)  # ... then was skipped
        self.assertEqual(c1["proxy.no_backend"], 2)
        self.assertEqual(c1["proxy.backend_aborts"], 1)
        # test_2c's reset only (curl's RST after close_notify both ways is a clean end).
        self.assertEqual(c1["proxy.client_aborts"], 1)
        self.assertGreaterEqual(c1["proxy.bytes_down"], 3 * DOWNLOAD)
        self.assertGreaterEqual(c1["proxy.bytes_up"], UPLOAD)
        self.assertEqual(c1["proxy.idle_timeouts"], 0)
        self.assertEqual(c2["proxy.clients"], TapProxyTest.clients2)
        self.assertEqual(c2["proxy.pairs_closed"], TapProxyTest.clients2)
        self.assertEqual(c2["proxy.proxy_headers"], TapProxyTest.clients2)
        # The two stuck pairs end by an idle limit: the pair's own, or (same 2 s) the idle
        # timeout of one of its TCP connections, which then resets the other side.
        self.assertEqual(c2["proxy.idle_timeouts"] + c2["proxy.client_aborts"] +
                         c2["proxy.backend_aborts"], 2)
        self.assertGreaterEqual(c2["proxy.idle_timeouts"] + c2["tcp.idle_timeouts"], 2)
        self.assertEqual(c2["tls.mtls.client_cert_verified"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
