"""clustertest - what the cluster tests with the real programs share:
smtpstorm-agent daemons and smtpstorm-sink with --coordinator started as
separate processes (before the coordinator), a sink's live message count
(its -c output, read by a thread), one campaign run to its JSON report,
and the reconciliation checks."""

import os
import time

import harness

AGENT = harness.program("smtpstorm-agent")
SINK = harness.program("smtpstorm-sink")
COORD = harness.program("smtpstorm")
USER = ["-u", "nobody"] if os.geteuid() == 0 else []
check = harness.check


def endpoints(host="127.0.0.1"):
    return f"tcp://{host}:{harness.free_port()}", f"tcp://{host}:{harness.free_port()}"


SinkCount = harness.SinkCount


def start_sink(procs, snk, ident, port, *extra, prefix=(), host="127.0.0.1", count=False):
    """A real sink on host:port streaming to snk; returns (proc, SinkCount or None)."""
    argv = [*prefix, SINK, *USER, *(["-c"] if count else []), "--coordinator", snk, "--id", ident,
            *extra, f"{host}:{port}", "256"]
    p = procs.start(argv)
    counter = SinkCount(p) if count else None
    if not prefix:
        harness.wait_port(port, host=host, proc=p)
    return p, counter


def start_agent(procs, ctl, ident, *extra, prefix=(), env=None):
    return procs.start([*prefix, AGENT, "--coordinator", ctl, "--id", ident, *extra], env=env)


def coordinator(ctl, snk, agents, sinks, tmp, name, *workload, wait="20s", prefix=(), timeout=120):
    """Run one campaign; returns (CompletedProcess, report dict or None)."""
    report = os.path.join(tmp, name + ".json")
    argv = [*prefix, COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", str(agents),
            "--sinks", str(sinks), "--wait", wait, "--drain", "10s", "--json", report, *workload]
    return harness.run_campaign(argv, report, name, timeout=timeout)


def check_reconciled(data, messages=None):
    """Every accepted message received once, in total and per agent."""
    t = data["totals"]
    if messages is not None:
        check(t["messages_accepted"] == messages, f"accepted {t['messages_accepted']}, wanted {messages}")
    check(t["messages_accepted"] > 0, "nothing accepted")
    check(t["sink_received"] == t["messages_accepted"],
          f"sinks received {t['sink_received']}, accepted {t['messages_accepted']}")
    check(t["lost"] == 0 and t["duplicates"] == 0, f"lost {t['lost']} duplicates {t['duplicates']}")
    check(t["errors"] == 0, f"errors {t['errors']}")
    for a in data["agents"]:
        check(a["messages_accepted"] == a["sink_received"], f"agent {a['id']} does not reconcile: {a}")
        if messages is not None:
            check(a["messages_accepted"] == a["messages_planned"], f"agent {a['id']} short of its plan: {a}")
    check(sum(s["received"] for s in data["sinks"]) == t["messages_accepted"], "sinks' lines do not add up")
    d = data["latency_ms"].get("delivery")
    check(d is not None and d["count"] == t["messages_accepted"], f"delivery latency: {d}")
    check(0 <= d["p50"] <= d["p99"] <= d["max"] < 10000, f"delivery latency implausible: {d}")


def wait_still(counter, quiet_s, timeout):
    """Wait until counter.messages has not moved for quiet_s seconds; returns
    (time it last moved, value). Fails after timeout."""
    deadline = time.monotonic() + timeout
    last, moved = counter.messages, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = counter.messages
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved >= quiet_s:
            return moved, last
    raise AssertionError(f"the sink's count still moves after {timeout} s (at {last})")
