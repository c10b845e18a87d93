"""TAP mode, TCP: kernel clients against the engine's echo, discard and http services.

- 100 MiB through echo, SHA-256 compared both ways;
- 200 parallel kernel connections to discard and to http, all complete;
- curl /bytes/104857600 gets exactly 100 MiB of the documented pattern;
- a flood of 100,000 spoofed SYNs does not stop a concurrent transfer, and SYN cookies
  engage (counter).
Everything stays on the TAP link: spoofed sources are addresses of the TAP subnet.
"""
import concurrent.futures
import hashlib
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from engine import Engine, binary_from_env, wait_for  # noqa: E402

TAP = "lttcptest"
IP = "10.99.4.2"
HOST_IP = "10.99.4.1"
SERVICES = ["--serve", "7=echo", "--serve", "9=discard", "--serve", "8080=http"]
MiB = 1 << 20


def body_sha256(n):
    """SHA-256 of the first n bytes of the /bytes/N pattern ('a' + i % 26)."""
    block = bytes(ord("a") + i % 26 for i in range(26 * 40960))
    h = hashlib.sha256()
    while n > 0:
        take = min(n, len(block))
        h.update(block[:take])
        n -= take
    return h.hexdigest()


def echo_roundtrip(total, chunk=64 * 1024, seed=1, timeout=120):
    """Sends total random bytes to echo while reading back; returns (sent_sha, got_sha)."""
    rng = random.Random(seed)
    data = rng.randbytes(1 * MiB)
    sent = hashlib.sha256()
    got = hashlib.sha256()
    received = 0
    s = socket.create_connection((IP, 7), timeout=timeout)
    s.settimeout(timeout)

    def reader():
        nonlocal received
        while received < total:
            b = s.recv(1 << 20)
            if not b:
                break
            got.update(b)
            received += len(b)

    t = threading.Thread(target=reader)
    t.start()
    off = 0
    while off < total:
        n = min(chunk, total - off)
        piece = data[off % len(data):off % len(data) + n]
        if len(piece) < n:
            piece = (data * 2)[off % len(data):off % len(data) + n]
        s.sendall(piece)
        sent.update(piece)
        off += n
    t.join(timeout)
    s.shutdown(socket.SHUT_WR)
    rest = s.recv(1)
    s.close()
    return sent.hexdigest(), got.hexdigest(), received, rest


class TapTcpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.engine = Engine(binary_from_env(), TAP, IP + "/24", HOST_IP + "/24", SERVICES)
        cls.engine.start()

    @classmethod
    def tearDownClass(cls):
        cls.engine.kill()

    def test_1_echo_100mib_intact(self):
        sent, got, n, rest = echo_roundtrip(100 * MiB)
        self.assertEqual(n, 100 * MiB)
        self.assertEqual(sent, got)
        self.assertEqual(rest, b"", "echo must close after our FIN")

    def test_2_parallel_discard_and_http(self):
        def discard(i):
            with socket.create_connection((IP, 9), timeout=60) as s:
                s.sendall(bytes([i % 256]) * (64 * 1024))
                s.shutdown(socket.SHUT_WR)
                return s.recv(1) == b""

        def http(i):
            with socket.create_connection((IP, 8080), timeout=60) as s:
                s.sendall(f"GET /bytes/{1000 + i} HTTP/1.1\r\nHost: x\r\n"
                          "Connection: close\r\n\r\n".encode())
                buf = b""
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    buf += b
                head, _, body = buf.partition(b"\r\n\r\n")
                return head.startswith(b"HTTP/1.1 200") and len(body) == 1000 + i

        with concurrent.futures.ThreadPoolExecutor(max_workers=200) as ex:
            d = list(ex.map(discard, range(200)))
            h = list(ex.map(http, range(200)))
        self.assertEqual(sum(d), 200, "every discard connection completes")
        self.assertEqual(sum(h), 200, "every http connection gets its full body")

    def test_3_curl_100mib(self):
        r = subprocess.run(["curl", "-sS", "--max-time", "120", "-o", "-",
                            f"http://{IP}:8080/bytes/104857600"], capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), 104857600)
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), body_sha256(104857600))

    def test_4_syn_flood_does_not_stop_transfer(self):
        result = {}

        def transfer():
            result["echo"] = echo_roundtrip(16 * MiB, seed=2, timeout=180)

        t = threading.Thread(target=transfer)
        t.start()
        flood(100000)
        t.join(200)
        self.assertFalse(t.is_alive(), "transfer did not finish during the flood")
        sent, got, n, _ = result["echo"]
        self.assertEqual(n, 16 * MiB)
        self.assertEqual(sent, got)

    def test_9_counters_at_exit(self):
        # Runs last (alphabetical): stop the engine and read what it counted.
        rc, c = self.engine.stop(signal.SIGINT)
        self.assertEqual(rc, 0, self.engine.stderr)
        self.assertGreater(c.get("tcp.syn_cookies_sent", 0), 0, c)
        self.assertGreater(c.get("tcp.passive_opens", 0), 400, c)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def flood(count):
    """count spoofed SYNs to IP:7 from random TAP-subnet addresses, via a raw socket."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, TAP.encode())
    dst = socket.inet_aton(IP)
    rng = random.Random(7)
    for i in range(count):
        src = socket.inet_aton(f"10.99.4.{rng.randrange(3, 254)}")
        sport = rng.randrange(1024, 65535)
        seq = rng.getrandbits(32)
        opts = struct.pack("!BBH", 2, 4, 1460)
        tcp = struct.pack("!HHIIBBHHH", sport, 7, seq, 0, (6 << 4), 0x02, 65535, 0, 0) + opts
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0, 64, 6, 0,
                         src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        s.sendto(ip + tcp, (IP, 0))
    s.close()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("tap_tcp_test: needs root (TAP devices)", file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=2)
