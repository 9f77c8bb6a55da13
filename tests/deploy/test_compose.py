"""deploy-compose: a campaign across containers. Builds the local Debian 12
base image (scripts/base-image, cached) and the smtpstorm image on it
(deploy/Dockerfile, BASE=localhost/smtpstorm-base:bookworm), makes the CURVE
keys with the image's `init`, starts deploy/compose.yaml with two agents and
two sinks, lets the coordinator run one campaign, and checks that every
message is accounted for: exit code 0, and in the JSON report
totals.messages_accepted == MESSAGES == totals.sink_received, lost == 0, two
agents and two sinks. Then it tears down what it made (by project name).

Skips (77) when podman cannot run containers here, when the Debian mirror
cannot be reached to build the base image, or while the programs' cluster mode
is not built yet. SMTPSTORM_SKIP_DEPLOY=1 skips it on purpose.

All traffic stays on an internal podman network on this machine."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploytest import (BUILD, DEPLOY, ULIMITS, base_image, build_image,  # noqa: E402
                        ensure_tools, podman_env, run, say, skip)

IMAGE = os.environ.get("SMTPSTORM_IMAGE", "localhost/smtpstorm:deploy-test")
MESSAGES = int(os.environ.get("DEPLOY_TEST_MESSAGES", "2000"))
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
    build_image(env, IMAGE)
    t_image = time.time()

    state = tempfile.mkdtemp(prefix="smtpstorm-deploy-")
    compose = ["podman-compose", "-p", PROJECT, "-f", os.path.join(DEPLOY, "compose.yaml")]
    cenv = dict(env, SMTPSTORM_IMAGE=IMAGE, SMTPSTORM_STATE=state, AGENTS=str(AGENTS), SINKS=str(SINKS),
                MESSAGES=str(MESSAGES), SESSIONS="10", WAIT="90", DRAIN="20", REPORT="report")
    ok = False
    try:
        # the keys (and the reports folder), made by the image as its user
        run(["podman", "run", "--rm", "--network", "none", "--user", "0"] + ULIMITS +
            ["-v", f"{state}:/state", IMAGE, "init", "/state"], env=env)

        # the campaign: the coordinator's exit code is compose's
        p = run(compose + ["up", "--no-build", "--exit-code-from", "coordinator"], check=False,
                env=cenv, timeout=400)
        t_run = time.time()
        log = p.stdout
        with open(os.path.join(state, "compose.log"), "w") as f:
            f.write(log)
        rc = p.returncode

        # a sink is healthy after the campaign (the image's HEALTHCHECK)
        h = run(["podman", "healthcheck", "run", f"{PROJECT}_sink_1"], check=False, env=env)
        report_path = os.path.join(state, "reports", "report.json")
        if rc != 0 or not os.path.exists(report_path):
            print(log[-8000:], end="")
            for c in ("coordinator_1", "agent_1", "sink_1"):
                print(run(["podman", "logs", "--tail", "40", f"{PROJECT}_{c}"], check=False, env=env).stdout)
            raise SystemExit(f"FAIL: the campaign exited {rc}; report {'missing' if not os.path.exists(report_path) else 'written'}")
        with open(report_path) as f:
            report = json.load(f)
        t = report["totals"]
        say("totals:", json.dumps({k: t.get(k) for k in ("messages_attempted", "messages_accepted",
                                                          "sink_received", "lost", "errors", "duplicates")}))
        fails = []
        if t.get("messages_accepted") != MESSAGES:
            fails.append(f"messages_accepted {t.get('messages_accepted')} != {MESSAGES}")
        if t.get("sink_received") != t.get("messages_accepted"):
            fails.append(f"sink_received {t.get('sink_received')} != messages_accepted {t.get('messages_accepted')}")
        if t.get("lost") != 0:
            fails.append(f"lost {t.get('lost')} != 0")
        if len(report.get("agents", [])) != AGENTS:
            fails.append(f"{len(report.get('agents', []))} agents in the report, not {AGENTS}")
        if len(report.get("sinks", [])) != SINKS:
            fails.append(f"{len(report.get('sinks', []))} sinks in the report, not {SINKS}")
        if h.returncode != 0:
            fails.append(f"the sink's healthcheck failed: {h.stdout.strip()}")
        if fails:
            raise SystemExit("FAIL: " + "; ".join(fails))
        ok = True
        say(f"timings: base image {t_base - t0:.0f}s, image {t_image - t_base:.0f}s, "
            f"campaign {t_run - t_image:.0f}s")
    finally:
        teardown(env, cenv, compose, state, keep=not ok and os.environ.get("DEPLOY_TEST_KEEP") == "1")
    print("deploy-compose: every message accounted for")


def teardown(env, cenv, compose, state, keep=False):
    """Remove what this test made, by its project name only."""
    if keep:
        say(f"DEPLOY_TEST_KEEP=1: left project {PROJECT} and {state}")
        return
    run(compose + ["down", "-t", "2"], check=False, env=cenv, timeout=120)
    ids = run(["podman", "ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={PROJECT}"],
              check=False, env=env).stdout.split()
    if ids:
        run(["podman", "rm", "-f", "-t", "0"] + ids, check=False, env=env)
    run(["podman", "network", "rm", f"{PROJECT}_mesh"], check=False, env=env)
    shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
