"""test_prometheus - a real Prometheus (Debian's prometheus, started on
loopback with a config of the test's own, scraping every second) scrapes a
campaign: `smtpstorm run --local 1 --sinks 1 --metrics ... --metrics-linger`
against a smtpstorm-sink that streams its counters to the coordinator and
serves its own --metrics. Passes when a PromQL query over the HTTP API
(/api/v1/query) answers the JSON report's accepted count (and the sink's
own received count the report's sink_received), once the final scrape is in
(polled, never a bare sleep); and when every metric name the Grafana
dashboard (deploy/grafana/smtpstorm.json) uses is in a real scrape of the
coordinator or the sink, and every one of its expressions is valid PromQL
in that Prometheus. Skips (77) without the prometheus
binary (scripts/install-deps installs it)."""

import json
import os
import shutil
import signal
import sys
import time

import harness
from openmetrics import curl, parse
from prometheus import DASHBOARD, check_dashboard, expr_names, for_prometheus, query, wait_ready, wait_targets, wait_value

COORD, SINK = harness.program("smtpstorm"), harness.program("smtpstorm-sink")
PROMETHEUS = os.environ.get("PROMETHEUS", shutil.which("prometheus") or "/usr/bin/prometheus")
MESSAGES = 600
COORD_JOB, SINK_JOB = "smtpstorm-coordinator", "smtpstorm-sinks"


def prometheus_config(path, coordinator, sink):
    with open(path, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n"
                f"  - job_name: {COORD_JOB}\n    static_configs:\n      - targets: ['{coordinator}']\n"
                f"  - job_name: {SINK_JOB}\n    static_configs:\n      - targets: ['{sink}']\n")


def wait_file(path, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the coordinator exited {proc.returncode} without {path}: {err.decode()}")
        time.sleep(0.1)
    raise AssertionError(f"no {path} after {timeout}s")


def test_prometheus_scrapes_a_campaign(tmp):
    coord_m, sink_m, prom_port = harness.free_port(), harness.free_port(), harness.free_port()
    prom = f"http://127.0.0.1:{prom_port}"
    config, report = os.path.join(tmp, "prometheus.yml"), os.path.join(tmp, "report.json")
    prometheus_config(config, f"127.0.0.1:{coord_m}", f"127.0.0.1:{sink_m}")
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    with harness.Procs() as procs:
        server = procs.start([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
                              f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"])
        wait_ready(prom, 60, alive=lambda: server.poll() is None)
        wait_targets(prom, [COORD_JOB, SINK_JOB], 30)
        # picked now: Prometheus' connection attempts took ephemeral ports meanwhile
        ctl, cnt, smtp = harness.free_port(), harness.free_port(), harness.free_port()
        sink = procs.start([SINK] + user + ["--coordinator", f"tcp://127.0.0.1:{cnt}", "--id", "sink-1",
                                            "--metrics", f"127.0.0.1:{sink_m}", f"127.0.0.1:{smtp}", "100"])
        harness.wait_port(smtp, proc=sink)
        coord = procs.start([COORD, "run", "--local", "1", "--sinks", "1", "--bind", f"tcp://127.0.0.1:{ctl}",
                             "--sink-bind", f"tcp://127.0.0.1:{cnt}", "--metrics", f"127.0.0.1:{coord_m}",
                             "--metrics-linger", "60s", "-m", str(MESSAGES), "--rate", "200", "-s", "4",
                             "--json", report, "--wait", "20s", "--quiet", f"127.0.0.1:{smtp}"])
        wait_file(report, coord, 60)
        with open(report) as f:
            data = json.load(f)
        campaign, totals = data["campaign"], data["totals"]
        print(f"campaign {campaign}: accepted {totals['messages_accepted']}, sink_received {totals['sink_received']}")
        harness.check(totals["messages_accepted"] == MESSAGES, f"accepted {totals['messages_accepted']}")

        # the final scrape: Prometheus scrapes every second, the coordinator lingers
        alive = lambda: coord.poll() is None  # noqa: E731
        expr = f'sum(smtpstorm_messages_accepted_total{{job="{COORD_JOB}",campaign="{campaign}"}})'
        got = wait_value(prom, expr, float(totals["messages_accepted"]), 30, alive)
        print(f"PromQL {expr} = {got}")
        harness.check(got == totals["messages_accepted"],
                      f"Prometheus says {got} accepted, the report {totals['messages_accepted']}")
        expr = f'sum(smtpstorm_sink_received_total{{job="{SINK_JOB}",campaign="{campaign}"}})'
        got = wait_value(prom, expr, float(totals["sink_received"]), 30)
        print(f"PromQL {expr} = {got}")
        harness.check(got == totals["sink_received"],
                      f"Prometheus says the sink received {got}, the report {totals['sink_received']}")

        # the dashboard's names against real scrapes, its expressions in this Prometheus
        samples = {}
        for port in (coord_m, sink_m):
            status, _, body = curl(f"http://127.0.0.1:{port}/metrics")
            harness.check(status == 200, f"/metrics on {port} answered {status}")
            samples.update(parse(body)[1])
        harness.check(expr_names('histogram_quantile(0.9, sum by (le, kind) (rate(no_such_total{job=~"$j"}[5s])))')
                      == ({"no_such_total"}, {"le", "kind"}), "expr_names misreads an expression")
        exprs = check_dashboard(os.path.join(harness.SOURCE, DASHBOARD), samples, harness.check)
        # valid PromQL (query raises otherwise); what answers nothing yet is
        # said, not failed: a short campaign's histograms may have one sample
        empty = [e for e in exprs if not query(prom, for_prometheus(e, COORD_JOB, SINK_JOB))]
        print(f"dashboard: every expression valid PromQL; {len(exprs) - len(empty)} of {len(exprs)} answer data"
              + (f"; none yet from {empty}" if empty else ""))

        coord.send_signal(signal.SIGINT)      # ends the linger
        out, err = coord.communicate(timeout=30)
        sys.stdout.write(f"--- coordinator exit {coord.returncode}\n{err.decode()[-2000:]}\n")
        harness.check(coord.returncode == 0, f"the campaign exited {coord.returncode}")
        harness.check(b"final metrics stay" in err, "the linger is not logged")


def main():
    if not os.access(PROMETHEUS, os.X_OK):
        print(f"SKIP: {PROMETHEUS} missing (scripts/install-deps installs Debian's prometheus)")
        sys.exit(harness.SKIP)
    harness.run_tests([test_prometheus_scrapes_a_campaign], "smtpstorm-prometheus-")


if __name__ == "__main__":
    main()
