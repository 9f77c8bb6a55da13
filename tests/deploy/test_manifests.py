"""deploy-manifests: the deployment's files are valid without running a
container. yamllint (deploy/.yamllint, strict) on every YAML file under
deploy/; `kubectl kustomize` renders deploy/k8s and the with-keys variant
offline, and what it renders is what the issue asks for (every kind, resource
requests and limits, non-root, agents' egress only to targets, coordinator and
DNS) and lints clean too; the compose files parse with podman-compose and
produce the podman commands expected (dry run)."""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploytest import DEPLOY, SOURCE, run, say, ensure_tools, podman_env  # noqa: E402

try:
    import yaml
except ImportError:          # python3-yaml comes with yamllint and podman-compose
    yaml = None

failures = []


def check(cond, what):
    if cond:
        say("ok:", what)
    else:
        say("FAILED:", what)
        failures.append(what)


def lint():
    p = run(["yamllint", "--strict", "-c", os.path.join(DEPLOY, ".yamllint"), DEPLOY], check=False)
    print(p.stdout, end="")
    check(p.returncode == 0, "yamllint --strict deploy/")
    files = [f for f in glob.glob(os.path.join(DEPLOY, "**", "*.y*ml"), recursive=True)
             if "/run/" not in f and "/keys/" not in f]
    check(len(files) >= 15, f"yamllint saw the YAML files ({len(files)})")


def kustomize(path):
    p = subprocess.run(["kubectl", "kustomize", path], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        print(p.stderr)
    check(p.returncode == 0, f"kubectl kustomize {os.path.relpath(path, SOURCE)}")
    return p.stdout


def lint_rendered(text, name):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        p = run(["yamllint", "--strict", "-c", os.path.join(DEPLOY, ".yamllint"), f.name], check=False)
        print(p.stdout, end="")
        check(p.returncode == 0, f"yamllint of the rendered {name}")
    finally:
        os.unlink(f.name)


def pods_of(docs):
    for d in docs:
        spec = d.get("spec", {})
        if d["kind"] in ("Deployment", "Job", "DaemonSet"):
            yield d, spec["template"]["spec"]


def k8s():
    text = kustomize(os.path.join(DEPLOY, "k8s"))
    lint_rendered(text, "deploy/k8s")
    if yaml is None:
        return
    docs = [d for d in yaml.safe_load_all(text) if d]
    have = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for want in [("Namespace", "smtpstorm"), ("Deployment", "smtpstorm-sink"), ("Service", "smtpstorm-sink"),
                 ("Deployment", "smtpstorm-agent"), ("Job", "smtpstorm-campaign"),
                 ("Service", "smtpstorm-coordinator"), ("PersistentVolumeClaim", "smtpstorm-reports"),
                 ("NetworkPolicy", "smtpstorm-agent"), ("NetworkPolicy", "smtpstorm-sink"),
                 ("NetworkPolicy", "smtpstorm-coordinator")]:
        check(want in have, f"rendered {want[0]} {want[1]}")
    check(all(d["metadata"].get("namespace") == "smtpstorm" for d in docs if d["kind"] != "Namespace"),
          "everything in namespace smtpstorm")
    secrets = set()
    for d, pod in pods_of(docs):
        name = d["metadata"]["name"]
        check(pod.get("securityContext", {}).get("runAsNonRoot") is True, f"{name} runs as non-root")
        for c in pod["containers"]:
            res = c.get("resources", {})
            check(all(k in res.get(x, {}) for x in ("requests", "limits") for k in ("cpu", "memory")),
                  f"{name}/{c['name']} has cpu and memory requests and limits")
            check(c["image"] == "localhost/smtpstorm:latest", f"{name}/{c['name']} image set by kustomize")
        for v in pod.get("volumes", []):
            for s in v.get("projected", {}).get("sources", []):
                if "secret" in s:
                    secrets.add(s["secret"]["name"])
    check(secrets == {"smtpstorm-coordinator", "smtpstorm-agent", "smtpstorm-sink", "smtpstorm-public"},
          f"pods take their keys from the four Secrets ({sorted(secrets)})")
    job = next(d for d in docs if d["kind"] == "Job")
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    check(args[0] == "run" and "--agents" in args and "--sinks" in args and "--json" in args,
          "the Job runs one campaign with --agents, --sinks and --json")
    agents = int(args[args.index("--agents") + 1])
    sinks = int(args[args.index("--sinks") + 1])
    dep = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    check(dep["smtpstorm-agent"]["spec"]["replicas"] == agents, "agent replicas == --agents")
    check(dep["smtpstorm-sink"]["spec"]["replicas"] == sinks, "sink replicas == --sinks")
    # every $(VAR) in a container's args is one of its env variables
    for d, pod in pods_of(docs):
        for c in pod["containers"]:
            names = {e["name"] for e in c.get("env", [])}
            refs = {r for a in c.get("args", []) for r in re.findall(r"\$\((\w+)\)", a)}
            check(refs <= names, f"{d['metadata']['name']}/{c['name']}: $(...) in args are env ({sorted(refs)})")
    agent = dep["smtpstorm-agent"]["spec"]["template"]["spec"]["containers"][0]
    allow = [agent["args"][i + 1] for i, a in enumerate(agent["args"]) if a == "--allow-target"]
    env = {e["name"]: e.get("value") for e in agent.get("env", [])}
    check(allow == ["smtpstorm-sink", "$(ALLOW_TARGET)"] and env.get("ALLOW_TARGET"),
          f"agents: --allow-target the sinks' Service and ALLOW_TARGET={env.get('ALLOW_TARGET')} ({allow})")
    for d, pod in pods_of(docs):
        args = pod["containers"][0]["args"]
        want = {"smtpstorm-campaign": ["--key", "--authorized-keys"]}.get(d["metadata"]["name"],
                                                                           ["--key", "--coordinator-key"])
        check(all(w in args for w in want) and "--insecure" not in args,
              f"{d['metadata']['name']}: CURVE keys ({' '.join(want)}), no --insecure")
    pol = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "smtpstorm-agent")
    check(set(pol["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not pol["spec"].get("ingress"),
          "agents take no connections")
    to = []
    rules = pol["spec"]["egress"]
    for rule in rules:
        for peer in rule.get("to", []):
            labels = peer.get("podSelector", {}).get("matchLabels", {})
            to.append(labels.get("app.kubernetes.io/component") or labels.get("k8s-app"))
    check(all(rule.get("to") and rule.get("ports") for rule in rules),
          "every agents' egress rule names its peers and ports")
    check(not any("ipBlock" in peer for rule in rules for peer in rule.get("to", [])),
          "agents' egress names no address block")
    check(sorted(to) == ["coordinator", "kube-dns", "sink", "target"],
          f"agents reach only sinks, targets, the coordinator and DNS ({sorted(to)})")

    # the with-keys variant: keys become Secrets with the names the pods use
    tmp = tempfile.mkdtemp()
    try:
        shutil.copytree(os.path.join(DEPLOY, "k8s"), os.path.join(tmp, "k8s"),
                        ignore=shutil.ignore_patterns("keys", "reports"))
        keys = os.path.join(tmp, "k8s", "with-keys", "keys")
        os.makedirs(keys)
        for n in ("coordinator", "agent", "sink"):
            for ext in ("key", "pub"):
                with open(os.path.join(keys, f"{n}.{ext}"), "w") as f:
                    f.write(f"test {n} {ext}\n")
        text = kustomize(os.path.join(tmp, "k8s", "with-keys"))
        lint_rendered(text, "deploy/k8s/with-keys")
        docs = [d for d in yaml.safe_load_all(text) if d]
        made = {d["metadata"]["name"]: sorted(d.get("data", {})) for d in docs if d["kind"] == "Secret"}
        check(made == {"smtpstorm-coordinator": ["coordinator.key"], "smtpstorm-agent": ["agent.key"],
                       "smtpstorm-sink": ["sink.key"],
                       "smtpstorm-public": ["agent.pub", "coordinator.pub", "sink.pub"]},
              f"with-keys generates the four Secrets ({made})")
    finally:
        shutil.rmtree(tmp)


def compose():
    if yaml is None:
        return
    with open(os.path.join(DEPLOY, "compose.yaml")) as f:
        c = yaml.safe_load(f)
    check(set(c["services"]) == {"coordinator", "agent", "sink"}, "compose: coordinator, agent, sink")
    check(c["networks"]["mesh"].get("internal") is True, "compose: the network is internal (no way out)")
    check(set(c["secrets"]) == {"coordinator_key", "coordinator_pub", "agent_key", "sink_key",
                                "authorized_keys"}, "compose: the CURVE keys are secrets")
    with open(os.path.join(DEPLOY, "compose.mta.yaml")) as f:
        m = yaml.safe_load(f)
    check("postfix" in m["services"], "compose.mta.yaml: a Postfix service")

    # podman-compose parses both files and says what it would run; it
    # creates the project's network even in a dry run: remove it after
    project = f"smtpstorm-lint{os.getpid()}"
    env = dict(podman_env(), AGENTS="3", SINKS="2", SMTPSTORM_IMAGE="localhost/smtpstorm:none",
               SMTPSTORM_STATE="/nonexistent", TARGET="postfix:25")
    try:
        p = run(["podman-compose", "--dry-run", "-p", project, "-f", os.path.join(DEPLOY, "compose.yaml"),
                 "-f", os.path.join(DEPLOY, "compose.mta.yaml"), "up", "--no-build", "-d"],
                check=False, env=env, timeout=120)
    finally:
        subprocess.run(["podman", "network", "rm", f"{project}_mesh"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = p.stdout
    runs = [ln for ln in out.splitlines() if ln.startswith("podman run ")]
    names = sorted(ln.split("--name=")[1].split()[0] for ln in runs)
    check(p.returncode == 0, "podman-compose --dry-run up parses compose.yaml + compose.mta.yaml")
    check(names == sorted([f"{project}_agent_{i}" for i in (1, 2, 3)] + [f"{project}_sink_{i}" for i in (1, 2)]
                          + [f"{project}_coordinator_1", f"{project}_postfix_1"]),
          f"AGENTS=3 SINKS=2: three agents, two sinks, coordinator, postfix ({names})")
    coord = next((ln for ln in runs if "_coordinator_1" in ln), "")
    check("--agents 3 --sinks 2" in coord and coord.rstrip().endswith("postfix:25"),
          "the coordinator waits for them and targets TARGET")
    check(all("--ulimit nofile=20000:20000" in ln and "--net " + project + "_mesh" in ln for ln in runs),
          "every container: explicit ulimits, the project's network")
    check("/nonexistent/keys/coordinator.key:/run/secrets/coordinator_key:ro" in coord,
          "secrets mounted read-only from SMTPSTORM_STATE/keys")


def main():
    ensure_tools(["yamllint", "kubectl", "podman", "podman-compose"])
    lint()
    k8s()
    compose()
    if failures:
        print(json.dumps(failures, indent=1))
        print(f"deploy-manifests: {len(failures)} check(s) failed")
        sys.exit(1)
    print("deploy-manifests: all checks passed")


if __name__ == "__main__":
    main()
