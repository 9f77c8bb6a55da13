"""test_zmq_garbage - garbage on both of the coordinator's ZeroMQ endpoints
while a campaign runs (simulated agents and sinks, tests/coordinator/simpeer;
test_cluster covers a garbage peer joining before a campaign and a peer of
another wire version). tests/coordinator/zgarbage sends, mid-campaign:
random frames to the control and the sink endpoint, a valid Progress with no
hello, Workload/Start/Stop from a peer (the wrong way), a replay of the
previous campaign's Progress and Done (inflated counts), and frames over
ZMQ_MAXMSGSIZE; and this test opens raw TCP connections to both endpoints
that greet in ZMTP 3.0 with a mechanism the coordinator does not speak. Each decodable-or-not message is
dropped and counted in the report's control.dropped, each oversized frame in
control.oversize, each failed handshake in control.handshakes_failed, and
the same counts are in the coordinator's /metrics
(smtpstorm_control_refused_total by kind); nothing crashes, and the running
campaign reconciles exactly as if nothing had happened."""

import json
import os
import re
import socket
import sys
import tempfile
import time

import harness
import openmetrics
from test_cluster import COORD, SIM, by_id, check_reconciled, endpoints, start_agent, start_sink

# RFC 23's greeting: signature, version 3.0, mechanism PLAIN, as-server 0,
# filler; the coordinator's sockets speak NULL (or CURVE): the handshake fails
ZMTP_PLAIN_GREETING = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"PLAIN".ljust(20, b"\x00") + b"\x00" * 32
GARBAGE = os.environ.get("SMTPSTORM_ZGARBAGE", os.path.join(harness.BUILD, "tests", "coordinator", "zgarbage"))
check = harness.check


def test_garbage_during_a_campaign(tmp):
    ctl, snk = endpoints()
    s1 = os.path.join(tmp, "s1.sock")
    with harness.Procs() as procs:
        sink = start_sink(procs, snk, "sink-1", "unix:" + s1)
        agents = [start_agent(procs, ctl, ident, cores) for ident, cores in (("a1", 1), ("a2", 2))]
        harness.wait_for(lambda: os.path.exists(s1), what="sink listening")

        # A first campaign, whose id the replay will use.
        first = os.path.join(tmp, "first.json")
        done = harness.run([COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "2", "--sinks", "1",
                            "--wait", "20s", "--drain", "5s", "--json", first, "-m", "200", "-s", "2",
                            "unix:" + s1], timeout=90)
        check(done.returncode == 0, f"first campaign exit {done.returncode}: {done.stderr[-800:]!r}")
        with open(first) as f:
            old = json.load(f)["campaign"]

        # The second campaign runs about 10 s; the garbage comes in the middle.
        report = os.path.join(tmp, "second.json")
        mport = harness.free_port()
        coord = procs.start([COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "2", "--sinks", "1",
                             "--wait", "20s", "--drain", "5s", "--json", report, "--rate", "200",
                             "--metrics", f"127.0.0.1:{mport}",
                             "-m", "2000", "-s", "4", "unix:" + s1])
        line, deadline = b"", time.monotonic() + 20
        while b"sent" not in line and time.monotonic() < deadline:     # the first progress line
            line = coord.stderr.readline()
            check(line or coord.poll() is None, "coordinator ended before its campaign started")
        g = harness.run([GARBAGE, "--control", ctl, "--sinks", snk, "--old-campaign", old], timeout=60)
        sys.stdout.write(f"--- zgarbage: exit {g.returncode}\n{g.stdout.decode()}{g.stderr.decode()}\n")
        check(g.returncode == 0, "zgarbage ran")
        counted = int(re.search(rb"counted (\d+)", g.stdout).group(1))
        oversized = int(re.search(rb"oversized (\d+)", g.stdout).group(1))
        check(counted == 38 and oversized == 2, f"zgarbage sent {counted} counted, {oversized} oversized")
        for ep in (ctl, snk):           # a ZMTP 3.0 greeting asking for a mechanism not offered
            host, port = ep[len("tcp://"):].rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as raw:
                raw.sendall(ZMTP_PLAIN_GREETING)
                raw.settimeout(1)
                try:
                    while raw.recv(4096):
                        pass
                except OSError:
                    pass
        seen = {}

        def control_counted():
            status, _, body = openmetrics.curl(f"http://127.0.0.1:{mport}/metrics")
            _, samples = openmetrics.parse(body)
            for kind in ("dropped", "oversize", "handshake_failed"):
                seen[kind] = openmetrics.value(samples, "smtpstorm_control_refused_total", kind=kind)
            return status == 200 and seen["oversize"] == oversized and seen["handshake_failed"] >= 2

        harness.wait_for(control_counted, timeout=10, what="the refusals in /metrics")
        check(coord.poll() is None, "the campaign was still running when the garbage came")
        out, err = coord.communicate(timeout=60)
        sys.stdout.write(f"--- second: exit {coord.returncode}\n{out.decode()}{err.decode()}\n")
        check(coord.returncode == 0, f"second campaign exit {coord.returncode}")
        with open(report) as f:
            data = json.load(f)
        check_reconciled(data, 2000)
        check(sorted(by_id(data["agents"])) == ["a1", "a2"], f"agents: {sorted(by_id(data['agents']))}")
        check(data["control"]["dropped"] == counted, f"dropped and counted: {data['control']}, sent {counted}")
        check(data["control"]["refused"] == 0, f"refused: {data['control']}")
        check(data["control"]["oversize"] == oversized, f"oversize: {data['control']}, sent {oversized}")
        check(data["control"]["handshakes_failed"] >= 2, f"handshakes failed: {data['control']}")
        check(seen["dropped"] >= 1, f"/metrics during the campaign: {seen}")
        check(data["replies"].get("250") == 2000, f"replies: {data['replies']}")
        check(sink.poll() is None and all(a.poll() is None for a in agents), "peers still running")


def main():
    check(os.access(SIM, os.X_OK) and os.access(GARBAGE, os.X_OK), f"{SIM} or {GARBAGE} not built")
    with tempfile.TemporaryDirectory(prefix="smtpstorm-garbage-") as tmp:
        test_garbage_during_a_campaign(tmp)
    print("ok")


if __name__ == "__main__":
    main()
