"""STARTTLS into smtpstorm-sink (issue 19): the starttls latency phase,
--tls-resume (the agent offers the session the sink's last ticket gave,
and the sink resumes it: both count it), and no stall after the
handshake. The stall this pins: the sink wrote TLS 1.3's tickets, then
its reply to the client's EHLO, and Nagle held the reply for the agent's
delayed ACK of the tickets: 44 ms a session (44 msg/s on one session,
helo p90 44 ms); healthy, a session takes about a millisecond."""

import os
import re
import sys
import tempfile
import urllib.request

import harness
from agenttest import run_agent_json

SESSIONS = 40
STALL_MS = 20.0     # a stalled session's message took 44-48 ms; healthy about 1 ms


def sink_tls_counts(metrics_port):
    """The sink's (handshakes ok, resumed) from its /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    ok = re.search(r'^smtpstorm_sink_tls_handshakes_total\{[^}]*result="ok"\} (\d+)$', text, re.M)
    resumed = re.search(r'^smtpstorm_sink_tls_resumed_total\{[^}]*\} (\d+)$', text, re.M)
    harness.check(ok and resumed, f"no TLS counters in the sink's metrics:\n{text}")
    return int(ok.group(1)), int(resumed.group(1))


def check_sessions(name, argv, resumed):
    """SESSIONS one-message sessions over STARTTLS: each with a handshake
    and a starttls latency, resumed as many as expected, no stall."""
    proc, rep = run_agent_json(argv)
    harness.check(proc.returncode == 0 and rep is not None, f"{name}: {proc.stderr}")
    t = rep["totals"]
    harness.check(t["messages_accepted"] == SESSIONS and t["tls_handshakes"] == SESSIONS,
                  f"{name}: {t}")
    harness.check(t["tls_resumed"] == resumed, f"{name}: resumed {t['tls_resumed']}, want {resumed}")
    tls = rep["latency_ms"]["starttls"]
    harness.check(tls is not None and tls["count"] == SESSIONS, f"{name}: starttls {tls}")
    msg = rep["latency_ms"]["message"]
    harness.check(msg["p50"] < STALL_MS and rep["latency_ms"]["helo"]["p90"] < STALL_MS,
                  f"{name}: a stall after the handshake: message p50 {msg['p50']} ms, "
                  f"helo p90 {rep['latency_ms']['helo']['p90']} ms")
    harness.check(f"tls: {SESSIONS} handshakes, {resumed} resumed" in proc.stdout, f"{name}: {proc.stdout}")


def main():
    sink = harness.program("smtpstorm-sink")
    if not os.access(sink, os.X_OK):
        print("skip: smtpstorm-sink not built", file=sys.stderr)
        return harness.SKIP
    with harness.Procs() as procs, tempfile.TemporaryDirectory(prefix="smtpstorm-tls-") as tmp:
        cert, key = harness.make_cert(tmp)
        port, mport = harness.free_port(), harness.free_port()
        root = ["-u", "nobody"] if os.geteuid() == 0 else []
        p = procs.start([sink] + root + ["--tls-cert", cert, "--tls-key", key, "--metrics", f"127.0.0.1:{mport}",
                                        f"127.0.0.1:{port}", "10"])
        harness.wait_port(port, proc=p)
        target = f"127.0.0.1:{port}"
        check_sessions("full handshakes", ["-s", "1", "-m", str(SESSIONS), "--starttls", target], 0)
        # One loop, one session at a time: each offers the last ticket.
        check_sessions("resumed", ["-s", "1", "-m", str(SESSIONS), "--starttls", "--tls-resume", target],
                       SESSIONS - 1)
        harness.wait_for(lambda: sink_tls_counts(mport)[0] == 2 * SESSIONS, timeout=10,
                         what="the sink's handshake count")
        harness.check(sink_tls_counts(mport) == (2 * SESSIONS, SESSIONS - 1),
                      f"the sink counted {sink_tls_counts(mport)}, want {(2 * SESSIONS, SESSIONS - 1)}")
        # In a campaign: the report's totals and summary.
        report = os.path.join(tmp, "campaign.json")
        done, data = harness.run_campaign(
            [harness.program("smtpstorm"), "run", "--local", "1", "-s", "1", "-m", "20", "--starttls",
             "--tls-resume", "--json", report, target], report, "campaign with --tls-resume")
        harness.check(done.returncode == 0, f"campaign: exit {done.returncode}")
        t = data["totals"]
        harness.check(t["tls_handshakes"] == 20 and t["tls_resumed"] == 19, f"campaign totals: {t}")
        harness.check(data["latency_ms"]["starttls"]["count"] == 20, f"campaign: {data['latency_ms']['starttls']}")
        harness.check("tls handshakes 20  resumed 19" in done.stdout.decode(), "no tls line in the summary")
        # --tls-resume without --starttls is a usage error in both programs.
        r = harness.run([harness.program("smtpstorm-agent"), "--tls-resume", "-m", "1", target], timeout=30, text=True)
        harness.check(r.returncode != 0 and "--tls-resume needs --starttls" in r.stderr, f"agent: {r.stderr}")
        r = harness.run([harness.program("smtpstorm"), "run", "--local", "1", "--tls-resume", target], timeout=30, text=True)
        harness.check(r.returncode == 2 and "--tls-resume needs --starttls" in r.stderr, f"run: {r.stderr}")
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
