"""deploy-compose: a campaign across containers. Builds the local Debian 12
base image (scripts/base-image, cached) and the smtpstorm image on it
(deploy/Dockerfile, BASE=localhost/smtpstorm-base:bookworm), makes the CURVE
keys with the image's `init` (smtpstorm keygen; files owned by the image's
user 10001, secret keys 0600), creates the project's internal network on a
/24 of 198.18.0.0/15, starts deploy/compose.yaml with two agents and two sinks
(the keys mounted as secrets, the reports folder mounted), lets the
coordinator run one campaign over CURVE against both sinks, and checks that
every message is accounted for: the coordinator exits 0; in its JSON report
totals.messages_accepted == MESSAGES == totals.sink_received, lost == 0, two
agents and two sinks, each sink received some; the HTML (and CSV) report is
in the mounted folder; every container's address is in 198.18.0.0/15; a
sink's HEALTHCHECK passes. Then it removes what it made, by name: the
project's containers, its network, the state folder.

Skips (77) when podman cannot run containers here, when the Debian mirror
cannot be reached to build the base image, or while the programs' cluster mode
is not built yet. SMTPSTORM_SKIP_DEPLOY=1 skips it on purpose,
DEPLOY_TEST_KEEP=1 keeps a failed run's containers and state for a look.

All traffic stays on an internal podman network on this machine.

The project's network is created here, not by podman-compose: Debian 12's
podman-compose (1.0.3) ignores the compose file's ipam subnet and would put
the containers on 10.89.x.x, outside the agents' allow-list; it uses a network
that already exists under the project's name (deploy/README.md says the
same)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploytest import (BENCH_NET, BUILD, DEPLOY, ULIMITS, base_image, build_image,  # noqa: E402
                        compose_teardown, container_addresses, create_network, ensure_tools, network_subnets,
                        podman_env, run, say, skip)

IMAGE = os.environ.get("SMTPSTORM_IMAGE", "localhost/smtpstorm:deploy-test")
MESSAGES = int(os.environ.get("DEPLOY_TEST_MESSAGES", "2000"))
WAIT, DRAIN = 90, 20
AGENTS, SINKS = 2, 2
PROJECT = f"smtpstorm-test{os.getpid()}"


# what deploy/compose.yaml passes to each program (the design's CLI contract)
NEEDED = {
    ("coordinator", "smtpstorm", "run"): ["--agents", "--sinks", "--bind", "--sink-bind", "--key",
                                          "--authorized-keys", "--wait", "--drain", "--json", "--csv", "--html"],
    ("agent", "smtpstorm-agent", None): ["--coordinator", "--key", "--coordinator-key", "--allow-target"],
    ("sink", "smtpstorm-sink", None): ["--coordinator", "--key", "--coordinator-key"],
}


def cluster_mode_ready():
    """None when the programs this checkout built offer everything the
    compose file uses (the image is built from the same sources), else what
    is missing."""
    missing = []
    for (folder, name, sub), flags in NEEDED.items():
        prog = os.path.join(BUILD, folder, name)
        if not os.access(prog, os.X_OK):
            missing.append(f"{folder}/{name} is not built")
            continue
        h = subprocess.run([prog] + ([sub] if sub else []) + ["--help"], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lacking = [f for f in flags if f not in h.stdout]
        if lacking:
            missing.append(f"`{name}{' ' + sub if sub else ''} --help` lacks {' '.join(lacking)}")
    coord = os.path.join(BUILD, "coordinator", "smtpstorm")
    if os.access(coord, os.X_OK):
        tmp = tempfile.mkdtemp()
        try:
            subprocess.run([coord, "keygen", os.path.join(tmp, "k")], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if not (os.path.exists(os.path.join(tmp, "k.key")) and os.path.exists(os.path.join(tmp, "k.pub"))):
                missing.append("`smtpstorm keygen NAME` does not write NAME.key and NAME.pub")
        finally:
            shutil.rmtree(tmp)
    return "; ".join(missing) or None


def main():
    if os.environ.get("SMTPSTORM_SKIP_DEPLOY") == "1":
        skip("SMTPSTORM_SKIP_DEPLOY=1")
    why = cluster_mode_ready()
    if why:
        skip(f"cluster mode not ready: {why}")
    ensure_tools(["podman", "podman-compose", "debootstrap"])
    env = podman_env()
    t0 = time.time()

    base_image(env)
    t_base = time.time()
    size = build_image(env, IMAGE)
    t_image = time.time()

    state = tempfile.mkdtemp(prefix="smtpstorm-deploy-")
    compose = ["podman-compose", "-p", PROJECT, "-f", os.path.join(DEPLOY, "compose.yaml")]
    network = f"{PROJECT}_mesh"
    # both sinks by their container names: an agent connects to the first
    # address of a name, so `sink:2525` would load one sink only
    target = " ".join(f"{PROJECT}_sink_{i}:2525" for i in range(1, SINKS + 1))
    cenv = dict(env, SMTPSTORM_IMAGE=IMAGE, SMTPSTORM_STATE=state, AGENTS=str(AGENTS), SINKS=str(SINKS),
                MESSAGES=str(MESSAGES), SESSIONS="10", WAIT=str(WAIT), DRAIN=str(DRAIN), REPORT="report",
                TARGET=target)
    cenv.pop("ALLOW_TARGET", None)   # the compose file's default, 198.18.0.0/15
    ok = False
    fails = []
    try:
        # the project's network, in 198.18.0.0/15 (see the docstring)
        subnet = create_network(env, network, labels=[f"io.podman.compose.project={PROJECT}",
                                                      f"com.docker.compose.project={PROJECT}"])
        cenv["SMTPSTORM_SUBNET"] = subnet
        nets = network_subnets(env, network)
        if not nets or not all(n.subnet_of(BENCH_NET) for n in nets):
            raise SystemExit(f"FAIL: network {network} is on {nets}, not inside {BENCH_NET}")

        # the keys (and the reports folder), made by the image: root hands
        # them to the image's user
        run(["podman", "run", "--rm", "--network", "none", "--user", "0"] + ULIMITS +
            ["-v", f"{state}:/state", IMAGE, "init", "/state"], env=env)
        fails += check_keys(state)

        # the campaign, started detached (`up -d` runs the containers one
        # after another; plain `up` leaves `podman start -a` children
        # attached until `down`); the coordinator's exit code is the
        # campaign's (`podman wait`). aardvark-dns 1.4 (Debian 12's podman
        # name server) has left one agent's lookups of the sinks' names
        # unanswered for up to 30 s after the start: the agents look names
        # up on their event loops (c-ares) and the coordinator gives them
        # what is left of --wait (WAIT) to confirm.
        coord = f"{PROJECT}_coordinator_1"
        run(compose + ["up", "-d", "--no-build"], env=cenv, timeout=300)
        wait = run(["podman", "wait", coord], check=False, env=env, timeout=WAIT + DRAIN + 180)
        try:
            rc = int(wait.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            rc = f"unknown ({wait.stdout.strip()})"
        t_run = time.time()
        log = run(["podman", "logs", coord], check=False, env=env).stdout

        for i in range(1, SINKS + 1):
            name = f"{PROJECT}_sink_{i}"
            # a sink is healthy after the campaign (the image's HEALTHCHECK)
            h = run(["podman", "healthcheck", "run", name], check=False, env=env)
            if h.returncode != 0:
                fails.append(f"{name}'s healthcheck failed: {h.stdout.strip()}")
        # the agents and sinks (still running) are on 198.18.0.0/15 only
        for c in [f"agent_{i}" for i in range(1, AGENTS + 1)] + [f"sink_{i}" for i in range(1, SINKS + 1)]:
            addrs = container_addresses(env, f"{PROJECT}_{c}")
            if not addrs or not all(a in BENCH_NET for a in addrs):
                fails.append(f"{PROJECT}_{c}'s addresses {[str(a) for a in addrs]} are not all in {BENCH_NET}")

        reports = os.path.join(state, "reports")
        report_path = os.path.join(reports, "report.json")
        if rc != 0 or not os.path.exists(report_path):
            print(log[-8000:], end="")
            for c in ("agent_1", "sink_1"):
                print(run(["podman", "logs", "--tail", "40", f"{PROJECT}_{c}"], check=False, env=env).stdout)
            raise SystemExit(f"FAIL: the campaign exited {rc}; report "
                             f"{'written' if os.path.exists(report_path) else 'missing'}")
        summary = log[log.find("campaign c-"):] if "campaign c-" in log else ""
        print(summary[:4000], end="")
        with open(report_path) as f:
            report = json.load(f)
        fails += check_report(report, reports)
        if fails:
            raise SystemExit("FAIL: " + "; ".join(fails))
        ok = True
    finally:
        compose_teardown(env, cenv, compose, PROJECT, state, network, keep=not ok and os.environ.get("DEPLOY_TEST_KEEP") == "1")
    t_end = time.time()
    say(f"timings: base image {t_base - t0:.0f}s, image {t_image - t_base:.0f}s, "
        f"compose up to the report {t_run - t_image:.0f}s, teardown {t_end - t_run:.0f}s, "
        f"total {t_end - t0:.0f}s; image size {size / 1e6:.0f} MB")
    print("deploy-compose: every message accounted for")


def check_keys(state):
    """What the programs require of the mounted key files (docs/security.md):
    secret keys owned by the user that runs them (10001), mode 0600; the
    authorized-keys folder writable by nobody else."""
    fails = []
    keys = os.path.join(state, "keys")
    for name in ("coordinator", "agent", "sink"):
        st = os.stat(os.path.join(keys, f"{name}.key"))
        if st.st_uid != 10001 or (st.st_mode & 0o777) != 0o600:
            fails.append(f"keys/{name}.key is uid {st.st_uid} mode {st.st_mode & 0o777:o}, not 10001 0600")
    auth = os.path.join(keys, "authorized")
    if sorted(os.listdir(auth)) != ["agent.pub", "sink.pub"]:
        fails.append(f"keys/authorized holds {sorted(os.listdir(auth))}, not agent.pub sink.pub")
    if os.stat(auth).st_mode & 0o022:
        fails.append("keys/authorized is writable by group or others")
    return fails


def check_report(report, reports):
    """Every message accounted for, in the JSON report; the other reports
    written to the mounted folder."""
    fails = []
    t = report.get("totals", {})
    say("totals:", json.dumps({k: t.get(k) for k in ("messages_attempted", "messages_accepted",
                                                      "sink_received", "lost", "errors", "duplicates")}))
    if t.get("messages_accepted") != MESSAGES:
        fails.append(f"messages_accepted {t.get('messages_accepted')} != {MESSAGES}")
    if t.get("sink_received") != t.get("messages_accepted"):
        fails.append(f"sink_received {t.get('sink_received')} != messages_accepted {t.get('messages_accepted')}")
    if t.get("lost") != 0:
        fails.append(f"lost {t.get('lost')} != 0")
    agents, sinks = report.get("agents", []), report.get("sinks", [])
    if len(agents) != AGENTS:
        fails.append(f"{len(agents)} agents in the report, not {AGENTS}")
    if len(sinks) != SINKS:
        fails.append(f"{len(sinks)} sinks in the report, not {SINKS}")
    if sum(a.get("messages_accepted") or 0 for a in agents) != t.get("messages_accepted"):
        fails.append("the agents' messages_accepted do not add up to the total")
    if sum(s.get("received") or 0 for s in sinks) != t.get("sink_received"):
        fails.append("the sinks' received do not add up to the total")
    if not all((s.get("received") or 0) > 0 for s in sinks):
        fails.append(f"a sink received nothing: {[(s.get('id'), s.get('received')) for s in sinks]}")
    html = os.path.join(reports, "report.html")
    if not os.path.exists(html):
        fails.append("no report.html in the mounted reports folder")
    else:
        with open(html, errors="replace") as f:
            page = f.read()
        if "<html" not in page.lower() or str(report.get("campaign")) not in page:
            fails.append(f"report.html ({len(page)} bytes) is not the campaign's HTML report")
    if not os.path.exists(os.path.join(reports, "report.csv")):
        fails.append("no report.csv in the mounted reports folder")
    say(f"reports: {sorted(os.listdir(reports))}; campaign {report.get('campaign')}")
    return fails


if __name__ == "__main__":
    main()
