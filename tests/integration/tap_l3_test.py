"""TAP mode, L2/L3: the engine answers ARP and ping from the kernel, counts and survives
malformed frames, exits cleanly (TAP removed, counters printed), and a killed engine leaves
nothing that breaks the next start."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from engine import Engine, binary_from_env, link_exists, wait_for  # noqa: E402

TAP = "ltl3test"
IP = "10.99.3.2"
HOST_IP = "10.99.3.1"


def ping(count=3):
    r = subprocess.run(["ping", "-c", str(count), "-i", "0.2", "-W", "2", "-I", TAP, IP],
                       capture_output=True, text=True)
    m = re.search(r"(\d+) received", r.stdout)
    return (int(m.group(1)) if m else 0), r.stdout + r.stderr


def send_frames(frames):
    # Imported here: scapy is slow to import and only this test needs it.
    from scapy.all import sendp  # noqa: WPS433
    sendp(frames, iface=TAP, verbose=False)


class TapL3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = binary_from_env()

    def start(self):
        e = Engine(self.binary, TAP, IP + "/24", HOST_IP + "/24")
        e.start()
        self.addCleanup(e.kill)
        return e

    def test_ping_arp_malformed_frames_and_clean_exit(self):
        e = self.start()
        self.assertTrue(link_exists(TAP))
        got, out = ping(3)
        self.assertEqual(got, 3, out)

        # The kernel resolved the engine's address by ARP: the neighbour entry holds its MAC.
        neigh = subprocess.run(["ip", "neigh", "show", IP, "dev", TAP], capture_output=True,
                               text=True).stdout
        self.assertIn(e.mac, neigh.lower(), neigh)

        from scapy.all import ICMP, IP as IPv4, Ether, Raw, raw  # noqa: WPS433
        with open(f"/sys/class/net/{TAP}/address") as f:
            host_mac = f.read().strip()
        eth = Ether(src=host_mac, dst=e.mac)
        good = IPv4(src=HOST_IP, dst=IP) / ICMP(id=7, seq=1) / Raw(b"x" * 16)
        bad_csum = eth / IPv4(src=HOST_IP, dst=IP, chksum=0x1234) / ICMP() / Raw(b"y" * 8)
        # Wrong version: a valid IPv4 header with the version nibble set to 6.
        v6 = bytearray(raw(eth / good))
        v6[14] = (6 << 4) | (v6[14] & 0x0F)
        frag_mf = eth / IPv4(src=HOST_IP, dst=IP, flags="MF") / ICMP() / Raw(b"z" * 8)
        frag_off = eth / IPv4(src=HOST_IP, dst=IP, frag=10) / Raw(b"z" * 8)
        # Truncated: Ethernet + 10 bytes of an IPv4 header.
        trunc = raw(eth / good)[: 14 + 10]
        # IHL of 4 words (< 5): header checksum recomputed so only the IHL is wrong.
        ihl4 = eth / IPv4(src=HOST_IP, dst=IP, ihl=4) / Raw(b"w" * 20)
        bad_icmp = eth / IPv4(src=HOST_IP, dst=IP) / ICMP(chksum=0xBEEF) / Raw(b"q" * 8)
        # Ethernet header only, IPv4 ethertype. (A true runt, under 14 bytes, cannot be sent
        # from the kernel side: AF_PACKET pads it to a full header; unit tests cover runts.)
        eth_only = raw(Ether(src=host_mac, dst=e.mac, type=0x0800))
        n = 5
        batch = [bad_csum, Ether(bytes(v6)), frag_mf, frag_off, Ether(trunc), ihl4, bad_icmp,
                 Ether(eth_only)]
        for _ in range(n):
            send_frames(batch)

        # Still answering after the abuse.
        got, out = ping(3)
        self.assertEqual(got, 3, out)

        rc, c = e.stop(signal.SIGINT)
        self.assertEqual(rc, 0, e.stderr)
        self.assertEqual(c.get("net.drop_ip_checksum"), n, c)
        self.assertEqual(c.get("net.drop_ip_version"), n, c)
        self.assertEqual(c.get("net.drop_ip_fragment"), 2 * n, c)
        self.assertEqual(c.get("net.drop_ip_truncated"), 2 * n, c)
        self.assertEqual(c.get("net.drop_ip_header_len"), n, c)
        self.assertEqual(c.get("net.drop_icmp_malformed"), n, c)
        self.assertGreaterEqual(c.get("net.icmp_echo_replied", 0), 6, c)
        self.assertGreaterEqual(c.get("net.arp_request_answered", 0), 1, c)
        self.assertTrue(wait_for(lambda: not link_exists(TAP), 5), "TAP left behind after exit")

    def test_sigterm_exits_cleanly(self):
        e = self.start()
        rc, c = e.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, e.stderr)
        self.assertIn("net.rx_frames", c)
        self.assertTrue(wait_for(lambda: not link_exists(TAP), 5))

    def test_killed_engine_does_not_break_next_start(self):
        e = self.start()
        e.proc.send_signal(signal.SIGKILL)
        e.proc.wait()
        self.assertTrue(wait_for(lambda: not link_exists(TAP), 5), "TAP outlived a killed engine")
        # Started again straight away with the same TAP name and addresses.
        e2 = self.start()
        got, out = ping(2)
        self.assertEqual(got, 2, out)
        rc, _ = e2.stop()
        self.assertEqual(rc, 0, e2.stderr)
        # No runtime directory of a dead linetls process survives a start.
        left = [d for d in os.listdir("/var/run/dpdk") if d.startswith("linetls-")
                and not os.path.exists(f"/proc/{d[8:]}")] if os.path.isdir("/var/run/dpdk") else []
        self.assertEqual(left, [])

    def test_bad_flags_exit_with_one_line(self):
        for args in (["--tap"], ["--tap", TAP, "--ip", "300.1.1.1/24"], ["--bogus"], []):
            r = subprocess.run([self.binary] + args, capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("linetls: "), r.stderr)
        self.assertFalse(link_exists(TAP))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("tap_l3_test: needs root (TAP devices)", file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=2)
