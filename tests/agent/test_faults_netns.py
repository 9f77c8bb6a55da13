"""test_faults_netns - a network cut between hosts (issue 5, Faults): the
coordinator, three agents and a sink each in its own network namespace on a
bridge (198.18.0.0/15 only). Mid-campaign one agent's veth is set down for
longer than the heartbeat timeouts, then up again:

- nothing crashes, the coordinator ends the campaign with the others, names
  the cut-off agent missing with what it had reported, exits 3;
- the cut-off agent's dead-man switch stops its load (it makes no progress
  while the link is down and no more once it is back: the sink's count of
  its messages stays what it was shortly after the cut);
- a following campaign runs with all three agents and reconciles.

Root only (77 otherwise). Namespaces, bridge, veths and processes are always
removed."""

import json
import os
import subprocess
import sys
import tempfile
import time

import harness
from clustertest import AGENT, COORD, SINK, USER, check, check_reconciled
from netns import NET, Topology, insecure

HOSTS = {"coord": 1, "a1": 2, "a2": 3, "a3": 4, "s1": 5}
CTL, SNK = f"tcp://{NET}.1:7400", f"tcp://{NET}.1:7401"
TARGET = f"{NET}.5:2525"
HEARTBEAT_S = 2
CUT_S = 7                       # longer than the agents' and the coordinator's dead times


def coordinator_argv(topo, report, *workload):
    return [*topo.prefix("coord"), COORD, "run", *insecure(COORD, "run"), "--bind", CTL, "--sink-bind", SNK,
            "--agents", "3", "--sinks", "1", "--wait", "20s", "--drain", "6s", "--json", report, *workload]


def load(report):
    with open(report) as f:
        return json.load(f)


def run_cut(topo, tmp):
    report = os.path.join(tmp, "cut.json")
    argv = coordinator_argv(topo, report, "-s", "6", "--rate", "300", "--duration", "14", TARGET)
    coord = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(4)               # the campaign is under way (wait, plan, start, 2 s of load)
        check(coord.poll() is None, "the coordinator ended before the cut")
        topo.cut("a2")
        cut_at = time.monotonic()
        time.sleep(CUT_S)           # the fault: a2 off the network this long
        topo.restore("a2")
        sys.stdout.write(f"a2 cut for {time.monotonic() - cut_at:.1f} s\n")
        out, _ = coord.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        coord.kill()
        coord.wait()
        raise AssertionError("the coordinator hung after the network cut")
    finally:
        topo.restore("a2")
        if coord.poll() is None:
            coord.kill()
            coord.wait()
    out = out.decode(errors="replace")
    sys.stdout.write(f"--- cut: exit {coord.returncode}\n{out}\n")
    check(coord.returncode == 3, f"exit {coord.returncode}, wanted 3 (agents missing)")
    data = load(report)
    by_id = {a["id"]: a for a in data["agents"]}
    a2 = by_id["a2"]
    check(a2["missing"] is True and a2["status"], f"a2 not named missing: {a2}")
    check(a2["messages_accepted"] > 0, f"a2's work before the cut is not in the report: {a2}")
    for ident in ("a1", "a3"):
        a = by_id[ident]
        check(not a["missing"] and a["messages_accepted"] > a2["messages_accepted"],
              f"{ident} should have run the whole campaign: {a}")
        check(a["messages_accepted"] == a["sink_received"], f"{ident} does not reconcile: {a}")
    t = data["totals"]
    check(t["messages_accepted"] == sum(a["messages_accepted"] for a in data["agents"]),
          "the totals leave out the cut-off agent's counts")
    # Its load stopped: it ran about 2 s + the heartbeat timeout at 100/s,
    # not the whole 14 s (1400).
    check(a2["sink_received"] < 100 * (2 + HEARTBEAT_S + 3), f"a2 kept its load up: {a2}")


def run_after(topo, tmp):
    report = os.path.join(tmp, "after.json")
    done = harness.run(coordinator_argv(topo, report, "-s", "6", "-m", "900", TARGET), timeout=90)
    sys.stdout.write(f"--- after: exit {done.returncode}\n{done.stdout.decode()}{done.stderr.decode()}\n")
    check(done.returncode == 0, f"the campaign after the cut: exit {done.returncode}")
    data = load(report)
    check_reconciled(data, 900)
    check(sorted(a["id"] for a in data["agents"]) == ["a1", "a2", "a3"], "all three agents took part")


def main():
    topo = Topology(HOSTS, tag="sf")
    topo.require()
    procs = []
    try:
        topo.build()
        topo.wait_reachable("a1", "s1")
        procs.append(subprocess.Popen([*topo.prefix("s1"), SINK, *USER, *insecure(SINK), "--coordinator", SNK,
                                       "--id", "s1", TARGET, "256"]))
        for name in ("a1", "a2", "a3"):
            procs.append(subprocess.Popen([*topo.prefix(name), AGENT, *insecure(AGENT), "--coordinator", CTL,
                                           "--id", name, "--allow-target", "198.18.0.0/15",
                                           "--heartbeat-timeout", str(HEARTBEAT_S)]))
        with tempfile.TemporaryDirectory(prefix="smtpstorm-faults-netns-") as tmp:
            run_cut(topo, tmp)
            for p in procs:
                check(p.poll() is None, f"{p.args[3:5]} died during the cut (exit {p.returncode})")
            run_after(topo, tmp)
    finally:
        harness.stop(procs)
        topo.teardown()
    print("ok")


if __name__ == "__main__":
    main()
