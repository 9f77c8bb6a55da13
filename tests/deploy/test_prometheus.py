"""deploy-prometheus: the compose profile with a real Prometheus
(deploy/compose.yaml + deploy/compose.prometheus.yaml). Checks first,
without containers, that the profile's coordinator and sink commands are
compose.yaml's with only --metrics (and --metrics-linger) added, and that
podman-compose parses the two files. Then builds the base image (cached),
the smtpstorm image and the Prometheus image (deploy/prometheus/, Debian's
prometheus on the base image) under tags of its own, makes the keys with
the image's `init`, creates the project's internal network on a /24 of
198.18.0.0/15, and runs one campaign (two agents, two sinks, CURVE) while
Prometheus scrapes the coordinator and both sinks. Passes when the
coordinator exits 0 and a PromQL query over Prometheus' HTTP API
(/api/v1/query, asked with curl inside the Prometheus container: the
network is internal) answers the JSON report's accepted count, the sinks'
own /metrics (the sink job) add up to its sink_received with one series a
sink, and every Grafana dashboard expression is valid PromQL there.

Removes what it made by its project name: containers, network, state
folder. Skips (77) as deploy-compose does (no podman, no base image, no
cluster mode); SMTPSTORM_SKIP_DEPLOY=1 skips it, DEPLOY_TEST_KEEP=1 keeps a
failed run's containers."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploytest import (BASE_IMAGE, BENCH_NET, DEPLOY, SOURCE, ULIMITS, base_image, build_image,  # noqa: E402
                        compose_teardown, container_addresses, create_network, debian_mirror, ensure_tools,
                        podman_env, run, say, skip)
from prometheus import DASHBOARD, dashboard_exprs, for_prometheus  # noqa: E402
from test_compose import check_keys, cluster_mode_ready  # noqa: E402

IMAGE = os.environ.get("SMTPSTORM_PROM_TEST_IMAGE", "localhost/smtpstorm:prom-test")
PROM_IMAGE = os.environ.get("SMTPSTORM_PROM_TEST_PROMETHEUS_IMAGE", "localhost/smtpstorm-prometheus:prom-test")
MESSAGES = int(os.environ.get("DEPLOY_TEST_MESSAGES", "2000"))
AGENTS, SINKS, WAIT, DRAIN = 2, 2, 90, 20
PROJECT = f"smtpstorm-prom{os.getpid()}"
COORD_JOB, SINK_JOB = "smtpstorm-coordinator", "smtpstorm-sinks"
FILES = [os.path.join(DEPLOY, "compose.yaml"), os.path.join(DEPLOY, "compose.prometheus.yaml")]


def check_profile():
    """The profile's commands are compose.yaml's plus --metrics only."""
    import yaml
    with open(FILES[0]) as f:
        base = yaml.safe_load(f)
    with open(FILES[1]) as f:
        prof = yaml.safe_load(f)
    added = {"coordinator": "--metrics 0.0.0.0:9464 --metrics-linger ${METRICS_LINGER:-20s}",
             "sink": "--metrics 0.0.0.0:9464"}
    for name, extra in added.items():
        words, more = prof["services"][name]["command"].split(), extra.split()
        at = next((i for i in range(len(words)) if words[i:i + len(more)] == more), None)
        if at is None or words[:at] + words[at + len(more):] != base["services"][name]["command"].split():
            raise SystemExit(f"FAIL: compose.prometheus.yaml's {name} command is not compose.yaml's "
                             f"with {extra!r} added")
    if "prometheus" not in prof["services"]:
        raise SystemExit("FAIL: compose.prometheus.yaml has no prometheus service")


def build_prometheus(env):
    argv = ["podman", "build", "--format", "docker", "-f", os.path.join(DEPLOY, "prometheus", "Containerfile"),
            "--ignorefile", os.path.join(DEPLOY, "Dockerfile.dockerignore")] + ULIMITS + \
           ["--build-arg", f"BASE={BASE_IMAGE}"]
    for arg, value in (("DEBIAN_MIRROR", debian_mirror()), ("DEBIAN_SECURITY_MIRROR", debian_mirror(True))):
        if value:
            argv += ["--build-arg", f"{arg}={value}"]
    p = run(argv + ["-t", PROM_IMAGE, SOURCE], check=False, env=env, timeout=1200)
    if p.returncode != 0:
        print(p.stdout[-6000:], end="")
        raise SystemExit("FAIL: the Prometheus image did not build")


def promql(env, container, expr):
    """An instant query over Prometheus' HTTP API, from inside its container."""
    url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    p = subprocess.run(["podman", "exec", container, "curl", "-sS", "--max-time", "5", url], env=env,
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    try:
        answer = json.loads(p.stdout)
    except ValueError:
        return None, f"curl: {p.stdout.strip()[-300:]}"
    if answer.get("status") != "success":
        return None, f"{answer.get('errorType')}: {answer.get('error')}"
    return answer["data"]["result"], None


def wait_for_file(path, container, env, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        state = run(["podman", "inspect", "--format", "{{.State.Status}}", container], check=False, env=env).stdout
        if state.strip() in ("exited", "stopped"):
            return os.path.exists(path)
        time.sleep(1)
    return False


def main():
    if os.environ.get("SMTPSTORM_SKIP_DEPLOY") == "1":
        skip("SMTPSTORM_SKIP_DEPLOY=1")
    check_profile()
    why = cluster_mode_ready()
    if why:
        skip(f"cluster mode not ready: {why}")
    ensure_tools(["podman", "podman-compose", "debootstrap"])
    env = podman_env()
    base_image(env)
    build_image(env, IMAGE)
    build_prometheus(env)

    state = tempfile.mkdtemp(prefix="smtpstorm-prom-")
    compose = ["podman-compose", "-p", PROJECT] + sum((["-f", f] for f in FILES), [])
    network = f"{PROJECT}_mesh"
    target = " ".join(f"{PROJECT}_sink_{i}:2525" for i in range(1, SINKS + 1))
    cenv = dict(env, SMTPSTORM_IMAGE=IMAGE, SMTPSTORM_PROMETHEUS_IMAGE=PROM_IMAGE, SMTPSTORM_STATE=state,
                AGENTS=str(AGENTS), SINKS=str(SINKS), MESSAGES=str(MESSAGES), SESSIONS="10", WAIT=str(WAIT),
                DRAIN=str(DRAIN), REPORT="report", TARGET=target, METRICS_LINGER="60s",
                CAMPAIGN_ARGS="--rate 400")
    cenv.pop("ALLOW_TARGET", None)
    coord, prom = f"{PROJECT}_coordinator_1", f"{PROJECT}_prometheus_1"
    ok = False
    try:
        create_network(env, network, labels=[f"io.podman.compose.project={PROJECT}",
                                             f"com.docker.compose.project={PROJECT}"])
        run(["podman", "run", "--rm", "--network", "none", "--user", "0"] + ULIMITS +
            ["-v", f"{state}:/state", IMAGE, "init", "/state"], env=env)
        fails = check_keys(state)
        # podman-compose parses the two files (after the network is made: even
        # a dry run creates a missing one, on 10.89.x.x)
        p = run(compose + ["--dry-run", "up", "--no-build", "-d"], check=False, env=cenv)
        runs = {ln.split("--name=")[1].split()[0]: ln for ln in p.stdout.splitlines()
                if ln.startswith("podman run ") and "--name=" in ln}
        scraped = [f"{PROJECT}_coordinator_1"] + [f"{PROJECT}_sink_{i}" for i in range(1, SINKS + 1)]
        if p.returncode != 0 or f"{PROJECT}_prometheus_1" not in runs or \
                not all("--metrics 0.0.0.0:9464" in runs.get(name, "") for name in scraped):
            print(p.stdout[-3000:])
            raise SystemExit("FAIL: podman-compose does not run compose.yaml + compose.prometheus.yaml "
                             "with --metrics on the coordinator and every sink")
        run(compose + ["up", "-d", "--no-build"], env=cenv, timeout=300)
        report_path = os.path.join(state, "reports", "report.json")
        if not wait_for_file(report_path, coord, env, WAIT + DRAIN + 180):
            print(run(["podman", "logs", coord], check=False, env=env).stdout[-6000:])
            raise SystemExit("FAIL: no report from the coordinator")
        with open(report_path) as f:            # written whole, then renamed (lib/report_file)
            report = json.load(f)
        campaign, totals = report["campaign"], report["totals"]
        say(f"campaign {campaign}: accepted {totals['messages_accepted']}, sink_received {totals['sink_received']}")

        # the final scrape: every 2 s, while the coordinator lingers (last_over_time:
        # the series go stale once the coordinator has exited)
        accepted = (f'last_over_time(smtpstorm_messages_accepted_total{{job="{COORD_JOB}",'
                    f'campaign="{campaign}"}}[15m])')
        received = f'sum(last_over_time(smtpstorm_sink_received_total{{job="{SINK_JOB}",campaign="{campaign}"}}[15m]))'
        sinks = f'count(last_over_time(smtpstorm_sink_received_total{{job="{SINK_JOB}",campaign="{campaign}"}}[15m]))'
        got = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for name, expr in (("accepted", accepted), ("received", received), ("sinks", sinks)):
                result, err = promql(env, prom, expr)
                got[name] = float(result[0]["value"][1]) if result else err
            if got == {"accepted": totals["messages_accepted"], "received": totals["sink_received"],
                       "sinks": SINKS}:
                break
            time.sleep(1)
        say(f"PromQL: {got}")
        if got.get("accepted") != totals["messages_accepted"]:
            fails.append(f"PromQL {accepted} = {got.get('accepted')}, the report {totals['messages_accepted']}")
        if got.get("received") != totals["sink_received"] or got.get("sinks") != SINKS:
            fails.append(f"the sinks' own metrics say {got.get('received')} from {got.get('sinks')} sinks, "
                         f"the report {totals['sink_received']} from {SINKS}")
        if totals["messages_accepted"] != MESSAGES or totals.get("lost") != 0:
            fails.append(f"the campaign: accepted {totals['messages_accepted']} of {MESSAGES}, lost {totals.get('lost')}")
        with open(os.path.join(SOURCE, DASHBOARD)) as f:
            exprs = dashboard_exprs(json.load(f))
        bad = [(e, err) for e in exprs for _, err in [promql(env, prom, for_prometheus(e, COORD_JOB, SINK_JOB))]
               if err]
        if bad:
            fails.append(f"dashboard expressions Prometheus refuses: {bad}")
        addrs = container_addresses(env, prom)
        if not addrs or not all(a in BENCH_NET for a in addrs):
            fails.append(f"prometheus' addresses {addrs} are not all in {BENCH_NET}")
        run(["podman", "stop", "-t", "2", coord], check=False, env=env)   # ends the linger
        rc = run(["podman", "wait", coord], check=False, env=env).stdout.strip().splitlines()[-1:]
        if rc != ["0"]:
            fails.append(f"the coordinator exited {rc}")
        if fails:
            print(run(["podman", "logs", "--tail", "30", prom], check=False, env=env).stdout)
            raise SystemExit("FAIL: " + "; ".join(fails))
        ok = True
    finally:
        compose_teardown(env, cenv, compose, PROJECT, state, network, keep=not ok and os.environ.get("DEPLOY_TEST_KEEP") == "1")
    print("deploy-prometheus: Prometheus scraped the campaign's accepted count")


if __name__ == "__main__":
    main()
