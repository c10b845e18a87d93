"""Kernel-side backends for the proxy tests: nginx on a config written to a temporary
directory, and small Python servers with behaviours a test needs (an upload sink that
answers with the SHA-256 of what it got, a server that resets mid-answer, one that never
reads, one that reports the PROXY v2 header it was sent).

Everything binds to the host side of a test TAP interface: nothing leaves the machine.
"""
import hashlib
import http.server
import json
import os
import socket
import socketserver
import struct
import subprocess
import threading
import time

PP2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


class Nginx:
    """nginx 1.22 (Debian) in the foreground, one process, on a config in tmpdir.

    servers: list of (listen, extra) where listen is "IP:PORT" and extra is the rest of
    the listen directive ("", "proxy_protocol"). Each serves root as static files (and
    PUT into root/upload via WebDAV). The access log of each server is
    tmpdir/access-PORT.log in the format "$proxy_protocol_addr $proxy_protocol_port
    $remote_addr $request $status $body_bytes_sent"."""

    def __init__(self, tmpdir, root, servers):
        self.dir = tmpdir
        self.root = root
        self.servers = servers
        self.proc = None

    def conf(self):
        blocks = []
        for listen, extra in self.servers:
            port = listen.rsplit(":", 1)[1]
            blocks.append(f"""
    server {{
        listen {listen} {extra};
        root {self.root};
        access_log {self.dir}/access-{port}.log pp;
        location / {{ }}
        location /upload/ {{
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
            client_body_temp_path {self.dir}/body;
        }}
    }}""")
        return f"""
daemon off;
master_process off;
worker_processes 1;
user root;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format pp '$proxy_protocol_addr $proxy_protocol_port $remote_addr "$request" $status $body_bytes_sent';
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    sendfile on;
    keepalive_requests 100000;
    {''.join(blocks)}
}}
"""

    def start(self):
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(self.conf())
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Ready when every listener accepts.
        deadline = time.monotonic() + 10
        for listen, extra in self.servers:
            ip, port = listen.rsplit(":", 1)
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError("nginx exited: " + self.proc.stderr.read().decode())
                try:
                    socket.create_connection((ip, int(port)), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"nginx does not listen on {listen}")
                    time.sleep(0.05)

    def log(self, port):
        try:
            with open(os.path.join(self.dir, f"access-{port}.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _ThreadingServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


class HttpBackend:
    """A Python HTTP/1.1 server on ip:port:
      PUT /sha256            -> 200, body: the hex SHA-256 of the request body
      GET /reset-after/N     -> a 200 head announcing 2N bytes, N pattern bytes, then RST
    self.events records what it saw ("reset" when a client's upload was cut short)."""

    def __init__(self, ip, port):
        self.events = []
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_PUT(self):
                n = int(self.headers.get("Content-Length", "0"))
                h = hashlib.sha256()
                got = 0
                try:
                    while got < n:
                        chunk = self.rfile.read(min(1 << 20, n - got))
                        if not chunk:
                            break
                        h.update(chunk)
                        got += len(chunk)
                except (ConnectionResetError, BrokenPipeError):
                    backend.events.append("reset")
                    return
                if got < n:
                    backend.events.append("short")
                    return
                body = h.hexdigest().encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/reset-after/"):
                    n = int(self.path.rsplit("/", 1)[1])
                    self.send_response(200)
                    self.send_header("Content-Length", str(2 * n))
                    self.end_headers()
                    self.wfile.write(bytes(ord("a") + i % 26 for i in range(n)))
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    backend.events.append("sent-reset")
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = _ThreadingServer((ip, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RawBackend:
    """A raw TCP server on ip:port calling behaviour(conn, backend) per connection in its
    own thread. self.events collects what behaviours report."""

    def __init__(self, ip, port, behaviour):
        self.events = []
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(1024)
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            self.behaviour(c, self)
        except OSError as e:
            self.events.append(type(e).__name__)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def never_read(conn, backend):
    """Accepts and never reads: the proxy must bound what it holds, then time out."""
    backend.events.append("accepted")
    while not backend.stopping:
        time.sleep(0.1)


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def parse_pp2(header):
    """Parses a PROXY v2 header strictly (HAProxy doc/proxy-protocol.txt §2.2); returns a
    dict with the fields and every TLV (SSL sub-TLVs under 'ssl'), or raises ValueError."""
    if header[:12] != PP2_SIGNATURE:
        raise ValueError("bad signature")
    ver_cmd, fam, length = header[12], header[13], struct.unpack(">H", header[14:16])[0]
    if ver_cmd != 0x21 or fam != 0x11:
        raise ValueError(f"ver_cmd {ver_cmd:#x} fam {fam:#x}")
    if len(header) != 16 + length or length < 12:
        raise ValueError("length")
    src, dst, sport, dport = struct.unpack(">4s4sHH", header[16:28])
    out = {"src": (socket.inet_ntoa(src), sport), "dst": (socket.inet_ntoa(dst), dport),
           "tlvs": []}

    def tlvs(b):
        items = []
        i = 0
        while i < len(b):
            if i + 3 > len(b):
                raise ValueError("TLV header overruns")
            t, n = b[i], struct.unpack(">H", b[i + 1:i + 3])[0]
            if i + 3 + n > len(b):
                raise ValueError("TLV value overruns")
            items.append((t, b[i + 3:i + 3 + n]))
            i += 3 + n
        return items

    for t, v in tlvs(header[28:]):
        out["tlvs"].append((t, v))
        if t == 0x20:
            if len(v) < 5:
                raise ValueError("short SSL TLV")
            out["ssl"] = {"client": v[0], "verify": struct.unpack(">I", v[1:5])[0],
                          "sub": tlvs(v[5:])}
    return out


def report_proxy_header(conn, backend):
    """Reads a PROXY v2 header, then answers with a JSON report of it (raw hex and parsed
    fields) and closes."""
    fixed = read_exact(conn, 16)
    rest = read_exact(conn, struct.unpack(">H", fixed[14:16])[0])
    raw = fixed + rest
    try:
        parsed = parse_pp2(raw)
        parsed["tlvs"] = [(t, v.hex()) for t, v in parsed["tlvs"]]
        if "ssl" in parsed:
            parsed["ssl"]["sub"] = [(t, v.hex()) for t, v in parsed["ssl"]["sub"]]
        report = {"ok": True, "raw": raw.hex(), "parsed": parsed}
    except ValueError as e:
        report = {"ok": False, "raw": raw.hex(), "error": str(e)}
    conn.sendall(json.dumps(report).encode())
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)
    conn.close()
