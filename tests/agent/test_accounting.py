"""test_accounting - every message is accounted for, never netted: a
target written for the test (tests/tools/holdrelay.py with a throttle)
takes 5 messages a session, then answers MAIL with "452 4.5.3 Too many
messages sent" in the same write as the last message's 250 (the client
pipelines), and passes what it took to a real sink.

- With -A (go on after unexpected replies), 4 sessions on each of 2
  agents: every message the target took is counted accepted and received
  once, lost is 0, and attempted = accepted + rejected + unfinished, per
  agent and in total (the summary says the same as the JSON).
- Without -A the first 452 aborts each agent (smtp-source's rule), one
  session each: the message accepted in that same read is counted, lost is
  0, and the identity holds with the cut-short transactions unfinished."""

import os
import subprocess
import sys

import harness
from clustertest import check, coordinator, endpoints, start_agent, start_sink

RELAY = os.path.join(os.path.dirname(harness.__file__), "holdrelay.py")
PER_SESSION = 5


def through_throttle(tmp, name, sessions, *workload):
    ctl, snk = endpoints()
    sink_port, relay_port = harness.free_port(), harness.free_port()
    with harness.Procs() as procs:
        start_sink(procs, snk, "sink-1", sink_port)
        relay = procs.start([sys.executable, RELAY, str(relay_port), f"127.0.0.1:{sink_port}", "0",
                             str(PER_SESSION)], stdout=subprocess.PIPE)
        check(relay.stdout.readline().strip() == b"ready", "relay did not start")
        for i in range(2):
            start_agent(procs, ctl, f"a{i + 1}")
        return coordinator(ctl, snk, 2, 1, tmp, name, "-s", str(sessions), "-d", "--pipelining",
                           "--drain-quiet", "2s", *workload, f"127.0.0.1:{relay_port}")


def check_identity(data, name):
    t = data["totals"]
    for who in [t] + data["agents"]:
        check(who["messages_attempted"] == who["messages_accepted"] + who["messages_rejected"]
              + who["messages_unfinished"], f"{name}: attempted is not accepted + rejected + unfinished: {who}")
    check(t["lost"] == 0 and t["received_beyond_accepted"] == 0,
          f"{name}: lost {t['lost']}, beyond {t['received_beyond_accepted']}: {t}")
    check(t["sink_received"] == t["messages_accepted"], f"{name}: {t}")
    for a in data["agents"]:
        check(a["lost"] == 0 and a["sink_received"] == a["messages_accepted"], f"{name}: agent {a}")


def test_throttled_with_no_abort(tmp):
    done, data = through_throttle(tmp, "no-abort", 8, "-A", "-m", "200")
    check(data is not None, "no report")
    check_identity(data, "no-abort")
    t = data["totals"]
    check(t["messages_accepted"] == 8 * PER_SESSION, f"8 sessions x {PER_SESSION} taken: {t}")
    check(t["messages_rejected"] == 200 - 8 * PER_SESSION and t["messages_unfinished"] == 0, f"{t}")
    out = done.stdout.decode()
    check(f"accepted {t['messages_accepted']}  rejected {t['messages_rejected']}  unfinished 0" in out,
          f"the summary's counts are the JSON's:\n{out}")


def test_throttled_abort(tmp):
    done, data = through_throttle(tmp, "abort", 2, "-m", "200")
    check(data is not None, "no report")
    check_identity(data, "abort")
    t = data["totals"]
    check(t["messages_accepted"] == 2 * PER_SESSION, f"each agent's session took {PER_SESSION}: {t}")
    check(done.returncode == 4, f"exit {done.returncode}: the agents aborted on the 452 (target errors)")


def main():
    harness.run_tests([test_throttled_with_no_abort, test_throttled_abort], "accounting-")


if __name__ == "__main__":
    sys.exit(main())
