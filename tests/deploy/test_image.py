"""deploy-image: the image, built and used. Builds the local Debian 12 base
image (scripts/base-image, cached) and deploy/Dockerfile on it, then checks
the image: the three programs run as the non-root user smtpstorm, the
HEALTHCHECK is there and passes for a listening sink, and a drop-in
campaign crosses containers: smtpstorm-agent (smtp-source's options) sends
MESSAGES to smtpstorm-sink (smtp-sink's) in another container, on an
internal podman network of this test's own, and the sink counts every one.
What it makes it removes, by name.

Skips (77) when podman cannot run containers here or the Debian mirror cannot
be reached; SMTPSTORM_SKIP_DEPLOY=1 skips it on purpose."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploytest import (BENCH_NET, BUILD, ULIMITS, base_image, build_image,  # noqa: E402
                        container_addresses, create_network, ensure_tools, podman_env, run, say,
                        skip)

IMAGE = os.environ.get("SMTPSTORM_IMAGE", "localhost/smtpstorm:deploy-test")
MESSAGES = 300
NAME = f"smtpstorm-img{os.getpid()}"


def main():
    if os.environ.get("SMTPSTORM_SKIP_DEPLOY") == "1":
        skip("SMTPSTORM_SKIP_DEPLOY=1")
    for folder, prog in (("coordinator", "smtpstorm"), ("agent", "smtpstorm-agent"), ("sink", "smtpstorm-sink")):
        if not os.access(os.path.join(BUILD, folder, prog), os.X_OK):
            skip(f"{folder}/{prog} is not built in this checkout yet")
    ensure_tools(["podman", "debootstrap"])
    env = podman_env()
    t0 = time.time()
    base_image(env)
    t_base = time.time()
    size = build_image(env, IMAGE)
    t_image = time.time()

    fails = []
    podman_run = ["podman", "run", "--rm"] + ULIMITS
    out = run(podman_run + ["--network", "none", IMAGE, "sh", "-c", "id -un; id -u"], env=env).stdout
    if "smtpstorm\n10001" not in out:
        fails.append(f"the image's user is not smtpstorm (10001): {out!r}")
    out = run(podman_run + ["--network", "none", IMAGE, "version"], env=env).stdout
    for prog in ("smtpstorm:", "smtpstorm-agent:", "smtpstorm-sink:"):
        if prog not in out:
            fails.append(f"`version` does not show {prog}")
    hc = run(["podman", "image", "inspect", "--format", "{{json .Config.Healthcheck}}", IMAGE], env=env).stdout
    if "healthcheck" not in hc:
        fails.append(f"no HEALTHCHECK in the image: {hc.strip()}")

    net, sink = f"{NAME}-net", f"{NAME}-sink"
    try:
        create_network(env, net, first=65)
        run(["podman", "run", "-d", "--name", sink, "--network", net, "--network-alias", "sink"] + ULIMITS +
            [IMAGE, "sink", "-c", "inet::2525", "100"], env=env)
        addrs = container_addresses(env, sink)
        if not addrs or not all(a in BENCH_NET for a in addrs):
            fails.append(f"the sink's addresses {addrs} are not all in {BENCH_NET}")
        healthy = False
        for _ in range(50):
            h = run(["podman", "healthcheck", "run", sink], check=False, env=env)
            if h.returncode == 0:
                healthy = True
                break
            time.sleep(0.2)
        if not healthy:
            fails.append(f"the sink never became healthy: {h.stdout.strip()}")
        a = run(podman_run + ["--network", net, IMAGE, "agent", "-m", str(MESSAGES), "-s", "10", "sink:2525"],
                check=False, env=env, timeout=300)
        print(a.stdout[-1500:], end="")
        if a.returncode != 0:
            fails.append(f"the agent exited {a.returncode}")
        want = f"354={MESSAGES}"
        if want not in a.stdout:
            fails.append(f"the agent's replies lack {want}")
        # the sink's -c counter line ends with mesg=N; wait for the last one
        counted = -1
        for _ in range(50):
            log = run(["podman", "logs", sink], check=False, env=env).stdout
            m = re.findall(r"mesg=(\d+)", log)
            counted = int(m[-1]) if m else -1
            if counted >= MESSAGES:
                break
            time.sleep(0.2)
        say(f"the sink counted {counted} of {MESSAGES} messages")
        if counted != MESSAGES:
            fails.append(f"the sink counted {counted} messages, not {MESSAGES}")
    finally:
        run(["podman", "rm", "-f", "-t", "0", sink], check=False, env=env)
        run(["podman", "network", "rm", net], check=False, env=env)
    say(f"timings: base image {t_base - t0:.0f}s, image {t_image - t_base:.0f}s, "
        f"use {time.time() - t_image:.0f}s; image size {size / 1e6:.0f} MB")
    if fails:
        raise SystemExit("FAIL: " + "; ".join(fails))
    print("deploy-image: ok")


if __name__ == "__main__":
    main()
