"""deploytest - what the deploy suite's tests share: the repository's paths,
installing deploy/install-deps' packages when missing, skipping (exit 77)
with a reason, and podman run the way this machine needs it (runc, explicit
ulimits) through a containers.conf of the test's own."""

import atexit
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.environ.get("SMTPSTORM_SOURCE", os.path.join(HERE, "..", "..")))
BUILD = os.path.abspath(os.environ.get("SMTPSTORM_BUILD", os.path.join(SOURCE, "build")))
DEPLOY = os.path.join(SOURCE, "deploy")
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]
BASE_IMAGE = os.environ.get("BASE_IMAGE", "localhost/smtpstorm-base:bookworm")
TOOLS = ["podman", "podman-compose", "debootstrap", "yamllint", "kubectl"]
# container traffic stays on this machine's podman networks, in the range
# reserved for benchmarking (RFC 2544); the agents' allow-list is this range
BENCH_NET = ipaddress.ip_network("198.18.0.0/15")


def say(*a):
    print("deploy:", *a, flush=True)


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def run(argv, check=True, timeout=600, **kw):
    """Run argv, echoing it; returns the CompletedProcess (text output)."""
    say("$", " ".join(argv))
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.STDOUT)
    p = subprocess.run(argv, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        print(p.stdout or "", end="")
        raise SystemExit(f"FAIL: {argv[0]} exited {p.returncode}")
    return p


def ensure_tools(needed=TOOLS):
    """Install what is missing with deploy/install-deps (root only); skip
    when that cannot be done here."""
    missing = [t for t in needed if not shutil.which(t)]
    if not missing:
        return
    if os.geteuid() != 0:
        skip(f"{', '.join(missing)} missing and not root to install them (deploy/install-deps)")
    p = run([os.path.join(DEPLOY, "install-deps")], check=False, timeout=900)
    still = [t for t in needed if not shutil.which(t)]
    if p.returncode != 0 or still:
        print(p.stdout[-3000:] if p.stdout else "")
        skip(f"deploy/install-deps could not install {', '.join(still or missing)}")


def podman_env():
    """The environment for podman and podman-compose: runc and explicit
    ulimits by default (a containers.conf of our own, so the machine's is
    left alone), and no registry lookups for short names."""
    conf = os.path.join(tempfile.gettempdir(), f"smtpstorm-deploy-{os.getpid()}.conf")
    runtime = 'runtime = "runc"\n' if shutil.which("runc") else ""
    with open(conf, "w") as f:
        f.write("[containers]\n"
                'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n'
                "[engine]\n" + runtime)
    atexit.register(lambda: os.path.exists(conf) and os.unlink(conf))
    return dict(os.environ, CONTAINERS_CONF=conf)


def debian_mirror(security=False):
    p = subprocess.run([os.path.join(DEPLOY, "debian-mirror")] + (["--security"] if security else []),
                       text=True, stdout=subprocess.PIPE)
    return p.stdout.strip() if p.returncode == 0 else ""


def base_image(env):
    """scripts/base-image (cached), then prove podman runs a container; skips
    when either cannot be done here."""
    p = run(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}"],
            check=False, env=env)
    if p.returncode != 0:
        skip(f"podman does not work here: {p.stdout.strip()[-500:]}")
    p = run([os.path.join(SOURCE, "scripts", "base-image")], check=False, env=env, timeout=900)
    print(p.stdout, end="")
    if p.returncode != 0:
        skip("could not build the base image (is the Debian mirror reachable?)")
    p = run(["podman", "run", "--rm", "--network", "none"] + ULIMITS + [BASE_IMAGE, "true"],
            check=False, env=env)
    if p.returncode != 0:
        skip(f"podman cannot run containers here: {p.stdout.strip()[-500:]}")


def build_image(env, image):
    """deploy/Dockerfile on the base image, from this checkout; returns the
    image's size in bytes. Layers are cached between runs."""
    mirror, security = debian_mirror(), debian_mirror(security=True)
    build = ["podman", "build", "--format", "docker", "-f", os.path.join(DEPLOY, "Dockerfile"),
             "--ignorefile", os.path.join(DEPLOY, "Dockerfile.dockerignore")] + ULIMITS + \
            ["--build-arg", f"BASE={BASE_IMAGE}"]
    if mirror:
        build += ["--build-arg", f"DEBIAN_MIRROR={mirror}"]
    if security:
        build += ["--build-arg", f"DEBIAN_SECURITY_MIRROR={security}"]
    # the build stage gets a tag of its own (then the full build takes it
    # from the cache), so that what a new build replaces can be removed by
    # name: the final image and the build stage (~650 MB) the tags had
    # before, only those, and not while a container uses them
    stage = image.rsplit(":", 1)[0] + "-build:" + (image.rsplit(":", 1)[1] if ":" in image else "latest")

    def image_id(name):
        q = run(["podman", "image", "inspect", "--format", "{{.Id}}", name], check=False, env=env)
        return q.stdout.strip() if q.returncode == 0 else ""
    old = {name: image_id(name) for name in (image, stage)}
    for argv in (build + ["--target", "build", "-t", stage], build + ["-t", image]):
        p = run(argv + [SOURCE], check=False, env=env, timeout=1200)
        if p.returncode != 0:
            print(p.stdout[-6000:], end="")
            raise SystemExit("FAIL: the image did not build")
    for name, was in old.items():
        if was and was != image_id(name):
            run(["podman", "image", "rm", was], check=False, env=env)
    size = int(run(["podman", "image", "inspect", "--format", "{{.Size}}", image], env=env).stdout.strip())
    say(f"image {image}: {size / 1e6:.0f} MB")
    return size


def create_network(env, name, labels=(), first=64):
    """An internal podman network NAME on a free /24 of 198.18.0.0/15
    (198.18.FIRST.0/24 or the next one no other network uses), so that tests
    running side by side do not collide. Returns the subnet (text)."""
    for third in range(first, 256):
        subnet = f"198.18.{third}.0/24"
        argv = ["podman", "network", "create", "--internal", "--subnet", subnet]
        for label in labels:
            argv += ["--label", label]
        p = run(argv + [name], check=False, env=env)
        if p.returncode == 0:
            return subnet
        if "already" not in p.stdout and "in use" not in p.stdout:
            print(p.stdout, end="")
            raise SystemExit(f"FAIL: podman network create {name} failed")
    raise SystemExit("FAIL: no free /24 in 198.18.0.0/15 for a test network")


def wait_names(env, net, image, names, timeout=60):
    """Wait until every name resolves inside network NET (podman's DNS server
    for a new network may answer late; an agent that asks before then waits
    out the resolver's timeout and misses its heartbeats)."""
    probe = " && ".join(f"getent hosts {n} >/dev/null" for n in names)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = run(["podman", "run", "--rm", "--network", net] + ULIMITS + [image, "sh", "-c", probe],
                check=False, env=env, timeout=30)
        if p.returncode == 0:
            return
        time.sleep(0.5)
    raise SystemExit(f"FAIL: {', '.join(names)} do not resolve in {net} after {timeout}s")


def network_subnets(env, name):
    out = run(["podman", "network", "inspect", name], env=env).stdout
    return [ipaddress.ip_network(s["subnet"]) for n in json.loads(out) for s in n.get("subnets", [])]


def container_addresses(env, name):
    """The IPv4/IPv6 addresses of container NAME on its networks."""
    out = run(["podman", "inspect", "--format", "{{json .NetworkSettings.Networks}}", name], env=env).stdout
    nets = json.loads(out) or {}
    return [ipaddress.ip_address(a) for n in nets.values()
            for a in (n.get("IPAddress"), n.get("GlobalIPv6Address")) if a]



def compose_teardown(env, cenv, compose, project, state, network, keep=False):
    """Remove what a compose test made, by its project name only: the
    project's containers, its network, its state folder."""
    if keep:
        say(f"DEPLOY_TEST_KEEP=1: left project {project} and {state}")
        return
    run(compose + ["down", "-t", "2"], check=False, env=cenv, timeout=120)
    ids = run(["podman", "ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={project}"],
              check=False, env=env).stdout.split()
    if ids:
        run(["podman", "rm", "-f", "-t", "0"] + ids, check=False, env=env)
    run(["podman", "network", "rm", network], check=False, env=env)
    shutil.rmtree(state, ignore_errors=True)
