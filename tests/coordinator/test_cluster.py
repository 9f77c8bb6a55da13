"""test_cluster - smtpstorm (the coordinator) against simulated agents and
sinks (tests/coordinator/simpeer) that speak the real control protocol as
separate processes on loopback, started before the coordinator:

- 3 agents (1, 2 and 4 cores) and 2 sinks: a campaign whose counts
  reconcile in total and per agent, split by cores, JSON and CSV reports;
- a second campaign on the same agents (they reconnect to a new
  coordinator), with a peer sending garbage (dropped and counted) and one
  speaking another wire version (refused, by name);
- too few agents: exit 3 naming who came; an agent dying mid-campaign:
  exit 3, named missing; a sink losing messages: exit 5; target
  rejections: exit 4;
- --local N with the simulator standing in for smtpstorm-agent/-sink;
- the descriptor limit: the coordinator raises its soft limit to one
  descriptor per agent and sink (200 agents with a soft limit of 128
  reconcile), and a hard limit too low is an error naming both numbers,
  at once, not a wait for agents that can never connect.
"""

import csv
import json
import os
import resource
import signal
import sys
import tempfile
import time

import harness

SIM = os.environ.get("SMTPSTORM_SIMPEER", os.path.join(harness.BUILD, "tests", "coordinator", "simpeer"))
COORD = harness.program("smtpstorm")


def endpoints():
    return f"tcp://127.0.0.1:{harness.free_port()}", f"tcp://127.0.0.1:{harness.free_port()}"


def start_agent(procs, ctl, ident, cores, *extra):
    return procs.start([SIM, "--role", "agent", "--coordinator", ctl, "--id", ident,
                        "--cores", str(cores), *extra])


def start_sink(procs, snk, ident, address, *extra):
    return procs.start([SIM, "--role", "sink", "--coordinator", snk, "--id", ident, *extra, address, "64"])


def coordinator(ctl, snk, agents, sinks, tmp, name, *workload, wait="20s"):
    """Run one campaign; returns (CompletedProcess, report dict or None)."""
    report = os.path.join(tmp, name + ".json")
    argv = [COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", str(agents),
            "--sinks", str(sinks), "--wait", wait, "--drain", "5s", "--json", report,
            "--csv", os.path.join(tmp, name + ".csv"), *workload]
    return harness.run_campaign(argv, report, name, timeout=90)


def by_id(items):
    return {item["id"]: item for item in items}


def check_reconciled(data, messages):
    t = data["totals"]
    harness.check(t["messages_accepted"] == messages, f"accepted {t['messages_accepted']}, wanted {messages}")
    harness.check(t["sink_received"] == messages, f"sinks received {t['sink_received']}, wanted {messages}")
    harness.check(t["lost"] == 0 and t["duplicates"] == 0, f"lost {t['lost']} duplicates {t['duplicates']}")
    for a in data["agents"]:
        harness.check(a["messages_accepted"] == a["sink_received"] == a["messages_planned"],
                      f"agent {a['id']} does not reconcile: {a}")
    harness.check(sum(s["received"] for s in data["sinks"]) == messages, "sinks' lines do not add up")


def test_two_campaigns_on_three_agents_and_two_sinks(tmp):
    ctl, snk = endpoints()
    s1, s2 = os.path.join(tmp, "s1.sock"), os.path.join(tmp, "s2.sock")
    with harness.Procs() as procs:
        start_sink(procs, snk, "sink-1", "unix:" + s1)
        start_sink(procs, snk, "sink-2", "unix:" + s2)
        for ident, cores in (("a1", 1), ("a2", 2), ("a3", 4)):
            start_agent(procs, ctl, ident, cores)
        harness.wait_for(lambda: os.path.exists(s1) and os.path.exists(s2), what="sinks listening")

        done, data = coordinator(ctl, snk, 3, 2, tmp, "first", "-m", "3000", "-s", "7",
                                 "unix:" + s1, "unix:" + s2)
        harness.check(done.returncode == 0, f"first campaign exit {done.returncode}")
        check_reconciled(data, 3000)
        agents = by_id(data["agents"])
        harness.check([agents[a]["messages_planned"] for a in ("a1", "a2", "a3")] == [429, 857, 1714],
                      f"split by cores 1:2:4 of 3000 is 429/857/1714, got {[a['messages_planned'] for a in data['agents']]}")
        sinks = by_id(data["sinks"])
        harness.check(sinks["sink-1"]["received"] > 1000 and sinks["sink-2"]["received"] > 1000,
                      f"targets not spread evenly: {sinks}")
        harness.check(data["replies"].get("250") == 3000, f"replies: {data['replies']}")
        harness.check(data["latency_ms"]["message"]["count"] == 3000, "message latency count")
        lat = data["latency_ms"]["message"]
        harness.check(lat["p99"] <= lat["max"], "p99 above max")
        harness.check("delivery" in data["latency_ms"], "no delivery latency from the sinks")
        harness.check(data["control"]["dropped"] == 0, f"dropped {data['control']}")
        harness.check(len(data["timeline"]) >= 1, "no timeline")
        with open(os.path.join(tmp, "first.csv")) as f:
            rows = list(csv.DictReader(f))
        harness.check(rows and sum(int(r["accepted"]) for r in rows) == 3000,
                      "CSV timeline does not add up to the accepted messages")

        # The same agents, a new coordinator; a garbage sender and a peer of
        # another wire version join.
        garbage = start_agent(procs, ctl, "g1", 1, "--garbage", "5")
        other = start_agent(procs, ctl, "oldie", 1, "--wire-version", "1")
        done, data2 = coordinator(ctl, snk, 4, 2, tmp, "second", "-m", "1000", "-s", "8",
                                  "unix:" + s1, "unix:" + s2)
        harness.check(done.returncode == 0, f"second campaign exit {done.returncode}")
        harness.check(data2["campaign"] != data["campaign"], "campaign ids must differ")
        check_reconciled(data2, 1000)
        harness.check(set(by_id(data2["agents"])) == {"a1", "a2", "a3", "g1"}, "second campaign's agents")
        harness.check(data2["control"]["dropped"] == 6, f"5 garbage frames + 1 malformed: {data2['control']}")
        harness.check(data2["control"]["refused"] == 1, f"one peer of another version: {data2['control']}")
        err = done.stderr.decode()
        harness.check("refused peer oldie" in err and "wire version 1" in err, "the refusal names the peer")
        other.wait(timeout=10)
        harness.check(other.returncode == 3 and b"wire version" in other.stderr.read(),
                      "the other-version peer is told why and gives up")
        harness.check(garbage.poll() is None, "garbage sender still alive")

        # More agents than there are: exit 3, naming who came.
        done, _ = coordinator(ctl, snk, 9, 2, tmp, "missing", "-m", "10", "unix:" + s1, wait="2s")
        harness.check(done.returncode == 3, f"missing agents exit {done.returncode}, wanted 3")
        harness.check(b"said hello" in done.stderr and b"a1" in done.stderr, "the wait names who came")

        # Interrupted: the agents are stopped, the sinks drained, the
        # report written, and the exit says so.
        report = os.path.join(tmp, "interrupted.json")
        coord = procs.start([COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "4",
                             "--sinks", "2", "--rate", "200", "--duration", "60s", "--json", report,
                             "unix:" + s1, "unix:" + s2])
        line = b""
        deadline = time.monotonic() + 20
        while b"sent" not in line and time.monotonic() < deadline:   # the first progress line
            line = coord.stderr.readline()
            harness.check(line or coord.poll() is None, "coordinator ended before its campaign started")
        harness.wait_for(lambda: False if coord.poll() is not None else True, timeout=1, what="still running")
        time.sleep(1.5)     # let it send for a while: the point is a campaign interrupted midway
        coord.send_signal(signal.SIGINT)
        out, err = coord.communicate(timeout=20)
        sys.stdout.write(f"--- interrupted: exit {coord.returncode}\n{out.decode()}{err.decode()}\n")
        harness.check(coord.returncode == 130, f"interrupted exit {coord.returncode}, wanted 130")
        with open(report) as f:
            data3 = json.load(f)
        harness.check(data3["result"] == "interrupted" and b"result: interrupted" in out, "says interrupted")
        harness.check(all(a["status"].startswith("stopped: interrupted") for a in data3["agents"]),
                      f"agents stopped: {[a['status'] for a in data3['agents']]}")
        accepted = data3["totals"]["messages_accepted"]
        harness.check(0 < accepted < 12000 and data3["totals"]["lost"] == 0,
                      f"interrupted midway and reconciled: {data3['totals']}")


def test_lost_agent_lost_messages_and_rejections(tmp):
    ctl, snk = endpoints()
    s1 = os.path.join(tmp, "lossy.sock")
    with harness.Procs() as procs:
        start_sink(procs, snk, "lossy", "unix:" + s1, "--lose", "7")
        start_agent(procs, ctl, "b1", 2)
        start_agent(procs, ctl, "b2", 2)
        harness.wait_for(lambda: os.path.exists(s1), what="sink listening")
        done, data = coordinator(ctl, snk, 2, 1, tmp, "lossy", "-m", "400", "-s", "2", "unix:" + s1)
        harness.check(done.returncode == 5, f"messages lost exit {done.returncode}, wanted 5")
        harness.check(data["totals"]["lost"] == 7, f"lost {data['totals']['lost']}, wanted 7")

    ctl, snk = endpoints()
    s2 = os.path.join(tmp, "strict.sock")
    with harness.Procs() as procs:
        start_sink(procs, snk, "strict", "unix:" + s2)
        start_agent(procs, ctl, "r1", 1, "--reject-every", "50")
        harness.wait_for(lambda: os.path.exists(s2), what="sink listening")
        done, data = coordinator(ctl, snk, 1, 1, tmp, "rejects", "-m", "500", "unix:" + s2)
        harness.check(done.returncode == 4, f"target errors exit {done.returncode}, wanted 4")
        harness.check(data["totals"]["messages_rejected"] == 10 and data["replies"].get("550") == 10,
                      f"rejections: {data['totals']}")
        harness.check(data["totals"]["lost"] == 0, "rejected messages are not lost")

    ctl, snk = endpoints()
    s3 = os.path.join(tmp, "crash.sock")
    with harness.Procs() as procs:
        start_sink(procs, snk, "crash-sink", "unix:" + s3)
        start_agent(procs, ctl, "steady", 1, "--speed", "100")
        start_agent(procs, ctl, "crasher", 1, "--speed", "100", "--die-after", "150")
        harness.wait_for(lambda: os.path.exists(s3), what="sink listening")
        done, data = coordinator(ctl, snk, 2, 1, tmp, "crash", "-m", "1000", "-s", "2", "unix:" + s3)
        harness.check(done.returncode == 3, f"lost agent exit {done.returncode}, wanted 3")
        agents = by_id(data["agents"])
        harness.check(agents["crasher"]["missing"] and "lost" in agents["crasher"]["status"],
                      f"the crashed agent is named missing: {agents['crasher']}")
        harness.check(agents["crasher"]["messages_accepted"] >= 1, "what it had done is kept")
        harness.check(not agents["steady"]["missing"], "the steady agent finished")


def test_local_runs_agents_and_a_sink(tmp):
    env = dict(os.environ, SMTPSTORM_AGENT_PROGRAM=f"{SIM} --role agent",
               SMTPSTORM_SINK_PROGRAM=f"{SIM} --role sink")
    report = os.path.join(tmp, "local.json")
    done = harness.run([COORD, "run", "--local", "3", "-m", "900", "-s", "3", "--json", report,
                        "--wait", "20s"], timeout=60, env=env)
    sys.stdout.write(f"--- local: exit {done.returncode}\n{done.stdout.decode()}{done.stderr.decode()}\n")
    harness.check(done.returncode == 0, f"--local exit {done.returncode}")
    with open(report) as f:
        data = json.load(f)
    check_reconciled(data, 900)
    harness.check(sorted(by_id(data["agents"])) == ["local-a1", "local-a2", "local-a3"], "local agents")
    harness.check([s["id"] for s in data["sinks"]] == ["local-sink"], "local sink")


def test_campaign_file_thresholds(tmp):
    """A campaign file's thresholds judge the run (exit 7 when one fails); a
    --threshold on the command line replaces the file's list; a bad one in
    the file names its line."""
    env = dict(os.environ, SMTPSTORM_AGENT_PROGRAM=f"{SIM} --role agent",
               SMTPSTORM_SINK_PROGRAM=f"{SIM} --role sink")
    path = os.path.join(tmp, "judged.yaml")
    with open(path, "w") as f:
        f.write("messages: 300\nsessions: 2\nthresholds:\n  - lost==0\n"
                "  - rate(accepted) > 1000000/s\n")
    report = os.path.join(tmp, "judged.json")
    done = harness.run([COORD, "run", "--local", "2", "--campaign", path, "--json", report,
                        "--wait", "20s"], timeout=60, env=env)
    sys.stdout.write(f"--- file thresholds: exit {done.returncode}\n{done.stdout.decode()}\n")
    harness.check(done.returncode == 7, f"a failed threshold from the file exits 7, got {done.returncode}")
    with open(report) as f:
        data = json.load(f)
    harness.check([(t["expr"], t["ok"]) for t in data["thresholds"]]
                  == [("lost==0", True), ("rate(accepted) > 1000000/s", False)], f"{data['thresholds']}")
    done = harness.run([COORD, "run", "--local", "2", "--campaign", path, "--json", report,
                        "--threshold", "accepted==300", "--wait", "20s"], timeout=60, env=env)
    harness.check(done.returncode == 0, f"--threshold replaces the file's: exit {done.returncode}")
    with open(report) as f:
        data = json.load(f)
    harness.check([t["expr"] for t in data["thresholds"]] == ["accepted==300"], f"{data['thresholds']}")
    with open(path, "a") as f:
        f.write("  - p99(mesage)<1s\n")
    done = harness.run([COORD, "run", "--local", "2", "--campaign", path], timeout=60, env=env)
    harness.check(done.returncode == 2 and f"{path}:6: threshold: ".encode() in done.stderr
                  and b"unknown phase" in done.stderr, f"bad threshold in the file: {done.stderr!r}")


def limit_fds(soft, hard=None):
    """A preexec_fn: the child's descriptor limits (hard: unchanged when None)."""
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (soft, hard if hard is not None else resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    return apply


def test_descriptor_limit(tmp):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 1024:
        print("skipped: the hard descriptor limit is under 1024")
        return
    ctl, snk = endpoints()
    sock = os.path.join(tmp, "many.sock")
    with harness.Procs() as procs:
        start_sink(procs, snk, "sink", "unix:" + sock)
        procs.start([SIM, "--role", "agent", "--count", "200", "--coordinator", ctl, "--id", "many"])
        harness.wait_for(lambda: os.path.exists(sock), what="sink listening")
        report = os.path.join(tmp, "many.json")
        done = harness.run([COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "200", "--sinks", "1",
                            "--wait", "40s", "--drain", "5s", "--json", report, "-m", "2000", "-s", "200",
                            "unix:" + sock], timeout=90, preexec_fn=limit_fds(128))
        harness.check(done.returncode == 0, f"200 agents, soft limit 128: exit {done.returncode}: "
                      f"{done.stderr.decode()[-600:]}")
        with open(report) as f:
            check_reconciled(json.load(f), 2000)
    t0 = time.monotonic()
    done = harness.run([COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "5000", "--sinks", "1",
                        "--wait", "60s", "-m", "10", "unix:" + sock], timeout=30, preexec_fn=limit_fds(1024, 1024))
    err = done.stderr.decode()
    harness.check(done.returncode == 1 and "5000 agents and 1 sinks need 5257 file descriptors, but the hard limit "
                  "is 1024" in err, f"hard limit 1024 for 5000 agents: exit {done.returncode}: {err!r}")
    harness.check(time.monotonic() - t0 < 10, "the error comes at once, not after --wait")


def main():
    harness.check(os.access(SIM, os.X_OK), f"{SIM} not built")
    for test in (test_two_campaigns_on_three_agents_and_two_sinks,
                 test_lost_agent_lost_messages_and_rejections,
                 test_local_runs_agents_and_a_sink,
                 test_campaign_file_thresholds,
                 test_descriptor_limit):
        with tempfile.TemporaryDirectory(prefix="smtpstorm-cluster-") as tmp:
            print(f"=== {test.__name__}", flush=True)
            test(tmp)
    print("ok")


if __name__ == "__main__":
    main()
