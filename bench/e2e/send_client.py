"""Sends N bytes to HOST:PORT as fast as one kernel TCP socket can, then half-closes and
waits for the server's FIN; prints one JSON line: bytes, seconds, Gbit/s, client CPU s."""
import json
import os
import socket
import sys
import time


def main():
    host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    buf = memoryview(bytes(1 << 20))
    s = socket.create_connection((host, port), timeout=60)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    cpu0 = time.process_time()
    t0 = time.monotonic()
    left = total
    while left > 0:
        n = s.send(buf[: min(len(buf), left)])
        left -= n
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the server's FIN: everything was received
    t1 = time.monotonic()
    cpu = time.process_time() - cpu0
    s.close()
    print(json.dumps({"bytes": total, "seconds": round(t1 - t0, 4),
                      "gbps": round(total * 8 / (t1 - t0) / 1e9, 3),
                      "client_cpu_s": round(cpu, 4)}))


if __name__ == "__main__":
    main()
