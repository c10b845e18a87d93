"""TAP mode, conformance with real client stacks (issue 12), beside the unit tables:

- RFC 8446 Appendix D.4: a ClientHello with a legacy_session_id (what OpenSSL, and so
  Python's ssl and `openssl s_client`, send in TLS 1.3) gets exactly one plaintext
  change_cipher_spec record right after the ServerHello; the same ClientHello with the
  session id removed gets none.
- RFC 7627: a TLS 1.2 client without extended_master_secret (gnutls-cli with
  %NO_SESSION_HASH) completes against the default engine (--tls12-ems preferred) and is
  refused with handshake_failure by an engine with --tls12-ems required, which still serves
  a client that offers it.

Engines on ltcf0 (10.99.43.0/24) and ltcf1 (10.99.44.0/24).
"""
import os
import socket
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from engine import Engine, binary_from_env  # noqa: E402

IP1, HOST1 = "10.99.43.2", "10.99.43.1"
IP2, HOST2 = "10.99.44.2", "10.99.44.1"


def client_hello():
    """The ClientHello record Python's ssl (OpenSSL) sends for TLS 1.3."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def without_session_id(rec):
    """The same ClientHello with an empty legacy_session_id (lengths fixed up)."""
    sid_at = 5 + 4 + 2 + 32
    sid_len = rec[sid_at]
    body = rec[5 + 4:sid_at] + b"\x00" + rec[sid_at + 1 + sid_len:]
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return rec[:3] + len(hs).to_bytes(2, "big") + hs


def server_records(ip, hello):
    """Sends hello; returns the (type, length, first bytes) of the records the server sends
    before it waits for the client (its first flight)."""
    with socket.create_connection((ip, 443), timeout=5) as s:
        s.sendall(hello)
        s.settimeout(1.0)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    recs = []
    i = 0
    while i + 5 <= len(data):
        n = int.from_bytes(data[i + 3:i + 5], "big")
        recs.append((data[i], n, data[i + 5:i + 5 + min(n, 4)]))
        i += 5 + n
    return recs


class TapConformanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        b = binary_from_env()
        cls.e1 = Engine(b, "ltcf0", IP1 + "/24", HOST1 + "/24", extra=["--serve", "443=tls:http"])
        cls.e2 = Engine(b, "ltcf1", IP2 + "/24", HOST2 + "/24",
                        extra=["--serve", "443=tls:http", "--tls12-ems", "required"])
        cls.e1.start()
        cls.e2.start()

    @classmethod
    def tearDownClass(cls):
        cls.e1.kill()
        cls.e2.kill()

    def test_1_compat_change_cipher_spec(self):
        hello = client_hello()
        self.assertEqual(hello[5 + 4 + 2 + 32], 32, "OpenSSL sends a 32-byte session id")
        recs = server_records(IP1, hello)
        types = [t for t, _, _ in recs]
        self.assertEqual(types[0], 22)  # ServerHello
        self.assertEqual(recs[1], (20, 1, b"\x01"))  # change_cipher_spec right after it
        self.assertEqual(types.count(20), 1)
        self.assertTrue(all(t == 23 for t in types[2:]), types)  # then protected records
        recs = server_records(IP1, without_session_id(hello))
        types = [t for t, _, _ in recs]
        self.assertEqual(types[0], 22)
        self.assertNotIn(20, types)

    def gnutls(self, ip, ems):
        prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2" + ("" if ems else ":%NO_SESSION_HASH")
        return subprocess.run(["gnutls-cli", "--insecure", "--priority", prio, "--port", "443",
                               ip], input=b"", capture_output=True, timeout=20)

    def test_2_ems_preferred_accepts_a_client_without_it(self):
        r = self.gnutls(IP1, ems=False)
        self.assertIn(b"Handshake was completed", r.stdout, r.stderr)

    def test_3_ems_required_refuses_it_and_serves_others(self):
        r = self.gnutls(IP2, ems=False)
        self.assertNotIn(b"Handshake was completed", r.stdout)
        self.assertIn(b"Handshake failed", r.stdout + r.stderr)
        r = self.gnutls(IP2, ems=True)
        self.assertIn(b"Handshake was completed", r.stdout, r.stderr)

    def test_9_counters(self):
        _, c1 = self.e1.stop()
        _, c2 = self.e2.stop()
        self.assertEqual(c2.get("tls.alert_sent.handshake_failure", 0), 1)
        self.assertEqual(c1.get("tls.tls12", 0), 1)
        self.assertEqual(c2.get("tls.tls12", 0), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
