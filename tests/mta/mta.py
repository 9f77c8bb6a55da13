"""mta - helpers shared by the MTA end-to-end test and bench/postfix-e2e: a
counting sink (Postfix's smtp-sink -c, or smtpstorm-sink, which prints the
same counter), the throwaway Postfix instance of scripts/postfix-instance,
and the processes that belong to it.

Imported with tests/tools and tests/mta on sys.path."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import harness

INSTANCE = os.path.join(harness.SOURCE, "scripts", "postfix-instance")
STATE = "/run/smtpstorm-postfix-instance"   # the script's shared state, while instances run
DEFAULT_MAIN_CF = "/etc/postfix/main.cf"


class CountingSink:
    """A sink started with -c (running counter on stdout, "... mesg=N\\r");
    count() is the number of messages it has taken so far."""

    COUNTER = re.compile(rb"mesg=(\d+)")

    def __init__(self, procs, port, lmtp=False, program=None, env=None, backlog=256):
        if program is None:
            argv0, env = harness.postfix_tool("smtp-sink")
        else:
            argv0, env = program, env or dict(os.environ)
        argv = [argv0]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += ["-c"] + (["-L"] if lmtp else []) + [f"127.0.0.1:{port}", str(backlog)]
        self.port = port
        self.argv = argv
        self.proc = procs.start(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._count = 0
        self._lock = threading.Lock()
        self.errors = b""          # the end of its stderr, for messages
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()
        deadline = time.monotonic() + 10
        while not self._listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"{' '.join(argv)} exited {self.proc.returncode}: {self.errors!r}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{' '.join(argv)} not listening after 10s")
            time.sleep(0.02)

    def _listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _read_errors(self):
        fd = self.proc.stderr.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            self.errors = (self.errors + chunk)[-4096:]

    def _read(self):
        tail = b""
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            tail = (tail + chunk)[-256:]
            found = self.COUNTER.findall(tail)
            if found:
                with self._lock:
                    self._count = max(self._count, int(found[-1]))

    def count(self):
        with self._lock:
            return self._count


def default_main_cf():
    """The default main.cf's bytes, or None when there is none."""
    try:
        with open(DEFAULT_MAIN_CF, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def start_time(pid):
    """Field 22 of /proc/PID/stat, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return None
        return fields[19]
    except (OSError, IndexError):
        return None


def instance_processes(directory):
    """{pid: starttime} of the instance in DIR: its master (by pid file), the
    master's descendants, and anything whose cwd is its queue directory."""
    queue = os.path.realpath(os.path.join(directory, "queue"))
    found = set()
    try:
        with open(os.path.join(queue, "pid", "master.pid")) as f:
            found.add(int(f.read().strip()))
    except (OSError, ValueError):
        pass
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[pid] = int(f.read().rsplit(")", 1)[1].split()[1])
            if os.readlink(f"/proc/{pid}/cwd") == queue:
                found.add(pid)
        except (OSError, ValueError, IndexError):
            continue
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return {pid: st for pid in found if (st := start_time(pid)) is not None}


def still_alive(processes):
    """Those of {pid: starttime} that are still the same live process."""
    return {pid: st for pid, st in processes.items() if start_time(pid) == st}


class Instance:
    """scripts/postfix-instance start/stop around a fresh directory under /tmp."""

    def __init__(self, smtpd_port, relays=(), lmtps=(), extra=(), timeout=60):
        self.dir = tempfile.mkdtemp(prefix="pfi.", dir="/tmp")
        self.port = smtpd_port
        argv = [INSTANCE, "start", self.dir, "--smtpd-port", str(smtpd_port)]
        for r in relays:
            argv += ["--relay", r]
        for r in lmtps:
            argv += ["--lmtp", r]
        for e in extra:
            argv += ["--postconf", e]
        self.start_argv = argv
        self.timeout = timeout
        self.seen = {}
        self.stopped = False

    def start(self):
        r = harness.run(self.start_argv, timeout=self.timeout + 240)
        if r.returncode != 0:
            self.stop(check=False)
            raise AssertionError(f"postfix-instance start failed ({r.returncode}):\n"
                                 f"{r.stdout.decode()}{r.stderr.decode()}")
        self.seen = instance_processes(self.dir)
        harness.check(self.seen, f"no process of the instance in {self.dir} after start")
        return self

    def queue_listing(self):
        r = harness.run(["postqueue", "-c", os.path.join(self.dir, "conf"), "-p"], timeout=30)
        return r.stdout.decode() + r.stderr.decode()

    def queue_empty(self):
        return "Mail queue is empty" in self.queue_listing()

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.dir, "log", "postfix.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, check=True):
        """Stop and remove; with check, assert that no process of it is left
        and its directory is gone."""
        if self.stopped:
            return
        if os.path.isdir(self.dir):
            self.seen.update(instance_processes(self.dir))
        r = harness.run([INSTANCE, "stop", self.dir], timeout=120)
        self.stopped = True
        if not check:
            return
        harness.check(r.returncode == 0, f"postfix-instance stop failed ({r.returncode}): "
                      f"{r.stdout.decode()}{r.stderr.decode()}")
        left = still_alive(self.seen)
        harness.check(not left, f"processes of the instance remain after stop: {sorted(left)}")
        harness.check(not os.path.exists(self.dir), f"{self.dir} still exists after stop")
        conf = os.path.join(self.dir, "conf").encode()
        harness.check(conf not in (default_main_cf() or b""),
                      f"{DEFAULT_MAIN_CF} still names {conf.decode()} after stop")

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *rest):
        self.stop(check=exc_type is None)
        return False


def wait_delivered(sinks, expected, instance, timeout):
    """Wait (bounded) until the sinks together have EXPECTED messages and the
    instance's queue is empty; return seconds waited."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while sum(s.count() for s in sinks) < expected:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"sinks have {[s.count() for s in sinks]} of {expected} after {timeout}s;\n"
                f"queue:\n{instance.queue_listing()[-2000:]}\nlog:\n{instance.log_tail()}")
        time.sleep(0.02)
    delivered = time.monotonic() - t0
    while not instance.queue_empty():
        if time.monotonic() > deadline:
            raise AssertionError(f"queue not empty after {timeout}s:\n{instance.queue_listing()[-2000:]}")
        time.sleep(0.1)
    return delivered


def run_tests(tests, programs, only=()):
    """The suite's main: skip (harness.SKIP) without root or a program of
    PROGRAMS; run TESTS (those named in ONLY, when given) each with a
    temporary directory, report every one, and fail when one did or when
    the default main.cf was left changed. Returns the exit status."""
    if os.geteuid() != 0:
        print("skip: needs root (Postfix's master runs as root)", file=sys.stderr)
        return harness.SKIP
    for prog in programs:
        if not os.access(prog, os.X_OK):
            print(f"skip: {prog} not built", file=sys.stderr)
            return harness.SKIP
    before = default_main_cf()
    alone_before = not os.path.exists(STATE)
    tests = [t for t in tests if not only or t.__name__ in only]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in tests:
            try:
                t(tmp)
                print(f"ok {t.__name__}")
            except Exception as e:  # report every test, then fail
                failures.append(f"FAIL {t.__name__}: {e}")
                print(failures[-1])
    if alone_before and not os.path.exists(STATE) and default_main_cf() != before:
        failures.append("FAIL the default main.cf changed")
    # again at the end, where a log cut to its last lines still shows them
    for f in failures:
        print(f if len(f) < 4000 else f[:4000] + " ...")
    print(f"{len(tests) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0
