"""test_metrics - smtpstorm run --metrics ADDR:PORT, scraped with curl.

During a campaign on simulated agents and a sink (simpeer via --local),
/metrics answers OpenMetrics text: the right content type, well-formed
families (TYPE before samples, each family's samples together, counters
ending _total, histograms with increasing buckets whose +Inf is _count),
ending with # EOF; the campaign's counters grow between scrapes and never
exceed the final JSON report's; the server listens on exactly the address
given (127.0.0.1, not every interface); other paths are 404, POST is 405.
A bad or busy --metrics address is a usage error (2) or a failure (1).
The server answers when its sockets are past select()'s FD_SETSIZE (1024),
as every scrape's is with a thousand agents connected.
"""

import json
import os
import re
import socket
import sys
import time

import harness
from openmetrics import curl, listening_addresses, parse, value

SIM = os.environ.get("SMTPSTORM_SIMPEER", os.path.join(harness.BUILD, "tests", "coordinator", "simpeer"))
COORD = harness.program("smtpstorm")


def labels_without_le(labels):
    return re.sub(r',?le="[^"]*"', "", labels).replace("{,", "{")


def check_histograms(samples):
    buckets = {}
    for (name, labels), v in samples.items():
        if name.endswith("_bucket"):
            le = re.search(r'le="([^"]*)"', labels).group(1)
            buckets.setdefault((name[:-7], labels_without_le(labels)), []).append((float(le), v))
    harness.check(buckets, "no histograms")
    for (family, labels), series in buckets.items():
        series.sort()
        counts = [v for _, v in series]
        harness.check(counts == sorted(counts), f"{family}{labels} buckets decrease: {series}")
        harness.check(series[-1][0] == float("inf") and series[-1][1] == samples[(family + "_count", labels)],
                      f"{family}{labels}: +Inf bucket is not _count")


def test_scrapes_during_a_campaign(tmp):
    port = harness.free_port()
    env = dict(os.environ, SMTPSTORM_AGENT_PROGRAM=f"{SIM} --role agent --reject-every 40",
               SMTPSTORM_SINK_PROGRAM=f"{SIM} --role sink")
    report = os.path.join(tmp, "metrics.json")
    url = f"http://127.0.0.1:{port}/metrics"
    with harness.Procs() as procs:
        coord = procs.start([COORD, "run", "--local", "2", "--rate", "300", "--duration", "5s", "-s", "4",
                             "--metrics", f"127.0.0.1:{port}", "--json", report, "--wait", "20s"], env=env)
        harness.wait_port(port, proc=coord)
        harness.check(listening_addresses(port) == ["0100007F"],
                      f"--metrics 127.0.0.1 listens on {listening_addresses(port)}, wanted 127.0.0.1 only")
        scrapes = []
        deadline = time.monotonic() + 30
        while coord.poll() is None and time.monotonic() < deadline:
            try:
                status, ctype, body = curl(url)
            except AssertionError:
                break                       # the campaign ended between poll and curl
            harness.check(status == 200, f"/metrics answered {status}")
            harness.check(ctype.startswith("application/openmetrics-text"), f"content type {ctype}")
            types, samples = parse(body)
            if "smtpstorm_messages_accepted" in types:     # the campaign has begun
                scrapes.append((types, samples))
            if len(scrapes) == 2:
                status, _, _ = curl(f"http://127.0.0.1:{port}/other")
                harness.check(status == 404, f"/other answered {status}")
                status, _, _ = curl(url, "-X", "POST", "-d", "x=1")
                harness.check(status == 405, f"POST answered {status}")
            time.sleep(0.7)
        out, err = coord.communicate(timeout=60)
        sys.stdout.write(f"--- exit {coord.returncode}\n{out.decode()}{err.decode()}\n")
    harness.check(coord.returncode == 4, f"rejections without thresholds exit 4, got {coord.returncode}")
    harness.check(b"metrics at http://127.0.0.1:" in err, "the address is logged")
    harness.check(len(scrapes) >= 3, f"only {len(scrapes)} scrapes saw the campaign")
    with open(report) as f:
        data = json.load(f)
    campaign = data["campaign"]
    (_, first), (types, last) = scrapes[0], scrapes[-1]
    for family, kind in (("smtpstorm_messages_accepted", "counter"), ("smtpstorm_latency_seconds", "histogram"),
                         ("smtpstorm_replies", "counter"), ("smtpstorm_errors", "counter"),
                         ("smtpstorm_sessions_active", "gauge"), ("smtpstorm_delivery_latency_seconds", "histogram"),
                         ("smtpstorm_sink_received", "counter"), ("smtpstorm_agent_up", "gauge")):
        harness.check(types.get(family) == kind, f"family {family} is {types.get(family)}, wanted {kind}")
    check_histograms(last)
    a0 = value(first, "smtpstorm_messages_accepted_total", campaign=campaign)
    a1 = value(last, "smtpstorm_messages_accepted_total", campaign=campaign)
    print(f"{len(scrapes)} scrapes during the campaign: accepted {a0:.0f} -> {a1:.0f} of "
          f"{data['totals']['messages_accepted']}")
    harness.check(0 <= a0 < a1 <= data["totals"]["messages_accepted"], f"accepted {a0} -> {a1}, final "
                  f"{data['totals']['messages_accepted']}")
    harness.check(value(last, "smtpstorm_replies_total", campaign=campaign, code="550")
                  <= data["replies"]["550"], "550 replies")
    harness.check(value(last, "smtpstorm_peers", role="agent") == 2, "two agents connected")
    running = [smp for _, smp in scrapes if value(smp, "smtpstorm_campaign_running", campaign=campaign) == 1
               and value(smp, "smtpstorm_messages_accepted_total", campaign=campaign) > 0]
    harness.check(running and all(value(smp, "smtpstorm_sessions_active", campaign=campaign) == 4
                                  for smp in running[:-1]), "four sessions open while running")
    harness.check(value(last, "smtpstorm_latency_seconds_count", campaign=campaign, phase="message") == a1,
                  "one message latency per accepted message")
    harness.check(value(last, "smtpstorm_agent_up", agent="local-a1") == 1, "agent up")


def test_bad_and_busy_addresses(tmp):
    done = harness.run([COORD, "run", "--local", "1", "--metrics", "localhost"], timeout=20)
    harness.check(done.returncode == 2 and b"ADDR:PORT" in done.stderr, f"bad address: {done.stderr!r}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = dict(os.environ, SMTPSTORM_AGENT_PROGRAM=f"{SIM} --role agent",
                   SMTPSTORM_SINK_PROGRAM=f"{SIM} --role sink")
        done = harness.run([COORD, "run", "--local", "1", "--metrics", f"127.0.0.1:{port}"], timeout=20, env=env)
        harness.check(done.returncode == 1 and b"cannot listen" in done.stderr, f"busy port: {done.stderr!r}")


def test_scrapes_past_fd_setsize(tmp):
    """The coordinator starts holding 1100 descriptors (inherited), as it
    does with a thousand agents connected: its server's sockets are all
    numbered past 1024."""
    port = harness.free_port()
    env = dict(os.environ, SMTPSTORM_AGENT_PROGRAM=f"{SIM} --role agent",
               SMTPSTORM_SINK_PROGRAM=f"{SIM} --role sink")
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with harness.Procs() as procs:
            coord = procs.start([COORD, "run", "--local", "1", "--rate", "100", "--duration", "3s",
                                 "--metrics", f"127.0.0.1:{port}", "--wait", "20s"], env=env, pass_fds=held)
            for fd in held:
                os.close(fd)
            held = []
            harness.wait_port(port, proc=coord)
            for _ in range(3):
                status, _, body = curl(f"http://127.0.0.1:{port}/metrics")
                harness.check(status == 200 and body.endswith("# EOF\n"), f"scrape past FD_SETSIZE: {status}")
    finally:
        for fd in held:
            os.close(fd)


def main():
    harness.check(os.access(SIM, os.X_OK), f"{SIM} not built")
    harness.run_tests([test_scrapes_during_a_campaign, test_bad_and_busy_addresses, test_scrapes_past_fd_setsize],
                      "smtpstorm-metrics-")


if __name__ == "__main__":
    main()
