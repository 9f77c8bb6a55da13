"""harness - what every integration test needs: the built programs, free
ports, processes started and always stopped by pid, waiting for readiness
without bare sleeps, and Postfix's unpacked tools.

Tests import it with sys.path set by meson (PYTHONPATH=tests/tools)."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("SMTPSTORM_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("SMTPSTORM_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
POSTFIX_ROOT = os.environ.get("POSTFIX_ROOT", os.path.join(SOURCE, ".cache", "postfix"))
SKIP = 77  # meson's exit code for a skipped test


def program(name):
    """Path of a built smtpstorm program: sink, agent or coordinator name."""
    folder = {"smtpstorm-sink": "sink", "smtpstorm-agent": "agent", "smtpstorm": "coordinator"}[name]
    return os.path.join(BUILD, folder, name)


def postfix_tool(name):
    """(argv0, env) to run Postfix's smtp-sink or smtp-source from the unpacked
    package; exits the test as skipped when it has not been fetched."""
    path = os.path.join(POSTFIX_ROOT, "usr", "sbin", name)
    if not os.access(path, os.X_OK):
        print(f"skip: {path} missing; run scripts/fetch-postfix", file=sys.stderr)
        sys.exit(SKIP)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(POSTFIX_ROOT, "usr", "lib", "postfix"))
    return path, env


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Procs:
    """Processes started by a test, stopped by pid when the block ends."""

    def __init__(self):
        self.procs = []

    def __enter__(self):
        return self

    def start(self, argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def __exit__(self, *exc):
        stop(self.procs)
        return False


def stop(procs, grace=5.0):
    """Stop processes by pid: SIGTERM, then SIGKILL after grace seconds."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    """Wait until host:port accepts a connection; fail if proc exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process exited with {proc.returncode}: {err!r}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"{host}:{port} not listening after {timeout}s")


def wait_for(predicate, timeout=10.0, what="condition"):
    """Poll predicate() until it is true or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def run(argv, timeout=120, **kw):
    """Run a command to completion and return the CompletedProcess."""
    kw.setdefault("capture_output", True)
    return subprocess.run(argv, timeout=timeout, **kw)


def run_campaign(argv, report, name, timeout=120):
    """Run one coordinator campaign (argv writes its JSON to report); print
    its output under name and return (CompletedProcess, report dict or None)."""
    done = run(argv, timeout=timeout)
    sys.stdout.write(f"--- {name}: exit {done.returncode}\n{done.stdout.decode()}{done.stderr.decode()}\n")
    data = None
    if os.path.exists(report):
        with open(report) as f:
            data = json.load(f)
    return done, data


def run_tests(tests, prefix):
    """Run each test function with one shared temporary folder; names given
    on the command line pick a subset. Prints "ok" when all pass."""
    only = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        for t in tests:
            if only and t.__name__ not in only:
                continue
            sys.stdout.write(f"=== {t.__name__}\n")
            sys.stdout.flush()
            t(tmp)
    print("ok")


def make_cert(tmp):
    """A self-signed certificate and key for localhost and 127.0.0.1 in tmp:
    (cert path, key path)."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
             "-out", cert, "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], timeout=60)
    check(r.returncode == 0, f"openssl: {r.stderr!r}")
    return cert, key


def check(cond, message):
    """Assert with a message that says what was expected."""
    if not cond:
        raise AssertionError(message)
