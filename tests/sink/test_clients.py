"""test_clients - smtpstorm-sink with the mail clients users point at it.

msmtp and swaks authenticate with PLAIN and LOGIN (RFC 4954), in plain text
and after STARTTLS, and deliver; under --auth-users a wrong password gets
535 5.7.8 and nothing is dumped; the AUTH results are in /metrics. Python's
smtplib.send_message sends a non-ASCII sender and recipient and a UTF-8
subject (it needs SMTPUTF8 announced) and the -d dump holds them byte for
byte. --size-limit refuses a larger message at MAIL and at the end of DATA
(RFC 1870). An unprivileged client (setpriv to nobody) delivers LMTP over
the sink's unix: socket, mode 0666 whatever the umask, and --socket-mode
0600 shuts it out.
"""

import email.message
import glob
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from openmetrics import curl, parse, value  # noqa: E402
from sinkutil import SINK, USER, Client, start_sink  # noqa: E402

check = harness.check
USERS = "alice:s3cret\nbob:pa:ss word\n"


def dumps(folder):
    return sorted(glob.glob(os.path.join(folder, "m.*")))


def new_folder(tmp, name):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    os.chmod(tmp, 0o777)   # the sink runs as nobody under root
    os.chmod(d, 0o777)
    return d


def msmtp(tmp, port, mech, user, password, tls, rcpt="b@example.com"):
    """One message through msmtp (no configuration file); CompletedProcess."""
    home = os.path.join(tmp, "msmtp-home")
    os.makedirs(home, exist_ok=True)
    argv = ["msmtp", "--file=/dev/null", "--host=127.0.0.1", f"--port={port}", f"--auth={mech}",
            f"--user={user}", f"--passwordeval=printf '%s' '{password}'", "--from=a@example.com",
            "--domain=client.example", "--timeout=20"]
    argv += ["--tls=on", "--tls-starttls=on", "--tls-certcheck=off"] if tls else ["--tls=off"]
    msg = f"From: a@example.com\nTo: {rcpt}\nSubject: msmtp {mech} tls={tls}\n\nmsmtp body\n".encode()
    return harness.run(argv + [rcpt], input=msg, timeout=60, env=dict(os.environ, HOME=home))


def swaks(port, mech, user, password, tls):
    argv = ["/usr/bin/swaks", "--hide-informational", "--server", f"127.0.0.1:{port}", "--auth", mech,
            "--auth-user", user, "--auth-password", password, "--from", "a@example.com",
            "--to", "b@example.com", "--header", f"Subject: swaks {mech} tls={tls}", "--timeout", "20"]
    return harness.run(argv + (["--tls"] if tls else []), timeout=60)


def check_swaks_tls():
    """swaks needs Net::SSLeay for STARTTLS (scripts/install-deps installs
    libnet-ssleay-perl): without it the TLS cases would not run."""
    r = harness.run(["perl", "-MNet::SSLeay", "-e", "1"], timeout=20)
    check(r.returncode == 0, "perl's Net::SSLeay is missing: run scripts/install-deps")


def auth_counts(mport):
    status, _, body = curl(f"http://127.0.0.1:{mport}/metrics")
    check(status == 200, f"/metrics answered {status}")
    samples = parse(body)[1]
    return (value(samples, "smtpstorm_sink_auth_total", sink="s1", result="ok"),
            value(samples, "smtpstorm_sink_auth_total", sink="s1", result="failed"))


def test_msmtp_and_swaks_authenticate(tmp):
    """Each client, each mechanism, with and without STARTTLS: 235 and the
    message dumped; under --auth-users a wrong password gets 535 and no dump."""
    cert, key = harness.make_cert(tmp)
    users = os.path.join(tmp, "users")
    with open(users, "w") as f:
        f.write(USERS)
    check_swaks_tls()
    tls_modes = [False, True]
    for checked in (False, True):
        folder = new_folder(tmp, f"auth-{checked}")
        mport = harness.free_port()
        args = ["--id", "s1", "--metrics", f"127.0.0.1:{mport}", "--tls-cert", cert, "--tls-key", key,
                "-d", os.path.join(folder, "m.")] + (["--auth-users", users] if checked else [])
        with harness.Procs() as procs:
            p, port = start_sink(procs, args)
            harness.wait_port(mport, proc=p)
            sent = 0
            for mech in ("plain", "login"):
                for tls in (False, True):
                    r = msmtp(tmp, port, mech, "alice", "s3cret", tls)
                    check(r.returncode == 0, f"msmtp {mech} tls={tls}: {r.stdout!r} {r.stderr!r}")
                    sent += 1
                for tls in tls_modes:
                    r = swaks(port, mech.upper(), "bob", "pa:ss word", tls)
                    check(r.returncode == 0, f"swaks {mech} tls={tls}: {r.stdout[-800:]!r} {r.stderr!r}")
                    check(b"235 2.7.0 Authentication successful" in r.stdout, f"swaks {mech}: {r.stdout!r}")
                    sent += 1
            harness.wait_for(lambda: len(dumps(folder)) == sent, what=f"{sent} dumps")
            subjects = sorted(open(d, "rb").read().split(b"Subject: ")[1].split(b"\n")[0]
                              for d in dumps(folder))
            want = sorted([f"msmtp {m} tls={t}".encode() for m in ("plain", "login") for t in (False, True)]
                          + [f"swaks {m} tls={t}".encode() for m in ("PLAIN", "LOGIN") for t in tls_modes])
            check(subjects == want, f"dumped {subjects}, want {want}")
            if checked:
                for mech in ("plain", "login"):
                    r = msmtp(tmp, port, mech, "alice", "wrong", False)
                    check(r.returncode != 0 and b"535" in r.stderr + r.stdout,
                          f"msmtp wrong password {mech}: {r.returncode} {r.stderr!r}")
                    r = swaks(port, mech.upper(), "alice", "wrong", False)
                    check(r.returncode != 0 and b"535 5.7.8 Authentication credentials invalid" in r.stdout,
                          f"swaks wrong password {mech}: {r.stdout[-600:]!r}")
                c = Client(port)            # nothing is dumped for them
                c.reply()
                c.send(b"NOOP\r\n")
                check(c.reply() == "250 2.0.0 Ok", "sink alive")
                c.close()
                check(len(dumps(folder)) == sent, f"{len(dumps(folder))} dumps after wrong passwords")
            harness.wait_for(lambda: auth_counts(mport) == (sent, 4 if checked else 0), timeout=10,
                             what=f"auth counters ({sent}, {4 if checked else 0}), have {auth_counts(mport)}")
            check(p.poll() is None, "sink died")


def test_smtplib_smtputf8(tmp):
    """send_message with UTF-8 addresses needs SMTPUTF8: the dump has them
    and the subject as sent."""
    folder = new_folder(tmp, "utf8")
    sender, rcpt, subject = "sénder@exämple.com", "rcpt€@例え.jp", "Grüße — ünïcode ✓"
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["-d", os.path.join(folder, "m.")])
        msg = email.message.EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, rcpt, subject
        msg.set_content("körper\n")
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.ehlo("client.example")
            check(s.has_extn("smtputf8"), "SMTPUTF8 announced")
            check(s.send_message(msg) == {}, "send_message refused")
        harness.wait_for(lambda: len(dumps(folder)) == 1, what="the dump")
        text = open(dumps(folder)[0], "rb").read()
        want = (f"X-Mail-Args: <{sender}> size=".encode(), f"X-Rcpt-Args: <{rcpt}>\n".encode(),
                f"\nSubject: {subject}\n".encode(), f"\nFrom: {sender}\n".encode(), "körper".encode())
        for w in want:
            check(w in text, f"{w!r} not in the dump:\n{text!r}")
        check(text.split(b"\n")[3].endswith(b" SMTPUTF8 BODY=8BITMIME"), f"MAIL args {text[:200]!r}")
    with harness.Procs() as procs:          # --no-smtputf8: smtplib refuses to send
        p, port = start_sink(procs, ["--no-smtputf8"])
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.ehlo("client.example")
            check(not s.has_extn("smtputf8"), "--no-smtputf8")
            try:
                s.send_message(msg)
            except smtplib.SMTPNotSupportedError:
                pass
            else:
                raise AssertionError("send_message without SMTPUTF8 went through")


def test_size_limit(tmp):
    """SIZE 1000 announced; SIZE=1001 refused at MAIL, a message of 1001
    octets at the end of DATA; 1000 taken."""
    folder = new_folder(tmp, "size")
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["--size-limit", "1000", "-d", os.path.join(folder, "m.")])
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.ehlo("client.example")
            check(s.esmtp_features.get("size") == "1000", f"SIZE {s.esmtp_features.get('size')}")
            try:
                s.sendmail("a@example.com", ["b@example.com"], b"x" * 1001)
            except smtplib.SMTPSenderRefused as e:
                check(e.smtp_code == 552 and e.smtp_error == b"5.3.4 Message size exceeds fixed limit",
                      f"MAIL with SIZE=1001: {e}")
            else:
                raise AssertionError("SIZE=1001 taken")
            check(s.sendmail("a@example.com", ["b@example.com"], b"y" * 998 + b"\r\n") == {}, "1000 octets")
        c = Client(port)                    # no SIZE= given: refused after the data
        c.reply()
        c.send(b"EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        for _ in range(4):          # EHLO, MAIL, RCPT, DATA
            c.reply()
        c.send(b"z" * 999 + b"\r\n.\r\nNOOP\r\n")
        check(c.reply() == "552 5.3.4 Message size exceeds fixed limit", "end of data")
        check(c.reply() == "250 2.0.0 Ok", "the session goes on")
        c.close()
        harness.wait_for(lambda: len(dumps(folder)) == 1, what="one dump")
        check(b"y" * 998 in open(dumps(folder)[0], "rb").read(), "the 1000-octet message dumped")


def lmtp_as_nobody(path):
    """Deliver one LMTP message over unix:path as nobody; CompletedProcess."""
    code = ("import smtplib,sys\n"
            "l=smtplib.LMTP(sys.argv[1])\n"
            "r=l.sendmail('a@example.com',['b@example.com','c@example.com'],b'Subject: lmtp\\r\\n\\r\\nhi\\r\\n')\n"
            "l.quit()\n"
            "print('refused', r)\n")
    return harness.run(["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                        sys.executable, "-c", code, path], timeout=60)


def test_unix_socket_unprivileged_client(tmp):
    """smtp-sink's unix: socket is 0666 whatever the umask: nobody delivers
    LMTP to a sink run by root with umask 077; --socket-mode 0600 keeps
    nobody out."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("skip: needs root and setpriv to run a client as nobody", file=sys.stderr)
        return
    folder = new_folder(tmp, "unix")
    sockdir = new_folder(tmp, "sockets")
    path = os.path.join(sockdir, "lmtp.sock")
    old = os.umask(0o077)
    try:
        with harness.Procs() as procs:
            start_sink(procs, ["-L", "-d", os.path.join(folder, "m.")], addr="unix:" + path)
            mode = os.stat(path).st_mode & 0o777
            check(mode == 0o666, f"socket mode {mode:o}, want 666")
            r = lmtp_as_nobody(path)
            check(r.returncode == 0 and b"refused {}" in r.stdout, f"nobody's LMTP: {r.stdout!r} {r.stderr!r}")
            harness.wait_for(lambda: len(dumps(folder)) == 1, what="the LMTP dump")
            text = open(dumps(folder)[0], "rb").read()
            check(text.startswith(b"X-Client-Addr: local\nX-Client-Proto: LMTP\n"), text[:100])
        path2 = os.path.join(sockdir, "closed.sock")
        with harness.Procs() as procs:
            start_sink(procs, ["-L", "--socket-mode", "0600"], addr="unix:" + path2)
            mode = os.stat(path2).st_mode & 0o777
            check(mode == 0o600, f"--socket-mode 0600 gave {mode:o}")
            r = lmtp_as_nobody(path2)
            check(r.returncode != 0 and b"Permission denied" in r.stderr, f"nobody got in: {r.stderr!r}")
            c = Client(family=socket.AF_UNIX, address=path2)    # root still may
            check(c.reply() == "220 smtp-sink ESMTP", "greeting")
            c.close()
    finally:
        os.umask(old)


def test_bad_auth_users_file(tmp):
    """A bad --auth-users line is a usage error naming the line: exit 1."""
    bad = os.path.join(tmp, "bad-users")
    with open(bad, "w") as f:
        f.write("alice:s3cret\n# comment\nnocolon\n")
    r = harness.run([SINK] + USER + ["--auth-users", bad, "127.0.0.1:1", "1"], timeout=10)
    check(r.returncode == 1, f"exit {r.returncode}")
    check(f"--auth-users {bad} line 3: want user:password".encode() in r.stderr
          and b"fatal: usage:" in r.stderr, f"stderr {r.stderr!r}")


def main():
    tests = [test_bad_auth_users_file, test_msmtp_and_swaks_authenticate, test_smtplib_smtputf8,
             test_size_limit, test_unix_socket_unprivileged_client]
    harness.run_tests(tests, "sink-clients-")


if __name__ == "__main__":
    if not shutil.which("msmtp"):
        print("skip: msmtp missing; run scripts/install-deps", file=sys.stderr)
        sys.exit(harness.SKIP)
    main()
