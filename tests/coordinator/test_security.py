"""test_security - the authenticated control plane (docs/security.md), with
smtpstorm against simulated agents and sinks (tests/coordinator/simpeer),
all on loopback:

- `smtpstorm keygen NAME`: NAME.key mode 0600 with both keys, NAME.pub with
  the public one, no overwrite without --force, clear errors;
- a campaign over tcp://127.0.0.1 with CURVE: agents and a sink whose keys
  are in --authorized-keys take part and reconcile; an agent whose key is
  not there is refused by the ZAP handler, logged with its key and address,
  counted (control.unauthorized), never given work; a plaintext agent is not
  heard either; the campaign runs with the others;
- no keys beyond loopback: --bind, --sink-bind and an agent's --coordinator
  refused before anything is bound or sent, unless --insecure (then the bind
  itself fails: 198.18.0.1 is not on this host; nothing is sent anywhere);
- the real smtpstorm-agent and smtpstorm-sink with --key/--coordinator-key
  run a CURVE campaign that reconciles (the sink reads its key before
  dropping privileges with -u); an agent with a key the coordinator does
  not know is refused and never gets work; both programs' key checks and
  refusal of a non-loopback --coordinator without keys;
- a secret key others can read is refused; --key without
  --authorized-keys, and --local with --key, are usage errors.
"""

import os
import stat
import tempfile

import harness

SIM = os.environ.get("SMTPSTORM_SIMPEER", os.path.join(harness.BUILD, "tests", "coordinator", "simpeer"))
COORD = harness.program("smtpstorm")
FAR = "tcp://198.18.0.1:7400"   # benchmark range (RFC 2544): never reached, refused or unbound first


def keygen(tmp, name, *extra):
    return harness.run([COORD, "keygen", *extra, os.path.join(tmp, name)], timeout=20)


def public_z85(path):
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("public-key"):
                return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError(f"no public-key in {path}")


def test_keygen_files_and_modes(tmp):
    done = keygen(tmp, "coord")
    harness.check(done.returncode == 0, f"keygen exit {done.returncode}: {done.stderr!r}")
    key, pub = os.path.join(tmp, "coord.key"), os.path.join(tmp, "coord.pub")
    harness.check(stat.S_IMODE(os.stat(key).st_mode) == 0o600, f"coord.key mode {oct(os.stat(key).st_mode)}")
    harness.check(stat.S_IMODE(os.stat(pub).st_mode) == 0o644, f"coord.pub mode {oct(os.stat(pub).st_mode)}")
    with open(key) as f:
        secret_text = f.read()
    with open(pub) as f:
        public_text = f.read()
    z85 = public_z85(pub)
    harness.check(len(z85) == 40 and z85 in secret_text and z85 in done.stdout.decode(),
                  "the public key is in both files and printed")
    harness.check("secret-key" in secret_text and "secret-key" not in public_text,
                  "only NAME.key holds the secret key")

    again = keygen(tmp, "coord")
    harness.check(again.returncode == 1 and b"--force" in again.stderr,
                  f"keygen must not overwrite: exit {again.returncode} {again.stderr!r}")
    harness.check(public_z85(pub) == z85, "the old key is untouched")
    forced = keygen(tmp, "coord", "--force")
    harness.check(forced.returncode == 0 and public_z85(pub) != z85, "--force makes a new pair")
    harness.check(stat.S_IMODE(os.stat(key).st_mode) == 0o600, "mode 0600 after --force")

    usage = harness.run([COORD, "keygen"], timeout=20)
    harness.check(usage.returncode == 2 and b"NAME" in usage.stderr, f"keygen without NAME: {usage.stderr!r}")
    nowhere = keygen(tmp, "no/such/dir/x")
    harness.check(nowhere.returncode == 1 and b"cannot create" in nowhere.stderr, f"{nowhere.stderr!r}")


def coordinator(tmp, name, ctl, snk, agents, sinks, *extra):
    report = os.path.join(tmp, name + ".json")
    argv = [COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", str(agents), "--sinks",
            str(sinks), "--wait", "20s", "--drain", "5s", "--json", report, *extra]
    return harness.run_campaign(argv, report, name, timeout=90)


def test_curve_campaign_admits_authorized_keys_only(tmp):
    auth = os.path.join(tmp, "authorized")
    os.mkdir(auth, 0o755)
    for name in ("coord", "mallory"):
        harness.check(keygen(tmp, name).returncode == 0, f"keygen {name}")
    for name in ("a1", "a2", "s1", "fleet"):
        harness.check(keygen(auth, name).returncode == 0, f"keygen {name}")
    # The agents' secret keys would live on their hosts; here they sit next
    # to their .pub files, which the coordinator ignores (*.pub only).
    coord_pub = os.path.join(tmp, "coord.pub")
    ctl = f"tcp://127.0.0.1:{harness.free_port()}"
    snk = f"tcp://127.0.0.1:{harness.free_port()}"
    sock = os.path.join(tmp, "s1.sock")

    def keyed(name, folder):
        return ["--key", os.path.join(folder, name + ".key"), "--coordinator-key", coord_pub]

    with harness.Procs() as procs:
        procs.start([SIM, "--role", "sink", "--coordinator", snk, "--id", "s1", *keyed("s1", auth),
                     "unix:" + sock, "64"])
        for ident in ("a1", "a2"):
            procs.start([SIM, "--role", "agent", "--coordinator", ctl, "--id", ident, *keyed(ident, auth)])
        # one key for a family of replicas: "fleet" speaks as fleet-*
        procs.start([SIM, "--role", "agent", "--coordinator", ctl, "--id", "fleet-7", *keyed("fleet", auth)])
        # authorized keys claiming another's id: a1's key as agent a2, and as the sink s1
        impostors = [procs.start([SIM, "--role", "agent", "--coordinator", ctl, "--id", "a2", *keyed("a1", auth)]),
                     procs.start([SIM, "--role", "sink", "--coordinator", snk, "--id", "s1", *keyed("a1", auth),
                                  "unix:" + os.path.join(tmp, "s1-impostor.sock"), "64"])]
        mallory = procs.start([SIM, "--role", "agent", "--coordinator", ctl, "--id", "mallory",
                               *keyed("mallory", tmp)])
        plain = procs.start([SIM, "--role", "agent", "--coordinator", ctl, "--id", "plain"])
        # Authorized, but it trusts the wrong coordinator key: no handshake.
        confused = procs.start([SIM, "--role", "agent", "--coordinator", ctl, "--id", "confused",
                                "--key", os.path.join(auth, "a1.key"), "--coordinator-key",
                                os.path.join(tmp, "mallory.pub")])
        harness.wait_for(lambda: os.path.exists(sock), what="sink listening")

        done, data = coordinator(tmp, "curve", ctl, snk, 3, 1, "--key", os.path.join(tmp, "coord.key"),
                                 "--authorized-keys", auth, "-m", "600", "-s", "4", "unix:" + sock)
        harness.check(done.returncode == 0, f"CURVE campaign exit {done.returncode}")
        t = data["totals"]
        harness.check(t["messages_accepted"] == 600 and t["sink_received"] == 600 and t["lost"] == 0,
                      f"CURVE campaign does not reconcile: {t}")
        harness.check(sorted(a["id"] for a in data["agents"]) == ["a1", "a2", "fleet-7"],
                      f"only the authorized agents take part: {[a['id'] for a in data['agents']]}")
        harness.check(data["control"]["impostors"] >= 2, f"impostors counted: {data['control']}")
        harness.check("refused a hello as a2 from the key a1" in done.stderr.decode()
                      and "refused a hello as s1 from the key a1" in done.stderr.decode(),
                      f"the impostors are named: {done.stderr[-2000:]!r}")
        harness.check(all(p.poll() is None for p in impostors), "refused impostors keep knocking")
        harness.check([s["id"] for s in data["sinks"]] == ["s1"], "the authorized sink counts")
        err = done.stderr.decode()
        mallory_key = public_z85(os.path.join(tmp, "mallory.pub"))
        harness.check("refused a peer at" in err and mallory_key in err and "127.0.0.1" in err,
                      "the refusal names the key and the address")
        harness.check(err.count(mallory_key) == 1, "one warning per refused key, not one per retry")
        harness.check(data["control"]["unauthorized"] == 1, f"control counters: {data['control']}")
        harness.check("mallory" not in err and "plain" not in err, "the refused peers never said hello")
        harness.check(mallory.poll() is None and plain.poll() is None and confused.poll() is None,
                      "refused peers keep knocking")
        said = {}
        for name, proc in (("mallory", mallory), ("confused", confused)):
            os.set_blocking(proc.stderr.fileno(), False)
            said[name] = (proc.stderr.read() or b"").decode()
        harness.check("refused this program's key" in said["mallory"] and "--authorized-keys" in said["mallory"],
                      f"the refused agent is told why: {said['mallory']!r}")
        harness.check("CURVE handshake with" in said["confused"] and "--coordinator-key" in said["confused"],
                      f"a wrong coordinator key is named: {said['confused']!r}")


def test_no_keys_beyond_loopback(tmp):
    for opt in ("--bind", "--sink-bind"):
        done = harness.run([COORD, "run", opt, FAR, "-m", "1", "--wait", "1s", "127.0.0.1:9"], timeout=20)
        err = done.stderr.decode()
        harness.check(done.returncode == 2 and f"{opt} {FAR} is not a loopback address" in err
                      and "--key" in err and "--insecure" in err, f"{opt} without keys: {done.returncode} {err!r}")
    done = harness.run([COORD, "run", "--bind", FAR, "--insecure", "-m", "1", "--wait", "1s", "127.0.0.1:9"],
                       timeout=20)
    harness.check(done.returncode == 1 and b"cannot bind " + FAR.encode() in done.stderr,
                  f"--insecure goes through to the bind: {done.returncode} {done.stderr!r}")
    for extra in ([], ["--role", "sink"]):
        argv = [SIM, "--role", "agent", "--coordinator", FAR, "--id", "far"]
        if extra:
            argv = [SIM, "--role", "sink", "--coordinator", FAR, "--id", "far", "unix:" + os.path.join(tmp, "x")]
        done = harness.run(argv, timeout=20)
        harness.check(done.returncode != 0 and b"refusing to connect to " + FAR.encode() in done.stderr
                      and b"--insecure" in done.stderr, f"peer without keys beyond loopback: {done.stderr!r}")


def test_real_agent_over_curve(tmp):
    agent, sink = harness.program("smtpstorm-agent"), harness.program("smtpstorm-sink")
    auth = os.path.join(tmp, "authorized")
    os.mkdir(auth, 0o755)
    for folder, name in ((tmp, "coord"), (auth, "ag1"), (auth, "sk1"), (tmp, "stranger")):
        harness.check(keygen(folder, name).returncode == 0, f"keygen {name}")
    coord_pub = os.path.join(tmp, "coord.pub")
    ctl = f"tcp://127.0.0.1:{harness.free_port()}"
    snk = f"tcp://127.0.0.1:{harness.free_port()}"
    port = harness.free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    with harness.Procs() as procs:
        s = procs.start([sink, *user, "--coordinator", snk, "--id", "sk1", "--key",
                         os.path.join(auth, "sk1.key"), "--coordinator-key", coord_pub, f"127.0.0.1:{port}", "64"])
        harness.wait_port(port, proc=s)
        procs.start([agent, "--coordinator", ctl, "--id", "ag1", "--key", os.path.join(auth, "ag1.key"),
                     "--coordinator-key", coord_pub])
        stranger = procs.start([agent, "--coordinator", ctl, "--id", "stranger", "--key",
                                os.path.join(tmp, "stranger.key"), "--coordinator-key", coord_pub])
        done, data = coordinator(tmp, "real", ctl, snk, 1, 1, "--key", os.path.join(tmp, "coord.key"),
                                 "--authorized-keys", auth, "-m", "300", "-s", "3", f"127.0.0.1:{port}")
        harness.check(done.returncode == 0, f"real agent over CURVE: exit {done.returncode}")
        t = data["totals"]
        harness.check(t["messages_accepted"] == 300 and t["sink_received"] == 300 and t["lost"] == 0,
                      f"real agent and sink over CURVE do not reconcile: {t}")
        harness.check([x["id"] for x in data["sinks"]] == ["sk1"], "the keyed sink counts")
        harness.check([a["id"] for a in data["agents"]] == ["ag1"], "only the authorized agent")
        harness.check(public_z85(os.path.join(tmp, "stranger.pub")) in done.stderr.decode(),
                      "the stranger's key is named")
        harness.check(stranger.poll() is None, "the stranger is still waiting, with no work")
    for argv, what in (([agent, "--coordinator", FAR, "--id", "x"], b"not a loopback address"),
                       ([agent, "--coordinator", ctl, "--key", os.path.join(auth, "ag1.key")],
                        b"--key and --coordinator-key go together"),
                       ([agent, "--coordinator", ctl, "--key", coord_pub, "--coordinator-key", coord_pub],
                        b"--key: "),
                       ([agent, "--key", os.path.join(auth, "ag1.key"), "127.0.0.1:25"],
                        b"needs --coordinator"),
                       ([sink, *user, "--coordinator", FAR, "127.0.0.1:0", "1"], b"not a loopback address"),
                       ([sink, *user, "--coordinator", snk, "--key", os.path.join(auth, "sk1.key"), "127.0.0.1:0", "1"],
                        b"--key and --coordinator-key go together"),
                       ([sink, *user, "--key", os.path.join(auth, "sk1.key"), "--coordinator-key", coord_pub,
                         "127.0.0.1:0", "1"], b"--key needs --coordinator"),
                       ([sink, *user, "--coordinator", snk, "--key", coord_pub, "--coordinator-key", coord_pub,
                         "127.0.0.1:0", "1"], b"--key: ")):
        done = harness.run(argv, timeout=20)
        harness.check(done.returncode != 0 and what in done.stderr, f"{argv}: {done.stderr!r}")


def test_key_checks(tmp):
    harness.check(keygen(tmp, "c").returncode == 0, "keygen")
    key = os.path.join(tmp, "c.key")
    auth = os.path.join(tmp, "auth")
    os.mkdir(auth, 0o755)
    harness.check(keygen(auth, "a").returncode == 0, "keygen a")
    os.chmod(key, 0o640)
    done = harness.run([COORD, "run", "--key", key, "--authorized-keys", auth, "-m", "1", "--wait", "1s",
                        "127.0.0.1:9"], timeout=20)
    harness.check(done.returncode == 1 and b"chmod 600" in done.stderr, f"readable key: {done.stderr!r}")
    os.chmod(key, 0o600)
    done = harness.run([COORD, "run", "--key", key, "-m", "1", "127.0.0.1:9"], timeout=20)
    harness.check(done.returncode == 2 and b"--authorized-keys" in done.stderr, f"{done.stderr!r}")
    done = harness.run([COORD, "run", "--authorized-keys", auth, "-m", "1", "127.0.0.1:9"], timeout=20)
    harness.check(done.returncode == 2 and b"needs --key" in done.stderr, f"{done.stderr!r}")
    done = harness.run([COORD, "run", "--local", "1", "--key", key, "--authorized-keys", auth], timeout=20)
    harness.check(done.returncode == 2 and b"--local" in done.stderr, f"{done.stderr!r}")
    done = harness.run([COORD, "run", "--key", os.path.join(auth, "a.pub"), "--authorized-keys", auth,
                        "-m", "1", "--wait", "1s", "127.0.0.1:9"], timeout=20)
    harness.check(done.returncode == 1 and b"--key" in done.stderr, f"a .pub as --key: {done.stderr!r}")
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty, 0o755)
    done = harness.run([COORD, "run", "--key", key, "--authorized-keys", empty, "-m", "1", "--wait", "1s",
                        "127.0.0.1:9"], timeout=20)
    harness.check(done.returncode == 1 and b"no *.pub files" in done.stderr, f"empty dir: {done.stderr!r}")


def main():
    harness.check(os.access(SIM, os.X_OK), f"{SIM} not built")
    os.umask(0o022)
    for test in (test_keygen_files_and_modes, test_curve_campaign_admits_authorized_keys_only,
                 test_real_agent_over_curve, test_no_keys_beyond_loopback, test_key_checks):
        with tempfile.TemporaryDirectory(prefix="smtpstorm-security-") as tmp:
            os.chmod(tmp, 0o755)
            print(f"=== {test.__name__}", flush=True)
            test(tmp)
    print("ok")


if __name__ == "__main__":
    main()
