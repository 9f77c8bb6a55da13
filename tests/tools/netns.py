"""netns - network namespaces on one bridge for the multi-host tests
(suite 'netns'): one namespace per host, each with a veth on the bridge and
an address from 198.18.0.0/15 (reserved for benchmarking) only; links can be
cut and restored; everything made is always deleted. Names carry the test's
pid so that runs never collide. Root only: require() exits 77 otherwise."""

import os
import subprocess
import sys
import time

import harness

NET = "198.18.0"

PROBE = """
import socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect((sys.argv[1], 9))
except ConnectionRefusedError:
    sys.exit(0)
except OSError:
    sys.exit(1)
sys.exit(0)
"""


def insecure(program, sub=None):
    """["--insecure"] when the program (sub-command sub) offers it: the
    namespaces' control links are not loopback, and these tests run without
    CURVE keys."""
    r = subprocess.run([program, *([sub] if sub else []), "--help"], capture_output=True, timeout=10)
    return ["--insecure"] if b"--insecure" in r.stdout + r.stderr else []


def ip(*args, check_rc=True):
    r = subprocess.run(["ip", *args], capture_output=True, timeout=20)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.decode().strip()}")
    return r


class Topology:
    """hosts: {name: last octet}; host name gets NET.<last>/24 in its own
    namespace. Use as a context manager: built on entry, deleted on exit."""

    def __init__(self, hosts, tag="ss"):
        self.pid = os.getpid()
        self.tag = tag
        self.hosts = dict(hosts)
        self.bridge = f"{tag}b{self.pid}"

    def ns(self, name):
        return f"{self.tag}{self.pid}-{name}"

    def addr(self, name):
        return f"{NET}.{self.hosts[name]}"

    def _veth(self, name):
        last = self.hosts[name]
        return f"{self.tag}h{last}x{self.pid}", f"{self.tag}n{last}x{self.pid}"

    def prefix(self, name):
        """argv prefix that runs a program in host name's namespace (exec: same pid)."""
        return ["ip", "netns", "exec", self.ns(name)]

    def require(self):
        """Exit as skipped unless we may make namespaces."""
        if os.geteuid() != 0:
            print("skip: network namespaces need root", file=sys.stderr)
            sys.exit(harness.SKIP)
        try:
            ip("netns", "add", self.ns("probe"))
            ip("netns", "del", self.ns("probe"))
        except (RuntimeError, FileNotFoundError) as e:
            print(f"skip: cannot make network namespaces: {e}", file=sys.stderr)
            sys.exit(harness.SKIP)

    def build(self):
        ip("link", "add", self.bridge, "type", "bridge")
        ip("link", "set", self.bridge, "up")
        for name, last in self.hosts.items():
            outer, inner = self._veth(name)
            ip("netns", "add", self.ns(name))
            ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            ip("link", "set", inner, "netns", self.ns(name))
            ip("link", "set", outer, "master", self.bridge, "up")
            ip("-n", self.ns(name), "addr", "add", f"{NET}.{last}/24", "dev", inner)
            ip("-n", self.ns(name), "link", "set", inner, "up")
            ip("-n", self.ns(name), "link", "set", "lo", "up")

    def teardown(self):
        for name in self.hosts:
            ip("netns", "del", self.ns(name), check_rc=False)
            ip("link", "del", self._veth(name)[0], check_rc=False)
        ip("link", "del", self.bridge, check_rc=False)

    def add_address(self, name, addr):
        """Give host name's veth one more address (addr/24, from 198.18.0.0/15)."""
        check_net = addr.startswith(NET + ".")
        if not check_net:
            raise ValueError(f"{addr}: not in {NET}.0/24")
        ip("-n", self.ns(name), "addr", "add", f"{addr}/24", "dev", self._veth(name)[1])

    def cut(self, name):
        """Set host name's veth down on the bridge side: it is off the network."""
        ip("link", "set", self._veth(name)[0], "down")

    def restore(self, name):
        ip("link", "set", self._veth(name)[0], "up")

    def wait_reachable(self, src, dst, timeout=10.0):
        """From src, dst's address answers (a refused connection to port 9 is
        an answer): the bridge forwards."""
        addr = self.addr(dst)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = subprocess.run([*self.prefix(src), sys.executable, "-c", PROBE, addr],
                               capture_output=True, timeout=10)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"{addr} not reachable from {src}")

    def __enter__(self):
        try:
            self.build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False
