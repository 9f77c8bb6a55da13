"""test_dns_netns - an agent daemon never waits for a name server (issue 20):
its target names are looked up with c-ares on its event loop, and the
coordinator's repeated workload finds the answer.

In a network namespace of its own (loopback only; its resolv.conf, through
/etc/netns, names Debian's dnsmasq on 127.0.0.1), a smtpstorm-sink listens
on 127.0.0.1 and `smtpstorm run --local 1 --heartbeat-timeout 2` aims at:

- fast.test (a dnsmasq host record): every message arrives, exit 0;
- slow.test, which dnsmasq forwards to a server written here
  (tests/tools/slowdns.py) that answers after 6 s: every message arrives,
  exit 0, and neither side ever misses a heartbeat (a lookup on the loop
  would have silenced the agent for 6 s, three heartbeat timeouts);
- silent.test, which that server never answers: the campaign ends when
  the coordinator's wait for the agents is over (exit 3, the agent did not
  confirm its part), the agent answered every heartbeat meanwhile and said
  why it could not start;
- nowhere.test (NXDOMAIN): refused at once with the reason;
- mx:mail.test, whose MX records name two hosts of preference 10 and a
  backup of 20: the sessions spread over the two preferred hosts' sinks,
  the backup gets nothing, and the mail reconciles; with --starttls,
  each handshake names its MX host (SNI, seen by Python's aiosmtpd);
- late.test, unanswered at first (dnsmasq forwards it to the silent
  server), then answered from dnsmasq's hosts file a few seconds into the
  campaign (a name server that recovers, as podman's aardvark-dns does
  after a reload): the agent's next try gets it and the campaign runs.

Root only (exit 77 otherwise, or when namespaces or dnsmasq are missing);
the namespace, its /etc/netns folder and every process are removed at the
end, by pid."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import harness
from clustertest import SinkCount

TOOLS = os.path.dirname(os.path.abspath(harness.__file__))
AGENT_TESTS = os.path.dirname(os.path.abspath(__file__))
COORD = harness.program("smtpstorm")
SINK = harness.program("smtpstorm-sink")
NS = f"ssdns{os.getpid()}"
ETC = os.path.join("/etc/netns", NS)
DELAY = 6
HEARTBEAT = 2
PORT = 2525             # the namespace is new: nothing else listens there
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
MX_HOSTS = {"mx1": "127.0.0.2", "mx2": "127.0.0.3", "backup": "127.0.0.4"}   # mail.test's, in the namespace
HOSTS = os.path.join(tempfile.gettempdir(), f"{NS}-hosts")     # dnsmasq's extra hosts file
MASQ = None                                 # the dnsmasq process


def in_ns(argv):
    return ["ip", "netns", "exec", NS] + argv


def setup():
    if os.geteuid() != 0:
        print("skip: needs root for network namespaces", file=sys.stderr)
        sys.exit(harness.SKIP)
    if not os.access(DNSMASQ, os.X_OK):
        print("skip: dnsmasq missing (scripts/install-deps installs dnsmasq-base)", file=sys.stderr)
        sys.exit(harness.SKIP)
    if subprocess.run(["ip", "netns", "add", NS], capture_output=True).returncode != 0:
        print("skip: cannot make a network namespace here", file=sys.stderr)
        sys.exit(harness.SKIP)
    subprocess.run(in_ns(["ip", "link", "set", "lo", "up"]), check=True, timeout=20)
    os.makedirs(ETC, exist_ok=True)
    with open(os.path.join(ETC, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\n")


def teardown():
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, timeout=20)
    shutil.rmtree(ETC, ignore_errors=True)
    if os.path.exists(HOSTS):
        os.unlink(HOSTS)


def campaign(tmp, name, target):
    """One --local campaign inside the namespace: (CompletedProcess, report, stderr)."""
    report = os.path.join(tmp, f"{name}.json")
    done, data = harness.run_campaign(in_ns([COORD, "run", "--local", "1", "-m", "50", "-s", "2", "--wait", "8",
                                             "--heartbeat-timeout", str(HEARTBEAT), "--json", report, target]),
                                      report, name, timeout=90)
    return done, data, done.stderr.decode(errors="replace")


def test_mx_target(tmp):
    """mx:mail.test:PORT: the most preferred MX hosts, one sink each."""
    report = os.path.join(tmp, "mx.json")
    with harness.Procs() as procs:
        counts = {}
        for host in MX_HOSTS:
            p = procs.start(in_ns([SINK, "-u", "nobody", "-c", f"{MX_HOSTS[host]}:{PORT}", "64"]))
            counts[host] = SinkCount(p)
        for host in MX_HOSTS:
            harness.wait_for(lambda h=host: harness.run(in_ns([sys.executable, "-c",
                             f"import socket; socket.create_connection(('{MX_HOSTS[h]}', {PORT}), 1)"]),
                             timeout=10).returncode == 0, what=f"{host}'s sink")
        done, data = harness.run_campaign(in_ns([COORD, "run", "--local", "1", "-m", "200", "-s", "4",
                                                 "--wait", "8", "--json", report, f"mx:mail.test:{PORT}"]),
                                          report, "mx", timeout=90)
        harness.wait_for(lambda: sum(c.messages for c in counts.values()) >= 200, timeout=10,
                         what="the sinks' counts")
    got = {h: c.messages for h, c in counts.items()}
    harness.check(done.returncode == 0 and data["totals"]["messages_accepted"] == 200,
                  f"mx: exit {done.returncode}, {data and data['totals']}")
    harness.check(got["backup"] == 0 and got["mx1"] > 0 and got["mx2"] > 0 and got["mx1"] + got["mx2"] == 200,
                  f"the preferred hosts share the mail, the backup none: {got}")


def test_mx_starttls_names_each_host(tmp):
    """mx:mail.test with --starttls: each session's TLS handshake names
    the MX host its address belongs to (SNI), as an MTA would; Python's
    aiosmtpd on each preferred host's address records what it was asked."""
    report = os.path.join(tmp, "mx-tls.json")
    cert, key = harness.make_cert(tmp)
    sni = {h: os.path.join(tmp, f"sni-{h}.txt") for h in ("mx1", "mx2")}
    with harness.Procs() as procs:
        for host, path in sni.items():
            procs.start(in_ns([sys.executable, os.path.join(AGENT_TESTS, "aiosmtpd_server.py"), "--host",
                               MX_HOSTS[host], "--port", str(PORT), "--out", os.path.join(tmp, f"mail-{host}"),
                               "--tls", cert, key, "--sni-out", path]))
        for host in sni:
            harness.wait_for(lambda h=host: harness.run(in_ns([sys.executable, "-c",
                             f"import socket; socket.create_connection(('{MX_HOSTS[h]}', {PORT}), 1)"]),
                             timeout=10).returncode == 0, what=f"{host}'s server")
        done, data = harness.run_campaign(in_ns([COORD, "run", "--local", "1", "-m", "12", "-s", "4", "--starttls",
                                                 "--wait", "8", "--json", report, f"mx:mail.test:{PORT}"]),
                                          report, "mx-tls", timeout=90)
    harness.check(done.returncode == 0 and data["totals"]["messages_accepted"] == 12,
                  f"mx over STARTTLS: exit {done.returncode}, {data and data['totals']}")
    names = {h: open(p).read().split() if os.path.exists(p) else [] for h, p in sni.items()}
    harness.check(names["mx1"] and names["mx2"] and set(names["mx1"]) == {"mx1.mail.test"}
                  and set(names["mx2"]) == {"mx2.mail.test"} and len(names["mx1"]) + len(names["mx2"]) == 12,
                  f"each handshake names its MX host: {names}")


def test_name_that_starts_answering(tmp):
    """late.test: timed out at first, answered once dnsmasq reads its hosts
    file again (SIGHUP, by pid) while the coordinator still waits."""
    report = os.path.join(tmp, "late.json")
    with open(HOSTS, "w") as f:
        f.write("")
    os.kill(MASQ.pid, signal.SIGHUP)
    coord = subprocess.Popen(in_ns([COORD, "run", "--local", "1", "-m", "50", "-s", "2",
                                    "--heartbeat-timeout", "10", "--json", report, f"late.test:{PORT}"]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(4)
        with open(HOSTS, "w") as f:
            f.write("127.0.0.1 late.test\n")
        os.kill(MASQ.pid, signal.SIGHUP)
        out, err = coord.communicate(timeout=90)
    finally:
        if coord.poll() is None:
            coord.kill()
            coord.wait()
    sys.stdout.write(f"--- late: exit {coord.returncode}\n{out.decode()}{err.decode()}\n")
    harness.check(coord.returncode == 0, f"late.test: exit {coord.returncode}")
    with open(report) as f:
        harness.check(json.load(f)["totals"]["messages_accepted"] == 50, "late.test: not every message")


def check_heartbeats(err, name):
    harness.check("silent for" not in err and "lost" not in err,
                  f"{name}: a heartbeat was missed: {err!r}")


def test_fast_name(tmp):
    done, data, err = campaign(tmp, "fast", f"fast.test:{PORT}")
    harness.check(done.returncode == 0, f"fast.test: exit {done.returncode}")
    harness.check(data["totals"]["messages_accepted"] == 50, f"accepted {data['totals']}")
    check_heartbeats(err, "fast.test")


def test_slow_name_server(tmp):
    done, data, err = campaign(tmp, "slow", f"slow.test:{PORT}")
    harness.check(done.returncode == 0, f"a {DELAY} s answer, {HEARTBEAT} s heartbeat timeout: exit {done.returncode}")
    harness.check(data["totals"]["messages_accepted"] == 50, f"accepted {data['totals']}")
    harness.check(not any(a["missing"] for a in data["agents"]), f"an agent counted lost: {data['agents']}")
    check_heartbeats(err, "slow.test")


def test_silent_name_server(tmp):
    done, data, err = campaign(tmp, "silent", f"silent.test:{PORT}")
    harness.check(done.returncode == 3, f"a name never answered: exit {done.returncode}, not 3")
    status = " ".join(a.get("status") or "" for a in data["agents"])
    harness.check("did not confirm" in status, f"the agent's status: {status!r}")
    harness.check("no name server answered" in err or "looking" in err,
                  f"the agent says why it could not start: {err!r}")
    check_heartbeats(err, "silent.test")


def test_unknown_name(tmp):
    done, data, err = campaign(tmp, "unknown", f"nowhere.test:{PORT}")
    harness.check(done.returncode == 3, f"a target that does not exist: exit {done.returncode}, not 3")
    harness.check("cannot resolve target nowhere.test" in done.stdout.decode() + err,
                  f"the reason is given: {err!r}")


def main():
    setup()
    try:
        with harness.Procs() as procs:
            dns = procs.start(in_ns([sys.executable, os.path.join(TOOLS, "slowdns.py"), "--addr", "127.0.0.2",
                                     "--name", "slow.test", "--delay", str(DELAY), "--silent", "silent.test",
                                     "--silent", "late.test"]))
            with open(HOSTS, "w") as f:
                f.write("")
            masq = procs.start(in_ns([DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                                      "--no-hosts", "--pid-file=", "--listen-address=127.0.0.1",
                                      "--bind-interfaces", "--user=root", "--cache-size=0",
                                      "--host-record=fast.test,127.0.0.1", "--address=/nowhere.test/",
                                      "--server=/slow.test/127.0.0.2", "--server=/silent.test/127.0.0.2",
                                      "--server=/late.test/127.0.0.2", f"--addn-hosts={HOSTS}",
                                      "--mx-host=mail.test,mx1.mail.test,10", "--mx-host=mail.test,mx2.mail.test,10",
                                      "--mx-host=mail.test,backup.mail.test,20",
                                      *[f"--host-record={h}.mail.test,{a}" for h, a in MX_HOSTS.items()]]))
            global MASQ
            MASQ = masq
            user = ["-u", "nobody"]
            sink = procs.start(in_ns([SINK] + user + [f"127.0.0.1:{PORT}", "64"]))
            for _ in range(100):
                if harness.run(in_ns([sys.executable, "-c",
                                      f"import socket; socket.create_connection(('127.0.0.1', {PORT}), 1);"
                                      "socket.getaddrinfo('fast.test', 25)"]),
                               timeout=10).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"in {NS}: sink exit {sink.poll()}, dnsmasq exit {masq.poll()}, "
                                     f"slowdns exit {dns.poll()}: not ready")
            harness.run_tests([test_fast_name, test_slow_name_server, test_silent_name_server,
                               test_unknown_name, test_mx_target, test_mx_starttls_names_each_host,
                               test_name_that_starts_answering], "dns-netns.")
    finally:
        teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
