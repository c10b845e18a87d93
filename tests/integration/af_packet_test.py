"""A second PMD: linetls on net_af_packet over a veth pair whose peer lives in a network
namespace made for this test. The namespace's kernel pings the engine and talks to its
echo service. Shows the port layer is not TAP-specific, and that a user's own EAL
arguments (before "--") are used as given."""
import os
import re
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from engine import binary_from_env, wait_for  # noqa: E402

NS = "ltafp"
VETH = "ltafp0"      # engine side, in the root namespace
PEER = "ltafp1"      # kernel side, in NS
IP = "10.99.6.2"
PEER_IP = "10.99.6.1"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


class AfPacketTest(unittest.TestCase):
    def setUp(self):
        self.cleanup_net()
        sh("ip", "netns", "add", NS)
        sh("ip", "link", "add", VETH, "type", "veth", "peer", "name", PEER)
        sh("ip", "link", "set", PEER, "netns", NS)
        sh("ip", "link", "set", VETH, "up")
        sh("ip", "-n", NS, "addr", "add", PEER_IP + "/24", "dev", PEER)
        sh("ip", "-n", NS, "link", "set", PEER, "up")
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        # veth hands frames over with the TCP checksum left for "hardware" to fill in
        # (CHECKSUM_PARTIAL); af_packet then delivers them unfinished. Real NICs and TAP
        # never do: make the kernel finish its checksums, as any capture-based setup must.
        sh("ip", "netns", "exec", NS, "ethtool", "-K", PEER, "tx", "off")
        self.addCleanup(self.cleanup_net)

    @staticmethod
    def cleanup_net():
        sh("ip", "netns", "del", NS, check=False)
        sh("ip", "link", "del", VETH, check=False)

    def test_ping_and_echo_over_af_packet(self):
        prefix = f"linetls-{os.getpid()}-afp"
        cmd = [binary_from_env(), "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
               f"--file-prefix={prefix}", "--log-level=error", "--",
               "--port", f"net_af_packet0,iface={VETH}", "--ip", IP + "/24",
               "--serve", "7=echo", "--log-level", "1"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        line = p.stdout.readline()
        self.assertIn("ready", line, p.stderr.read() if p.poll() is not None else line)
        self.assertIn("driver=net_af_packet", line)
        mac = re.search(r"mac=([0-9a-f:]{17})", line).group(1)

        r = sh("ip", "netns", "exec", NS, "ping", "-c", "3", "-i", "0.2", "-W", "2", IP,
               check=False)
        self.assertIn("3 received", r.stdout, r.stdout + r.stderr)
        neigh = sh("ip", "-n", NS, "neigh", "show", IP).stdout.lower()
        self.assertIn(mac, neigh)

        payload = os.urandom(256 * 1024)
        client = ("import socket,sys\n"
                  f"s=socket.create_connection(('{IP}',7),timeout=20)\n"
                  "d=sys.stdin.buffer.read(); s.sendall(d); s.shutdown(socket.SHUT_WR)\n"
                  "out=b''\n"
                  "while True:\n b=s.recv(65536)\n if not b: break\n out+=b\n"
                  "sys.stdout.buffer.write(out)\n")
        r = subprocess.run(["ip", "netns", "exec", NS, "/usr/bin/python3", "-c", client],
                           input=payload, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, payload)

        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 0, err)
        self.assertRegex(out, r"counter worker=0 net\.icmp_echo_replied [3-9]")
        self.assertTrue(wait_for(lambda: not os.path.exists(f"/var/run/dpdk/{prefix}"), 5))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("af_packet_test: needs root (netns, veth)", file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=2)
