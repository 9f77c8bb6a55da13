"""--source (issue 15): one agent host with 16 addresses on its veth
(198.18.0.32 to .47, network namespaces on a bridge, 198.18.0.0/15 only),
a sink host dumping every message. The sink sees every source address,
evenly (X-Client-Addr in its dumps):

- standalone smtpstorm-agent --source 198.18.0.32/28 with two threads;
- a campaign of two daemon agents with --source, and the campaign key
  source: of a second campaign;
- an address the host does not have is refused before any load, by the
  standalone agent and by a daemon agent (the campaign names it).

Root only (77 otherwise). Namespaces, bridge, veths and processes are always
removed."""

import collections
import json
import glob
import os
import re
import subprocess
import sys
import tempfile

import harness
from clustertest import AGENT, COORD, SINK, USER, check
from netns import NET, Topology, insecure

HOSTS = {"agent": 2, "sink": 5}
TARGET = f"{NET}.5:2525"
POOL = [f"{NET}.{i}" for i in range(32, 48)]


def clients(folder):
    """How many dumped messages came from each client address."""
    seen = collections.Counter()
    for path in glob.glob(os.path.join(folder, "m.*")):
        with open(path, "rb") as f:
            m = re.search(rb"\nX-Client-Addr: ([0-9.]+)\n", b"\n" + f.read())
        check(m, f"no X-Client-Addr in {path}")
        seen[m.group(1).decode()] += 1
    return seen


def start_sink(topo, tmp, name):
    folder = os.path.join(tmp, name)
    os.mkdir(folder)
    os.chmod(folder, 0o777)
    p = subprocess.Popen([*topo.prefix("sink"), SINK, *USER, "-d", os.path.join(folder, "m."), TARGET, "256"])
    topo.wait_reachable("agent", "sink")
    harness.wait_for(lambda: subprocess.run([*topo.prefix("agent"), sys.executable, "-c",
                                             "import socket; socket.create_connection(('%s', 2525), 1)" % TARGET[:-5]],
                                            capture_output=True).returncode == 0, what="the sink listening")
    return p, folder


CTL = f"tcp://{NET}.2:7400"


def start_agents(topo):
    """Two daemon agents on the agent host, allowed the sink's network."""
    return [subprocess.Popen([*topo.prefix("agent"), AGENT, *insecure(AGENT), "--coordinator",
                              CTL, "--id", name, "--allow-target", "198.18.0.0/15"]) for name in ("a1", "a2")]


def run_campaign(topo, tmp, name, workload):
    report = os.path.join(tmp, f"{name}.json")
    done = harness.run([*topo.prefix("agent"), COORD, "run", *insecure(COORD, "run"), "--bind", CTL,
                        "--agents", "2", "--wait", "20s", "--json", report, *workload, TARGET], timeout=90)
    sys.stdout.write(f"--- {name}: exit {done.returncode}\n{done.stdout.decode()}{done.stderr.decode()}\n")
    return done


def even(seen, total, name):
    check(sorted(seen) == sorted(POOL), f"{name}: sources seen {sorted(seen)}")
    check(set(seen.values()) == {total // len(POOL)}, f"{name}: not even: {dict(seen)}")


def main():
    topo = Topology(HOSTS, tag="sp")
    topo.require()
    procs = []
    try:
        topo.build()
        for addr in POOL:
            topo.add_address("agent", addr)
        with tempfile.TemporaryDirectory(prefix="smtpstorm-sources-") as tmp:
            os.chmod(tmp, 0o755)        # the sink writes its dumps as nobody
            sink, folder = start_sink(topo, tmp, "standalone")
            procs.append(sink)
            done = harness.run([*topo.prefix("agent"), AGENT, "--quiet", "-s", "4", "--threads", "2", "-m", "160",
                                "--source", f"{NET}.32/28", TARGET], timeout=60)
            check(done.returncode == 0, f"standalone: exit {done.returncode} {done.stderr.decode()}")
            harness.wait_for(lambda: sum(clients(folder).values()) == 160, what="160 dumps")
            even(clients(folder), 160, "standalone")

            done = harness.run([*topo.prefix("agent"), AGENT, "--quiet", "--source", f"{NET}.32,{NET}.99",
                                TARGET], timeout=30)
            err = done.stderr.decode()
            check(done.returncode != 0 and f"--source: {NET}.99 is not an address of this host" in err,
                  f"a foreign address: exit {done.returncode} {err}")

            harness.stop(procs)
            procs.clear()
            path = os.path.join(tmp, "sources.yaml")
            with open(path, "w") as f:
                f.write(f"source: {NET}.32/28\n")
            for name, extra in (("campaign", ["--source", ",".join(POOL[:8]) + f",{NET}.40/29"]),
                                ("campaign file", ["--campaign", path])):
                sink, folder = start_sink(topo, tmp, name.replace(" ", "-"))
                procs.append(sink)
                procs.extend(start_agents(topo))
                done = run_campaign(topo, tmp, name, ["-s", "4", "-m", "320", *extra])
                check(done.returncode == 0, f"{name}: exit {done.returncode} {done.stdout.decode()}")
                with open(os.path.join(tmp, f"{name}.json")) as f:
                    pools = [a["source_pool"] for a in json.load(f)["agents"]]
                check(pools == [16, 16], f"{name}: the agents' source pools {pools}")
                harness.wait_for(lambda: sum(clients(folder).values()) == 320, what=f"{name}: 320 dumps")
                even(clients(folder), 320, name)
                harness.stop(procs)
                procs.clear()

            procs.extend(start_agents(topo))
            done = run_campaign(topo, tmp, "foreign", ["-m", "5", "--source", f"{NET}.99"])
            out = done.stdout.decode() + done.stderr.decode()
            check(done.returncode != 0 and f"{NET}.99 is not an address of this host" in out,
                  f"daemon agents with a foreign address: exit {done.returncode} {out}")
    finally:
        harness.stop(procs)
        topo.teardown()
    print("ok")


if __name__ == "__main__":
    main()
