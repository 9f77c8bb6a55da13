"""harness - what every integration test needs: the built programs, free
ports, processes started and always stopped by pid, waiting for readiness
without bare sleeps, and Postfix's unpacked tools.

Tests import it with sys.path set by meson (PYTHONPATH=tests/tools)."""

import atexit
import datetime
import glob
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zoneinfo

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


def _ephemeral_ports():
    """The kernel's range of local ports for outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


PORTS_DIR = os.path.join(tempfile.gettempdir(), "smtpstorm-test-ports")
_reserved = []


def _release_ports():
    for path in _reserved:
        try:
            os.unlink(path)
        except OSError:
            pass


atexit.register(_release_ports)


def _reserve(port):
    """Claim port for this process among concurrent tests (a file named
    after it holding our pid; a dead holder's claim is taken over)."""
    os.makedirs(PORTS_DIR, exist_ok=True)
    path = os.path.join(PORTS_DIR, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    os.kill(int(f.read().strip() or "0"), 0)
                return False                    # held by a live test
            except (OSError, ValueError):
                try:
                    os.unlink(path)             # its test is gone
                except OSError:
                    pass
                continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        _reserved.append(path)
        return True
    return False


def free_port():
    """A TCP port on 127.0.0.1 that nothing uses right now and no other
    test process was given, below the kernel's ephemeral range: a port the
    kernel hands out (bind to 0) can be taken by any process's outgoing
    connection before the test binds it (seen: "cannot bind ...: Address
    already in use" with load running)."""
    low, _ = _ephemeral_ports()
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if _reserve(port):
            return port
    with socket.socket() as s:                  # everything below taken: the kernel's pick
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SinkCount:
    """The last mesg=N a sink's -c display showed (smtp-sink's sess=N quit=N
    mesg=N, CR-separated), read from its stdout by a thread of its own."""

    def __init__(self, proc):
        self.messages = 0
        self.proc = proc
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        tail = b""
        while True:
            chunk = self.proc.stdout.read1(65536) if hasattr(self.proc.stdout, "read1") else self.proc.stdout.read(4096)
            if not chunk:
                return
            tail = (tail + chunk)[-256:]
            found = re.findall(rb"mesg=(\d+)", tail)
            if found:
                self.messages = int(found[-1])


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


def nofile_limits(soft, hard):
    """A preexec_fn that gives a child these RLIMIT_NOFILE soft and hard
    limits (lowering the hard limit needs no privilege)."""
    import resource
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def soft_nofile(pid):
    """The soft RLIMIT_NOFILE of a running process, from /proc/PID/limits."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError(f"no open files limit for pid {pid}")


def check(cond, message):
    """Assert with a message that says what was expected."""
    if not cond:
        raise AssertionError(message)


# The wall clocks the date-parity tests run our programs and Postfix's
# under: local time and zone (libfaketime reads the time as local time).
CLOCK_CASES = [
    ("2026-12-02 03:07:46", "UTC"),               # a day 1 to 9: space-padded
    ("2026-12-10 00:00:00", "America/New_York"),  # the 10th, -0500
    ("2026-12-31 23:59:59", "Asia/Kolkata"),      # the 31st, +0530
    ("2024-02-29 12:00:00", "Australia/Sydney"),  # 29 February, daylight saving: +1100
    ("2026-07-04 08:00:00", "America/New_York"),  # daylight saving: -0400
    ("2026-01-05 06:30:00", "America/St_Johns"),  # -0330
]


def fake_clock(env, when, tz, locale_dir=None, running=False):
    """A copy of env in which the wall clock stands still at when (local time
    in zone tz) through libfaketime, or with running, starts there now and
    runs, shifted alike in every process started with it; the monotonic
    clock stays real, so timeouts still run. With locale_dir (from
    make_locale), every locale variable names a German locale, which no
    output may follow."""
    if running:
        when = "%+ds" % round(local_epoch(when, tz) - time.time())
    env = faketime_env(env, when)
    env["TZ"] = tz
    if locale_dir:
        env.update(LOCPATH=locale_dir, LANG="de_DE.UTF-8", LC_ALL="de_DE.UTF-8")
        # glibc's locale loader keeps one allocation for good (tools/lsan.supp)
        supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
        env["LSAN_OPTIONS"] = ":".join(filter(None, [env.get("LSAN_OPTIONS"), f"suppressions={supp}"]))
    return env


def shifted_clock(env, seconds):
    """A copy of env in which the wall clock runs seconds ahead (behind, when
    negative) of this machine's, through libfaketime; monotonic stays real."""
    return faketime_env(env, "%+ds" % seconds)


def faketime_env(env, spec):
    """env with libfaketime preloaded for FAKETIME=spec (wall clock only)."""
    libs = glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
    check(libs, "libfaketime missing: scripts/install-deps installs Debian's faketime")
    env = dict(env, LD_PRELOAD=libs[0], FAKETIME=spec, FAKETIME_DONT_FAKE_MONOTONIC="1",
               FAKETIME_NO_CACHE="1")
    # the preload comes before a sanitized program's ASan runtime
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
    return env


def make_locale(tmp):
    """Compile the de_DE.UTF-8 locale into a folder of tmp (for LOCPATH) and
    return the folder."""
    folder = os.path.join(tmp, "locale")
    os.makedirs(folder, exist_ok=True)
    r = run(["localedef", "-i", "de_DE", "-f", "UTF-8", os.path.join(folder, "de_DE.UTF-8")], timeout=60)
    check(r.returncode == 0, f"localedef: {r.stderr!r}")
    return folder


def local_time(when, tz):
    """when ("2026-12-02 03:07:46"), local time in zone tz, as an aware datetime."""
    return datetime.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zoneinfo.ZoneInfo(tz))


def local_epoch(when, tz):
    """when, local time in zone tz, in seconds since the epoch."""
    return local_time(when, tz).timestamp()


def mail_date(when, tz):
    """The date line Postfix's mail_date() writes for local time when in zone
    tz, computed here without Postfix: "Wed,  2 Dec 2026 03:07:46 +0000 (UTC)"."""
    t = local_time(when, tz)
    return t.strftime("%a, ") + f"{t.day:2d}" + t.strftime(" %b %Y %H:%M:%S %z (%Z)")
