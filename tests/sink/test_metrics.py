"""test_metrics - smtpstorm-sink --metrics ADDR:PORT, scraped with curl.

A sink without --coordinator serves OpenMetrics text at /metrics on exactly
the address given (127.0.0.1, not every interface): the right content type,
TYPE before each family's samples, counters ending _total, ending with
# EOF. While smtpstorm-agent sends a campaign (X-Smtpstorm-Trace headers)
the message counter only grows; once the mail is in, the counters equal
what was sent: messages, sessions, connections, QUITs, the campaign's
received (and no duplicates), Postfix's smtp-source's untraced messages,
and the delivery histogram's buckets grow to +Inf = _count = received.
A bad --metrics value is a usage error (1), a busy port a failure (1).
"""

import json
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from openmetrics import curl, listening_addresses, parse, value  # noqa: E402
from sinkutil import SINK, USER  # noqa: E402

AGENT = harness.program("smtpstorm-agent")
CAMPAIGN = "metrics-c1"


def scrape(url):
    status, ctype, body = curl(url)
    harness.check(status == 200, f"/metrics answered {status}")
    harness.check(ctype.startswith("application/openmetrics-text"), f"content type {ctype}")
    return parse(body)


def histogram(samples, family, **labels):
    """[(le, cumulative count)] of one histogram, sorted by le."""
    series = []
    for (name, lab), v in samples.items():
        if name == family + "_bucket" and all(f'{k}="{w}"' in lab for k, w in labels.items()):
            series.append((float(re.search(r'le="([^"]*)"', lab).group(1)), v))
    return sorted(series)


def no_sanitizer_report(what, text):
    harness.check("Sanitizer" not in text and "runtime error:" not in text, f"{what}: sanitizer report:\n{text}")


def smtp_source(port, messages):
    """Send messages untraced mail with Postfix's smtp-source (one session each);
    returns how many were sent (0 when Postfix's tools are not fetched)."""
    path = os.path.join(harness.POSTFIX_ROOT, "usr", "sbin", "smtp-source")
    if not os.access(path, os.X_OK):
        print(f"note: {path} missing, no untraced mail sent")
        return 0
    argv, env = harness.postfix_tool("smtp-source")
    done = harness.run([argv, "-m", str(messages), "-s", "3", f"127.0.0.1:{port}"], timeout=60, env=env)
    harness.check(done.returncode == 0, f"smtp-source: {done.stderr!r}")
    return messages


def test_scrapes_during_and_after(tmp):
    port, mport = harness.free_port(), harness.free_port()
    url = f"http://127.0.0.1:{mport}/metrics"
    report = os.path.join(tmp, "agent.json")
    with harness.Procs() as procs:
        sink = procs.start([SINK] + USER + ["--id", "sink-m", "--metrics", f"127.0.0.1:{mport}",
                                            f"127.0.0.1:{port}", "100"])
        # The SMTP port listens before the metrics one does; no probe of it,
        # which would count as a session.
        harness.wait_port(mport, proc=sink)
        harness.check(listening_addresses(mport) == ["0100007F"],
                      f"--metrics 127.0.0.1 listens on {listening_addresses(mport)}, wanted 127.0.0.1 only")
        _, first = scrape(url)
        harness.check(value(first, "smtpstorm_sink_messages_total", sink="sink-m") == 0, "no mail yet")
        status, _, _ = curl(f"http://127.0.0.1:{mport}/other")
        harness.check(status == 404, f"/other answered {status}")

        agent = procs.start([AGENT, "--campaign-id", CAMPAIGN, "--id", "a1", "--rate", "150", "--duration", "3",
                             "-s", "4", "--quiet", "--json", report, f"127.0.0.1:{port}"])
        during = []
        while agent.poll() is None:
            during.append(value(scrape(url)[1], "smtpstorm_sink_messages_total", sink="sink-m"))
            time.sleep(0.4)
        out, err = agent.communicate(timeout=30)
        no_sanitizer_report("agent", err.decode())
        harness.check(agent.returncode == 0, f"agent exited {agent.returncode}: {err.decode()}")
        with open(report) as f:
            totals = json.load(f)["totals"]
        sent, sessions = totals["messages_accepted"], totals["sessions"]
        harness.check(sent > 100, f"the agent sent only {sent}")
        untraced = smtp_source(port, 20)

        final = {}

        def settled():
            final["types"], final["samples"] = scrape(url)
            return (value(final["samples"], "smtpstorm_sink_messages_total", sink="sink-m") == sent + untraced
                    and value(final["samples"], "smtpstorm_sink_sessions_active", sink="sink-m") == 0)
        harness.wait_for(settled, timeout=5, what="the messages counter to reach what was sent, no session open")
        types, last = final["types"], final["samples"]

        print(f"{len(during)} scrapes while sending: messages {during}; sent {sent} traced + {untraced} untraced")
        harness.check(during == sorted(during), f"the messages counter went down: {during}")
        harness.check(any(0 < m < sent for m in during), f"no scrape saw the campaign under way: {during}")
        for family, kind in (("smtpstorm_sink_messages", "counter"), ("smtpstorm_sink_sessions", "counter"),
                             ("smtpstorm_sink_sessions_active", "gauge"), ("smtpstorm_sink_received", "counter"),
                             ("smtpstorm_sink_duplicates", "counter"), ("smtpstorm_sink_untraced", "counter"),
                             ("smtpstorm_delivery_latency_seconds", "histogram"),
                             ("smtpstorm_sink_received_bytes", "counter"), ("smtpstorm_sink_connections", "counter")):
            harness.check(types.get(family) == kind, f"family {family} is {types.get(family)}, wanted {kind}")
        ended = sessions + untraced
        got = value(last, "smtpstorm_sink_sessions_total", sink="sink-m")
        harness.check(got == ended, f"sessions: {got}, sent {sessions} + {untraced}")
        got = value(last, "smtpstorm_sink_connections_total", sink="sink-m")
        harness.check(got == ended, f"connections: {got}, sent {sessions} + {untraced}")
        got = value(last, "smtpstorm_sink_quits_total", sink="sink-m")
        harness.check(got == ended, f"QUITs: {got}, sent {sessions} + {untraced}")
        harness.check(value(last, "smtpstorm_sink_sessions_active", sink="sink-m") == 0, "sessions open")
        harness.check(value(last, "smtpstorm_sink_untraced_total", sink="sink-m") == untraced, "untraced")
        harness.check(value(last, "smtpstorm_sink_received_bytes_total", sink="sink-m") > 0, "bytes")
        received = value(last, "smtpstorm_sink_received_total", sink="sink-m", campaign=CAMPAIGN)
        harness.check(received == sent, f"campaign received {received}, sent {sent}")
        harness.check(value(last, "smtpstorm_sink_duplicates_total", sink="sink-m", campaign=CAMPAIGN) == 0,
                      "duplicates")
        series = histogram(last, "smtpstorm_delivery_latency_seconds", campaign=CAMPAIGN)
        counts = [v for _, v in series]
        harness.check(len(series) > 2 and counts == sorted(counts), f"buckets decrease: {series}")
        count = value(last, "smtpstorm_delivery_latency_seconds_count", campaign=CAMPAIGN)
        harness.check(series[-1] == (float("inf"), count) and count == received,
                      f"+Inf {series[-1]}, _count {count}, received {received}")
        harness.check(value(last, "smtpstorm_delivery_latency_seconds_sum", campaign=CAMPAIGN) > 0, "_sum")

        sink.send_signal(signal.SIGTERM)
        _, err = sink.communicate(timeout=10)
    err = err.decode()
    sys.stdout.write(err)
    no_sanitizer_report("sink", err)
    harness.check(sink.returncode == 0, f"the sink exited {sink.returncode}")
    harness.check(f"metrics at http://127.0.0.1:{mport}/metrics" in err, "the address is logged")


def test_bad_and_busy_addresses(tmp):
    port = harness.free_port()
    for bad in ("localhost", "127.0.0.1", "127.0.0.1:65536", "[::1:9464", ""):
        done = harness.run([SINK] + USER + ["--metrics", bad, f"127.0.0.1:{port}", "10"], timeout=20)
        err = done.stderr.decode()
        no_sanitizer_report(f"--metrics {bad!r}", err)
        harness.check(done.returncode == 1 and "ADDR:PORT" in err and "usage:" in err,
                      f"--metrics {bad!r}: exit {done.returncode}: {err!r}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        bport = busy.getsockname()[1]
        done = harness.run([SINK] + USER + ["--metrics", f"127.0.0.1:{bport}", f"127.0.0.1:{port}", "10"],
                           timeout=20)
    err = done.stderr.decode()
    no_sanitizer_report("busy port", err)
    harness.check(done.returncode == 1 and "cannot listen" in err and "fatal" in err,
                  f"busy port: exit {done.returncode}: {err!r}")


def main():
    harness.check(os.access(AGENT, os.X_OK), f"{AGENT} not built")
    harness.run_tests([test_scrapes_during_and_after, test_bad_and_busy_addresses], "smtpstorm-sink-metrics-")


if __name__ == "__main__":
    main()
