"""deploytest - what the deploy suite's tests share: the repository's paths,
installing deploy/install-deps' packages when missing, skipping (exit 77)
with a reason, and podman run the way this machine needs it (runc, explicit
ulimits) through a containers.conf of the test's own."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.environ.get("SMTPSTORM_SOURCE", os.path.join(HERE, "..", "..")))
BUILD = os.path.abspath(os.environ.get("SMTPSTORM_BUILD", os.path.join(SOURCE, "build")))
DEPLOY = os.path.join(SOURCE, "deploy")
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]
BASE_IMAGE = os.environ.get("BASE_IMAGE", "localhost/smtpstorm-base:bookworm")
TOOLS = ["podman", "podman-compose", "debootstrap", "yamllint", "kubectl"]


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
