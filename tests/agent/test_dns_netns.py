"""A slow name server must not stall an agent daemon. In a network
namespace of its own (loopback only), whose resolv.conf names a DNS server
written here (slowdns.py) that answers slow.test only after 6 seconds, a
`smtpstorm run --local 1 --heartbeat-timeout 3` campaign aims at
slow.test:PORT, where a smtpstorm-sink listens on 127.0.0.1. The agent
looks the name up on a thread while its event loop goes on sending
heartbeats, answers the coordinator's repeated workload once the lookup is
over, and every message arrives: exit 0. (When the lookup ran on the event
loop, the agent fell silent for 6 s and was counted lost: exit 3.) A name
the server does not know is refused at once, with the reason.

Root only (exit 77 otherwise, or when namespaces cannot be made); the
namespace, its /etc/netns folder and every process are removed at the end."""

import json
import os
import shutil
import subprocess
import sys

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
COORD = harness.program("smtpstorm")
SINK = harness.program("smtpstorm-sink")
NS = f"ssdns{os.getpid()}"
ETC = os.path.join("/etc/netns", NS)
DELAY = 6
HEARTBEAT = 3
PORT = 2525             # the namespace is new: nothing else listens there


def in_ns(argv):
    return ["ip", "netns", "exec", NS] + argv


def setup():
    if os.geteuid() != 0:
        print("skip: needs root for network namespaces", file=sys.stderr)
        sys.exit(harness.SKIP)
    if subprocess.run(["ip", "netns", "add", NS], capture_output=True).returncode != 0:
        print("skip: cannot make a network namespace here", file=sys.stderr)
        sys.exit(harness.SKIP)
    subprocess.run(["ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up"], check=True, timeout=20)
    os.makedirs(ETC, exist_ok=True)
    with open(os.path.join(ETC, "resolv.conf"), "w") as f:
        f.write(f"nameserver 127.0.0.1\noptions timeout:{DELAY * 2} attempts:1\n")


def teardown():
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, timeout=20)
    shutil.rmtree(ETC, ignore_errors=True)


def campaign(tmp, name, target, timeout=90):
    report = os.path.join(tmp, f"{name}.json")
    done = harness.run(in_ns([COORD, "run", "--local", "1", "-m", "50", "-s", "2",
                              "--heartbeat-timeout", str(HEARTBEAT), "--json", report, target]),
                       timeout=timeout)
    sys.stdout.write(f"--- {name}: exit {done.returncode}\n{done.stdout.decode()}{done.stderr.decode()}\n")
    data = None
    if os.path.exists(report):
        with open(report) as f:
            data = json.load(f)
    return done, data


def test_slow_name_server(tmp):
    done, data = campaign(tmp, "slow", f"slow.test:{PORT}")
    harness.check(done.returncode == 0, f"a 6 s lookup with a 3 s heartbeat timeout: exit {done.returncode}")
    harness.check(data["totals"]["messages_accepted"] == 50, f"accepted {data['totals']}")
    harness.check(not any(a["missing"] for a in data["agents"]), f"an agent counted lost: {data['agents']}")
    harness.check(b"looking up the targets" in done.stderr, "the agent says it is looking the targets up")


def test_unknown_name(tmp):
    done, data = campaign(tmp, "unknown", f"nowhere.test:{PORT}")
    harness.check(done.returncode != 0, "a target that does not resolve cannot run")
    harness.check(b"cannot resolve target nowhere.test" in done.stdout + done.stderr,
                  f"the reason is given: {done.stderr!r}")


def main():
    setup()
    try:
        with harness.Procs() as procs:
            dns = procs.start(in_ns(["/usr/bin/python3", os.path.join(HERE, "slowdns.py"), "--name",
                                     "slow.test", "--delay", str(DELAY)]))
            user = ["-u", "nobody"] if os.geteuid() == 0 else []
            sink = procs.start(in_ns([SINK] + user + [f"127.0.0.1:{PORT}", "64"]))
            harness.check(dns.poll() is None, "the DNS server did not start")
            for _ in range(100):
                if harness.run(in_ns(["/usr/bin/python3", "-c",
                                      f"import socket; socket.create_connection(('127.0.0.1', {PORT}), 1)"]),
                               timeout=10).returncode == 0:
                    break
            else:
                raise AssertionError(f"the sink in {NS} does not listen (exit {sink.poll()})")
            harness.run_tests([test_slow_name_server, test_unknown_name], "dns-netns.")
    finally:
        teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
