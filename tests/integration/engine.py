"""Starting and stopping a linetls engine in TAP mode for integration tests.

Each test uses its own TAP name and subnet so tests never collide with a `scripts/run.sh`
instance (10.99.0.0/24 on lt0). Everything stays on the TAP link: no traffic leaves the
machine.
"""
import os
import re
import select
import signal
import subprocess
import time


class Engine:
    def __init__(self, binary, tap, ip, host_ip, extra=(), args=None):
        """args: the whole command line after the binary, instead of the TAP flags and
        extra (a test that starts the engine from a config file)."""
        self.binary = binary
        self.args = args
        self.tap = tap
        self.ip = ip
        self.host_ip = host_ip
        self.extra = list(extra)
        self.proc = None
        self.mac = None
        self.stdout = ""
        self.stderr = ""

    def start(self, timeout=30):
        cmd = [self.binary, "--tap", self.tap, "--ip", self.ip, "--host-ip", self.host_ip,
               "--log-level", "1"] + self.extra
        if self.args is not None:
            cmd = [self.binary] + list(self.args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    break
                self.stdout += line
                if "ready" in line:
                    m = re.search(r"mac=([0-9a-f:]{17})", line)
                    assert m, f"ready line without a MAC: {line!r}"
                    self.mac = m.group(1)
                    return line
            if self.proc.poll() is not None:
                break
        err = self.proc.stderr.read() if self.proc.poll() is not None else ""
        self.kill()
        raise AssertionError(f"engine did not become ready: stdout={self.stdout!r} "
                             f"stderr={err!r}")

    def stop(self, sig=signal.SIGINT, timeout=15):
        """Stops the engine with sig; returns (exit code, counters dict)."""
        self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"engine did not exit within {timeout}s of {sig!r}")
        self.stdout += out
        self.stderr += err
        self.kill()  # closes the pipes
        return self.proc.returncode, parse_counters(self.stdout)

    def kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f and not f.closed:
                f.close()


def parse_counters(text):
    """Sums 'counter worker=N group.name value' lines over workers: {'net.x': total}."""
    counters = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "counter":
            name = parts[2]
            counters[name] = counters.get(name, 0) + int(parts[3])
        elif len(parts) == 4 and parts[0] == "counter" and parts[1] == "port":
            counters["port." + parts[2]] = int(parts[3])
    return counters


def link_exists(name):
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def wait_for(pred, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def binary_from_env():
    path = os.environ.get("LINETLS_BIN")
    assert path and os.access(path, os.X_OK), "set LINETLS_BIN to the linetls binary"
    return path
