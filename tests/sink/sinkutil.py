"""sinkutil - helpers the smtpstorm-sink integration tests share: start the
sink (ours or Postfix's) on a free port, talk raw SMTP, read -c counters."""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SINK = harness.program("smtpstorm-sink")
USER = ["-u", "nobody"] if os.geteuid() == 0 else []


def start_sink(procs, args, port=None, postfix=False, stdout=None, cwd=None, addr=None, env=None):
    """Start our sink (or Postfix's smtp-sink) with args on 127.0.0.1:port,
    in env if given; wait until it listens. Returns (proc, port)."""
    port = port or harness.free_port()
    listen = addr or f"127.0.0.1:{port}"
    if postfix:
        argv0, default_env = harness.postfix_tool("smtp-sink")
    else:
        argv0, default_env = SINK, dict(os.environ)
    env = env if env is not None else default_env
    kw = {"env": env, "cwd": cwd}
    if stdout is not None:
        kw["stdout"] = stdout
    p = procs.start([argv0] + USER + list(args) + [listen, "100"], **kw)
    if listen.startswith("unix:"):
        harness.wait_for(lambda: os.path.exists(listen[5:]) or p.poll() is not None,
                         what="unix socket")
    elif "[::1]" in listen:
        wait_port6(port, p)
    else:
        harness.wait_port(port, proc=p)
    return p, port


def wait_port6(port, proc):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"sink exited: {proc.returncode}")
        try:
            with socket.create_connection(("::1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("[::1] not listening")


class Client:
    """A raw SMTP client: send bytes, read whole reply lines."""

    def __init__(self, port=None, family=socket.AF_INET, address=None, timeout=20):
        self.s = socket.socket(family, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(address or ("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(f"connection closed; unread {self.buf!r}")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def reply(self):
        """One whole (possibly multi-line) reply, lines joined by newlines."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def closed(self):
        """True when the server closes without sending more."""
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()


def counters(path):
    """The last -c line written to path: (sess, quit, mesg) or None."""
    try:
        with open(path, "rb") as f:
            data = f.read().decode()
    except FileNotFoundError:
        return None
    found = re.findall(r"sess=(\d+) quit=(\d+) mesg=(\d+)\r", data)
    return tuple(int(x) for x in found[-1]) if found else None
