"""test_zmq_garbage - garbage on both of the coordinator's ZeroMQ endpoints
while a campaign runs (simulated agents and sinks, tests/coordinator/simpeer;
test_cluster covers a garbage peer joining before a campaign and a peer of
another wire version). tests/coordinator/zgarbage sends, mid-campaign:
random frames to the control and the sink endpoint, a valid Progress with no
hello, Workload/Start/Stop from a peer (the wrong way), a replay of the
previous campaign's Progress and Done (inflated counts), and frames over
ZMQ_MAXMSGSIZE. Each decodable-or-not message is dropped and counted in the
report's control.dropped; oversized frames never reach the coordinator
(libzmq hangs up on the sender); nothing crashes, and the running campaign
reconciles exactly as if nothing had happened."""

import json
import os
import re
import sys
import tempfile
import time

import harness
from test_cluster import COORD, SIM, by_id, check_reconciled, endpoints, start_agent, start_sink

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

        # The second campaign runs about 4 s; the garbage comes in the middle.
        report = os.path.join(tmp, "second.json")
        coord = procs.start([COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "2", "--sinks", "1",
                             "--wait", "20s", "--drain", "5s", "--json", report, "--rate", "250",
                             "-m", "1000", "-s", "4", "unix:" + s1])
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
        check(coord.poll() is None, "the campaign was still running when the garbage came")
        out, err = coord.communicate(timeout=60)
        sys.stdout.write(f"--- second: exit {coord.returncode}\n{out.decode()}{err.decode()}\n")
        check(coord.returncode == 0, f"second campaign exit {coord.returncode}")
        with open(report) as f:
            data = json.load(f)
        check_reconciled(data, 1000)
        check(sorted(by_id(data["agents"])) == ["a1", "a2"], f"agents: {sorted(by_id(data['agents']))}")
        check(data["control"]["dropped"] == counted, f"dropped and counted: {data['control']}, sent {counted}")
        check(data["control"]["refused"] == 0, f"refused: {data['control']}")
        check(data["replies"].get("250") == 1000, f"replies: {data['replies']}")
        check(sink.poll() is None and all(a.poll() is None for a in agents), "peers still running")


def main():
    check(os.access(SIM, os.X_OK) and os.access(GARBAGE, os.X_OK), f"{SIM} or {GARBAGE} not built")
    with tempfile.TemporaryDirectory(prefix="smtpstorm-garbage-") as tmp:
        test_garbage_during_a_campaign(tmp)
    print("ok")


if __name__ == "__main__":
    main()
