"""deploy-k8s-pods: the Kubernetes manifests' pods, run by podman. There is
no cluster here, so this renders deploy/k8s (kubectl kustomize) and runs each
pod's container as the cluster would: the rendered args (env references
$(POD_NAME) and $(ALLOW_TARGET) expanded from the rendered env, ALLOW_TARGET
left at its default), user 10001 with fsGroup 10001, read-only root
filesystem, no capabilities, no new privileges, and the keys laid out like
the projected Secret volume (the rendered items and paths, root-owned, group
10001, the rendered defaultMode 0440). The Services become network aliases
(smtpstorm-coordinator, smtpstorm-sink) on an internal network of this
test's own on a /24 of 198.18.0.0/15. The Job's campaign is made smaller
(2 agents, 1000 messages, shorter --wait); everything else is as rendered.
Passes when the coordinator exits 0 and its JSON report reconciles: every
message accepted was received by the sinks, lost 0, two agents, two sinks.
What it makes it removes, by name.

Skips (77) where podman cannot run containers or kubectl is missing;
SMTPSTORM_SKIP_DEPLOY=1 skips it on purpose."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploytest import (BENCH_NET, BUILD, DEPLOY, ULIMITS, base_image, build_image, wait_names,  # noqa: E402
                        container_addresses, create_network, ensure_tools, podman_env, run, say,
                        skip)

import yaml  # noqa: E402  (python3-yaml comes with yamllint and podman-compose)

IMAGE = os.environ.get("SMTPSTORM_IMAGE", "localhost/smtpstorm:deploy-test")
NAME = f"smtpstorm-k8s{os.getpid()}"
AGENTS, SINKS, MESSAGES = 2, 2, 1000
# the Services of deploy/k8s, as network aliases
ALIASES = {"smtpstorm-campaign": "smtpstorm-coordinator", "smtpstorm-sink": "smtpstorm-sink"}


def expand(args, env_values):
    """Kubernetes' $(VAR) expansion in args, from the container's env."""
    return [re.sub(r"\$\((\w+)\)", lambda m: env_values.get(m.group(1), m.group(0)), a) for a in args]


def key_folder(tmp, secrets, pod_spec, name):
    """The pod's keys volume as kubelet makes it from the projected Secrets:
    each item at its path, root-owned, group fsGroup, mode defaultMode."""
    fs_group = pod_spec["securityContext"]["fsGroup"]
    vol = next(v for v in pod_spec["volumes"] if v["name"] == "keys")
    mode = vol["projected"]["defaultMode"]
    folder = os.path.join(tmp, f"{name}-keys")
    os.makedirs(folder)
    for src in vol["projected"]["sources"]:
        for item in src["secret"]["items"]:
            dst = os.path.join(folder, item["path"])
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(secrets[src["secret"]["name"]][item["key"]], dst)
            os.chown(dst, 0, fs_group)
            os.chmod(dst, mode)
    return folder


def main():
    if os.environ.get("SMTPSTORM_SKIP_DEPLOY") == "1":
        skip("SMTPSTORM_SKIP_DEPLOY=1")
    if not os.access(os.path.join(BUILD, "coordinator", "smtpstorm"), os.X_OK):
        skip("coordinator/smtpstorm is not built in this checkout yet")
    if os.geteuid() != 0:
        skip("needs root (the keys are laid out root-owned, as kubelet does)")
    ensure_tools(["podman", "debootstrap", "kubectl"])
    env = podman_env()
    t0 = time.time()
    base_image(env)
    size = build_image(env, IMAGE)
    t_image = time.time()

    p = subprocess.run(["kubectl", "kustomize", os.path.join(DEPLOY, "k8s")], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise SystemExit(f"FAIL: kubectl kustomize deploy/k8s: {p.stderr}")
    docs = [d for d in yaml.safe_load_all(p.stdout) if d]
    pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in docs
            if d["kind"] in ("Deployment", "Job")}

    tmp = tempfile.mkdtemp(prefix="smtpstorm-k8s-")
    net = f"{NAME}-net"
    started, fails = [], []
    try:
        # the four Secrets' files, made by the image's keygen
        run(["podman", "run", "--rm", "--network", "none", "--user", "0"] + ULIMITS +
            ["-v", f"{tmp}:/k", IMAGE, "sh", "-c",
             "for n in coordinator agent sink; do smtpstorm keygen /k/$n >/dev/null; done"], env=env)
        k = lambda f: os.path.join(tmp, f)  # noqa: E731
        secrets = {"smtpstorm-coordinator": {"coordinator.key": k("coordinator.key")},
                   "smtpstorm-agent": {"agent.key": k("agent.key")},
                   "smtpstorm-sink": {"sink.key": k("sink.key")},
                   "smtpstorm-public": {f"{n}.pub": k(f"{n}.pub") for n in ("coordinator", "agent", "sink")}}
        reports = os.path.join(tmp, "reports")
        os.makedirs(reports)
        os.chown(reports, 0, 10001)
        os.chmod(reports, 0o2775)      # a volume with fsGroup: group-writable, setgid
        create_network(env, net, first=80)

        for pod, replicas in (("smtpstorm-campaign", 1), ("smtpstorm-sink", SINKS), ("smtpstorm-agent", AGENTS)):
            spec = pods[pod]
            c = spec["containers"][0]
            sc, csc = spec["securityContext"], c["securityContext"]
            keys = key_folder(tmp, secrets, spec, pod)
            if pod == "smtpstorm-agent":
                wait_names(env, net, IMAGE, sorted(set(ALIASES.values())))
            for i in range(replicas):
                # a pod's name begins with its Deployment's, as in Kubernetes:
                # the authorized key smtpstorm-agent speaks as smtpstorm-agent-*
                name = f"{pod}-{i}-{NAME}"
                values = {e["name"]: e.get("value", "") for e in c.get("env", []) if "value" in e}
                values["POD_NAME"] = name
                args = expand(c["args"], values)
                if pod == "smtpstorm-campaign":
                    for opt, val in (("--agents", AGENTS), ("--sinks", SINKS), ("-m", MESSAGES), ("-s", 10),
                                     ("--wait", 60), ("--drain", 20)):
                        args[args.index(opt) + 1] = str(val)
                argv = ["podman", "run", "-d", "--name", name, "--network", net] + ULIMITS + \
                       ["--user", f"{sc['runAsUser']}:{sc['runAsGroup']}", "--group-add", str(sc["fsGroup"])]
                if csc.get("readOnlyRootFilesystem"):
                    argv.append("--read-only")
                if "ALL" in csc.get("capabilities", {}).get("drop", []):
                    argv += ["--cap-drop", "ALL"]
                if csc.get("allowPrivilegeEscalation") is False:
                    argv += ["--security-opt", "no-new-privileges"]
                if pod in ALIASES:
                    argv += ["--network-alias", ALIASES[pod]]
                argv += ["-v", f"{keys}:/keys:ro"]
                if pod == "smtpstorm-campaign":
                    argv += ["-v", f"{reports}:/reports"]
                run(argv + [IMAGE] + args, env=env)
                started.append(name)

        coord = f"smtpstorm-campaign-0-{NAME}"
        rc = run(["podman", "wait", coord], env=env, timeout=300).stdout.strip()
        t_run = time.time()
        log = run(["podman", "logs", coord], check=False, env=env).stdout
        print(log[-3500:], end="")
        for name in started[1:]:
            addrs = container_addresses(env, name)
            if not addrs or not all(a in BENCH_NET for a in addrs):
                fails.append(f"{name}'s addresses {[str(a) for a in addrs]} are not all in {BENCH_NET}")
        path = os.path.join(reports, "report.json")
        if rc != "0" or not os.path.exists(path):
            for name in started[1:]:
                print(run(["podman", "logs", "--tail", "20", name], check=False, env=env).stdout)
            raise SystemExit(f"FAIL: the Job's coordinator exited {rc}; report "
                             f"{'written' if os.path.exists(path) else 'missing'}")
        with open(path) as f:
            report = json.load(f)
        t = report["totals"]
        if not (t.get("messages_accepted") == MESSAGES == t.get("sink_received") and t.get("lost") == 0):
            fails.append(f"not reconciled: {json.dumps({x: t.get(x) for x in ('messages_accepted', 'sink_received', 'lost')})}")
        ids = sorted(a.get("id") for a in report.get("agents", []))
        if ids != [f"smtpstorm-agent-{i}-{NAME}" for i in range(AGENTS)]:
            fails.append(f"the agents in the report are {ids}, not the pods (--id $(POD_NAME))")
        if len(report.get("sinks", [])) != SINKS:
            fails.append(f"{len(report.get('sinks', []))} sinks in the report, not {SINKS}")
        for ext in ("html", "csv"):
            if not os.path.exists(os.path.join(reports, f"report.{ext}")):
                fails.append(f"no report.{ext} in the reports volume")
    finally:
        for name in started:
            run(["podman", "rm", "-f", "-t", "0", name], check=False, env=env)
        run(["podman", "network", "rm", net], check=False, env=env)
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"timings: image {t_image - t0:.0f}s, pods to the report {t_run - t_image:.0f}s; "
        f"image size {size / 1e6:.0f} MB")
    if fails:
        raise SystemExit("FAIL: " + "; ".join(fails))
    print("deploy-k8s-pods: the manifests' pods ran a campaign that reconciles")


if __name__ == "__main__":
    main()
