"""test_cluster_netns - the cluster across hosts: five network namespaces
on one bridge, addresses from 198.18.0.0/15 (the range reserved for
benchmarking) only: 198.18.0.1 the coordinator, .2 and .3 two agents
(started with --allow-target 198.18.0.0/15), .4 and .5 two sinks, each
program in its own namespace. One campaign; every count reconciles, in
total and per agent.

Root only (exit 77 otherwise, or when namespaces cannot be made). The test
always deletes its namespaces, bridge and veths and stops its processes by
pid; names carry the test's pid so that runs never collide."""

import json
import os
import subprocess
import sys
import tempfile

import harness
from clustertest import AGENT, COORD, SINK, USER, check, check_reconciled
from netns import NET, Topology, insecure

HOSTS = {"coord": 1, "a1": 2, "a2": 3, "s1": 4, "s2": 5}


def main():
    topo = Topology(HOSTS)
    topo.require()
    ns = topo.ns
    procs = []
    ctl, snk = f"tcp://{NET}.1:7400", f"tcp://{NET}.1:7401"
    try:
        topo.build()
        topo.wait_reachable("a1", "s1")
        insecure_a = insecure(AGENT)
        insecure_s = insecure(SINK)
        insecure_c = insecure(COORD, "run")
        for name in ("s1", "s2"):
            procs.append(subprocess.Popen(
                ["ip", "netns", "exec", ns(name), SINK, *USER, *insecure_s, "--coordinator", snk,
                 "--id", name, f"{NET}.{HOSTS[name]}:2525", "256"]))
        for name in ("a1", "a2"):
            procs.append(subprocess.Popen(
                ["ip", "netns", "exec", ns(name), AGENT, *insecure_a, "--coordinator", ctl, "--id", name,
                 "--allow-target", "198.18.0.0/15"]))
        with tempfile.TemporaryDirectory(prefix="smtpstorm-netns-") as tmp:
            report = os.path.join(tmp, "netns.json")
            argv = ["ip", "netns", "exec", ns("coord"), COORD, "run", *insecure_c, "--bind", ctl,
                    "--sink-bind", snk, "--agents", "2", "--sinks", "2", "--wait", "20s", "--drain", "10s",
                    "--json", report, "-s", "10", "-m", "4000", f"{NET}.4:2525", f"{NET}.5:2525"]
            done = harness.run(argv, timeout=120)
            sys.stdout.write(f"exit {done.returncode}\n{done.stdout.decode()}{done.stderr.decode()}\n")
            check(done.returncode == 0, f"campaign across namespaces: exit {done.returncode}")
            with open(report) as f:
                data = json.load(f)
            check_reconciled(data, 4000)
            check(sorted(a["id"] for a in data["agents"]) == ["a1", "a2"], "agents")
            check(sorted(s["id"] for s in data["sinks"]) == ["s1", "s2"], "sinks")
            check(all(s["received"] == 2000 for s in data["sinks"]), f"sessions spread evenly: {data['sinks']}")
    finally:
        harness.stop(procs)
        topo.teardown()
    print("ok")


if __name__ == "__main__":
    main()
