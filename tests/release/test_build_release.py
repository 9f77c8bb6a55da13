"""release-build: scripts/build-release, the build users run (./scripts/demo,
the container image), end to end in a folder of its own:

- a bad SMTPSTORM_TRAIN_MESSAGES is refused, named, with exit 2, before
  anything is built;
- the build is link-time optimised and built with the profiles its own
  training wrote: the options say b_lto and b_pgo=use, and the training
  left profiles for the agent's and the sink's code (the dialogue, the
  reply parser, the sink's session);
- what it built works: its smtpstorm-agent sends lock-step, pipelined and
  LMTP mail to its smtpstorm-sink over a UNIX socket, and lock-step and
  pipelined mail to Postfix's own smtp-sink, and both ends count every
  message;
- run again on unchanged sources it says so and rebuilds nothing."""

import json
import os
import re
import subprocess
import sys

import harness
from harness import check

SCRIPT = os.path.join(harness.SOURCE, "scripts", "build-release")
MESSAGES = 2000


def build_release(build, messages, timeout=900):
    """Run scripts/build-release into build with that many training messages."""
    env = dict(os.environ, SMTPSTORM_TRAIN_MESSAGES=str(messages))
    return subprocess.run([SCRIPT, build], env=env, capture_output=True, text=True, timeout=timeout)


def test_bad_training_count_refused(tmp):
    build = os.path.join(tmp, "refused")
    for bad in ("abc", "0", "-5", "1e3"):
        r = build_release(build, bad, timeout=60)
        check(r.returncode == 2, f"SMTPSTORM_TRAIN_MESSAGES={bad!r}: exit {r.returncode}, want 2: {r.stderr}")
        check("SMTPSTORM_TRAIN_MESSAGES" in r.stderr, f"the variable is not named: {r.stderr!r}")
        check(not os.path.exists(build), f"SMTPSTORM_TRAIN_MESSAGES={bad!r}: a build folder was made")


def build_options(build):
    """{option: value} of a meson build folder."""
    r = harness.run(["meson", "introspect", build, "--buildoptions"], text=True)
    check(r.returncode == 0, f"meson introspect: {r.stderr}")
    return {o["name"]: o["value"] for o in json.loads(r.stdout)}


def profiles(build):
    """The profile files (.gcda) under build, relative to it."""
    found = []
    for folder, _, files in os.walk(build):
        found += [os.path.relpath(os.path.join(folder, f), build) for f in files if f.endswith(".gcda")]
    return found


def exchange(build, tmp, sink_argv, agent_opts, count, env=None):
    """The built agent sends count messages over a UNIX socket to the sink
    sink_argv starts (its options; -c and the socket are added); returns
    (agent's output, the messages the sink's -c counted)."""
    sock = os.path.join(tmp, "sink.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    with harness.Procs() as procs:
        sink = procs.start(sink_argv[:1] + user + sink_argv[1:] + ["-c", f"unix:{sock}", "64"], env=env)
        counted = harness.SinkCount(sink)
        harness.wait_for(lambda: os.path.exists(sock) or sink.poll() is not None, what="the sink's socket")
        if sink.poll() is not None:
            raise AssertionError(f"the built sink exited: {sink.stderr.read()}")
        r = harness.run([os.path.join(build, "agent", "smtpstorm-agent")] + agent_opts
                        + ["-m", str(count), f"unix:{sock}"], text=True, timeout=120)
        check(r.returncode == 0, f"the built agent {agent_opts}: exit {r.returncode}: {r.stderr}")
        harness.wait_for(lambda: counted.messages >= count, timeout=10, what=f"the sink's count of {count}")
    return r.stdout, counted.messages


def test_build_trained_and_working(tmp):
    build = os.path.join(tmp, "rel")
    r = build_release(build, MESSAGES)
    sys.stdout.write(r.stdout + r.stderr)
    check(r.returncode == 0, f"scripts/build-release: exit {r.returncode}")
    check("profile-guided" in r.stdout, f"no word of the profile-guided build: {r.stdout!r}")

    opts = build_options(build)
    check(opts.get("b_lto") is True, f"b_lto is {opts.get('b_lto')!r}, want true")
    check(opts.get("b_pgo") == "use", f"b_pgo is {opts.get('b_pgo')!r}, want use")
    check(opts.get("buildtype") == "release", f"buildtype is {opts.get('buildtype')!r}")
    trained = profiles(build)
    for folder, source in (("agent", "dialogue.c"), ("agent", "reply.c"), ("sink", "session.c")):
        check(any(p.startswith(folder + "/") and os.path.basename(p) == source + ".gcda" for p in trained),
              f"no profile for {folder}/{source} among {sorted(trained)}")

    ours = os.path.join(build, "sink", "smtpstorm-sink")
    postfix_sink, postfix_env = harness.postfix_tool("smtp-sink")
    cases = [([ours], ["-s", "10", "-d"], None),
             ([ours], ["--pipelining", "-s", "10", "-d"], None),
             ([ours, "-L"], ["-L", "-s", "5", "-d", "-r", "3"], None),
             ([postfix_sink], ["-s", "10", "-d"], postfix_env),                 # a peer nobody here wrote
             ([postfix_sink], ["--pipelining", "-s", "10", "-d"], postfix_env)]
    for sink_argv, agent_opts, env in cases:
        out, received = exchange(build, tmp, sink_argv, agent_opts, MESSAGES, env)
        m = re.search(r"messages: (\d+) accepted, (\d+) rejected", out)
        to = f"{agent_opts} into {os.path.basename(sink_argv[0])}"
        check(m and int(m.group(1)) == MESSAGES and int(m.group(2)) == 0,
              f"{to}: the agent did not send all {MESSAGES}: {out!r}")
        check(received == MESSAGES, f"{to}: the sink counted {received}, want {MESSAGES}")

    agent = os.path.join(build, "agent", "smtpstorm-agent")
    before = os.stat(agent).st_mtime_ns
    r = build_release(build, MESSAGES, timeout=120)
    check(r.returncode == 0 and "up to date" in r.stdout, f"a second run: exit {r.returncode}: {r.stdout!r}")
    check(os.stat(agent).st_mtime_ns == before, "a second run on unchanged sources rebuilt the agent")


if __name__ == "__main__":
    harness.run_tests([test_bad_training_count_refused, test_build_trained_and_working], "smtpstorm-release-")
