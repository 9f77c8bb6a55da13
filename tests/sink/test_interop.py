"""test_interop - smtpstorm-sink with peers nobody here wrote: Postfix's
smtp-source (10,000 messages, 20 sessions, with and without -d, --threads),
swaks (PIPELINING, STARTTLS), Python's smtplib (several recipients,
STARTTLS), a raw BDAT session, and the same transaction dumped by Postfix's
smtp-sink and ours, which must be identical but for the id and the time."""

import glob
import os
import re
import smtplib
import socket
import ssl
import sys
import tempfile

import harness
from sinkutil import Client, counters, start_sink

check = harness.check


def smtp_source(port, messages, sessions, extra=()):
    argv0, env = harness.postfix_tool("smtp-source")
    r = harness.run([argv0, "-s", str(sessions), "-m", str(messages), "-l", "1000",
                     "-f", "from@example.com", "-t", "to@example.com", *extra,
                     f"127.0.0.1:{port}"], env=env, timeout=120)
    check(r.returncode == 0, f"smtp-source failed: {r.stderr!r}")


def test_smtp_source_count(tmp, dump, threads=1):
    out = os.path.join(tmp, f"count-{dump}-{threads}.out")
    args = ["-c", "--threads", str(threads)]
    if dump:
        args += ["-d", os.path.join(tmp, f"d{threads}", "%Y%m%d/m.")]
    with harness.Procs() as procs, open(out, "wb") as f:
        p, port = start_sink(procs, args, stdout=f)
        smtp_source(port, 10000, 20)
        harness.wait_for(lambda: (counters(out) or (0, 0, 0))[1:] == (10000, 10000),
                         timeout=30, what=f"-c to reach 10000 (have {counters(out)})")
        check(p.poll() is None, "sink died")
    c = counters(out)
    check(c[1] == 10000 and c[2] == 10000, f"counters {c}")
    if dump:
        files = glob.glob(os.path.join(tmp, f"d{threads}", "*", "m.*"))
        check(len(files) == 10000, f"{len(files)} dump files, want 10000")
        with open(files[0]) as fh:
            text = fh.read()
        check(text.startswith("X-Client-Addr: 127.0.0.1\nX-Client-Proto: SMTP\nX-Helo-Args: "),
              f"dump starts {text[:80]!r}")
        check(text.endswith("\n\n"), "dump ends with an empty line")


def swaks(args, timeout=60):
    return harness.run(["/usr/bin/swaks", "--hide-informational", *args], timeout=timeout)


def test_swaks_pipelining(tmp):
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["-d", os.path.join(tmp, "pipe.")])
        r = swaks(["--server", f"127.0.0.1:{port}", "--pipeline", "--from", "a@example.com",
                   "--to", "b@example.com,c@example.com", "--body", "pipelined body"])
        check(r.returncode == 0, f"swaks --pipeline: {r.stdout[-500:]!r} {r.stderr!r}")
        check(b"250 2.0.0 Ok" in r.stdout, "final reply")
        harness.wait_for(lambda: glob.glob(os.path.join(tmp, "pipe.*")), what="dump")
        text = open(glob.glob(os.path.join(tmp, "pipe.*"))[0]).read()
        check("X-Rcpt-Args: <b@example.com>\nX-Rcpt-Args: <c@example.com>\n" in text, text)
        check("pipelined body" in text, "body dumped")


def test_starttls(tmp):
    cert, key = harness.make_cert(tmp)
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["--tls-cert", cert, "--tls-key", key])
        c = Client(port)
        c.reply()
        c.send(b"EHLO x\r\n")
        check("250-STARTTLS" in c.reply(), "STARTTLS announced")
        c.close()
        r = swaks(["--server", f"127.0.0.1:{port}", "--tls", "--from", "a@example.com",
                   "--to", "b@example.com"])
        if b"requires Net::SSLeay" in r.stderr:
            print("note: swaks lacks Net::SSLeay (libnet-ssleay-perl); STARTTLS by smtplib only",
                  file=sys.stderr)
        else:
            check(r.returncode == 0, f"swaks --tls: {r.stdout[-800:]!r} {r.stderr!r}")
            check(b"250 2.0.0 Ok" in r.stdout and b"220 2.0.0 Ready to start TLS" in r.stdout,
                  "TLS transaction")
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.starttls(context=ssl._create_unverified_context())
            s.ehlo()
            check(not s.has_extn("starttls"), "no STARTTLS once TLS is up")
            check(s.sendmail("a@example.com", ["b@example.com"], b"Subject: tls\r\n\r\nx\r\n") == {},
                  "smtplib over TLS")
        c = Client(port)                # STARTTLS with pipelined junk: the junk is dropped
        c.reply()
        c.send(b"EHLO x\r\n")
        c.reply()
        c.send(b"STARTTLS\r\nNOOP\r\n")
        check(c.reply() == "220 2.0.0 Ready to start TLS", "starttls")
        tls = ssl._create_unverified_context().wrap_socket(c.s)
        tls.sendall(b"NOOP\r\n")
        check(tls.recv(100) == b"250 2.0.0 Ok\r\n", "exactly one reply after TLS")
        tls.close()


def test_bdat_session():
    with harness.Procs() as procs:
        p, port = start_sink(procs, [])
        c = Client(port)
        c.reply()
        c.send(b"EHLO x\r\n")
        check("250-CHUNKING" in c.reply(), "CHUNKING announced")
        body = b"Subject: chunks\r\n\r\n" + b"x" * 100000 + b"\r\n"
        c.send(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n")
        check(c.reply() == "250 2.1.0 Ok" and c.reply() == "250 2.1.5 Ok", "envelope")
        c.send(b"BDAT %d\r\n" % 50000 + body[:50000])
        check(c.reply() == "250 2.0.0 Ok: 50000 octets", "first chunk")
        rest = body[50000:]
        c.send(b"BDAT %d LAST\r\n" % len(rest) + rest + b"QUIT\r\n")
        check(c.reply() == "250 2.0.0 Ok", "last chunk")
        check(c.reply() == "221 Bye", "quit")
        c.close()
    with harness.Procs() as procs:      # --no-chunking: BDAT is unknown
        p, port = start_sink(procs, ["--no-chunking", "--no-size"])
        c = Client(port)
        c.reply()
        c.send(b"EHLO x\r\n")
        r = c.reply()
        check("CHUNKING" not in r and "SIZE" not in r, r)
        c.send(b"BDAT 1 LAST\r\n")
        check(c.reply() == "500 5.5.1 Error: unknown command", "BDAT off")


def test_smtplib_recipients(tmp):
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["-D", os.path.join(tmp, "shared", "all")])
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            refused = s.sendmail("a@example.com", ["r1@example.com", "r2@example.com", "r3@example.com"],
                                 b"Subject: smtplib\r\n\r\nhello\r\n.leading dot\r\n")
            check(refused == {}, f"refused {refused}")
            s.sendmail("b@example.com", ["r4@example.com"], b"Subject: two\r\n\r\nagain\r\n")
        path = os.path.join(tmp, "shared", "all")
        harness.wait_for(lambda: os.path.exists(path) and open(path).read().count("X-Client-Addr") == 2,
                         what="two messages in the shared dump")
        text = open(path).read()
        check(text.count("X-Rcpt-Args:") == 4, text)
        check("\nhello\n.leading dot\n\n" in text, "dot-unstuffed body")


def transaction(port, family=socket.AF_INET, address=None):
    c = Client(port, family=family, address=address)
    c.reply()
    for cmd in [b"EHLO  client.example\r\n", b"MAIL FROM:<s@example.com> SIZE=100 BODY=8BITMIME\r\n",
                b"RCPT TO:<r1@example.com> NOTIFY=NEVER\r\n", b"RCPT TO: <r\x01\xe9@example.com>\r\n",
                b"DATA\r\n", b"Subject: compare\r\n\r\n.dot\r\n..two\r\nbare\rcr\nlf\r\n\r\n.\r\n",
                b"QUIT\r\n"]:
        c.send(cmd)
        c.reply()
    c.close()


def mask_id(text):
    return re.sub(r"id [0-9a-f]{8};", "id ID;", text)


def dump_of(tmp, who, env):
    """The dump of one transaction(), by Postfix's smtp-sink or ours."""
    d = tempfile.mkdtemp(prefix="cmp-" + who, dir=tmp)
    os.chmod(d, 0o777)
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["-d", os.path.join(d, "%Y/x."), "-S", "Start\\n\\101\\\\"],
                             postfix=(who == "postfix"), env=env)
        transaction(port)
        harness.wait_for(lambda: len(glob.glob(os.path.join(d, "*", "x.*"))) == 1, what="dump")
    return open(glob.glob(os.path.join(d, "*", "x.*"))[0], "rb").read().decode("latin-1")


def test_dump_matches_postfix(tmp):
    """Both sinks' dumps of one transaction are the same bytes but for the
    id, under a clock stopped on each date and zone of harness.CLOCK_CASES,
    in a German locale: the Received date line included."""
    locale_dir = harness.make_locale(tmp)
    for when, tz in harness.CLOCK_CASES:
        dumps = {}
        for who in ("postfix", "ours"):
            env = harness.postfix_tool("smtp-sink")[1] if who == "postfix" else dict(os.environ)
            dumps[who] = mask_id(dump_of(tmp, who, harness.fake_clock(env, when, tz, locale_dir)))
        check(dumps["ours"] == dumps["postfix"],
              f"{when} {tz}: dumps differ:\npostfix {dumps['postfix']!r}\nours    {dumps['ours']!r}")
        want = f";\n\t{harness.mail_date(when, tz)}\n"
        check(want in dumps["ours"], f"{when} {tz}: want {want!r} in {dumps['ours']!r}")


def test_ipv6_and_unix(tmp):
    with harness.Procs() as procs:
        port = harness.free_port()
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            print("skip ipv6: no ::1", file=sys.stderr)
        else:
            start_sink(procs, ["-6", "-d", os.path.join(tmp, "v6.")], port=port, addr=f"[::1]:{port}")
            transaction(port, family=socket.AF_INET6, address=("::1", port))
            harness.wait_for(lambda: glob.glob(os.path.join(tmp, "v6.*")), what="v6 dump")
            text = open(glob.glob(os.path.join(tmp, "v6.*"))[0]).read()
            check("X-Client-Addr: ipv6:::1\n" in text and "([ipv6:::1])" in text, text[:200])
        path = os.path.join(tmp, "sink.sock")
        start_sink(procs, ["-L", "-d", os.path.join(tmp, "ux.")], addr="unix:" + path)
        c = Client(family=socket.AF_UNIX, address=path)
        check(c.reply() == "220 smtp-sink ESMTP", "greeting")
        c.send(b"LHLO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nRCPT TO:<c>\r\nDATA\r\n")
        for _ in range(5):
            c.reply()
        c.send(b"hi\r\n.\r\n")
        check(c.reply() == "250 2.2.0 Ok" and c.reply() == "250 2.2.0 Ok", "LMTP replies")
        c.close()
        harness.wait_for(lambda: glob.glob(os.path.join(tmp, "ux.*")), what="unix dump")
        text = open(glob.glob(os.path.join(tmp, "ux.*"))[0]).read()
        check(text.startswith("X-Client-Addr: local\nX-Client-Proto: LMTP\n"), text[:100])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        test_dump_matches_postfix(tmp)
        test_starttls(tmp)
        test_bdat_session()
        test_smtplib_recipients(tmp)
        test_ipv6_and_unix(tmp)
        test_swaks_pipelining(tmp)
        test_smtp_source_count(tmp, dump=False)
        test_smtp_source_count(tmp, dump=True)
        test_smtp_source_count(tmp, dump=False, threads=3)
    print("ok")


if __name__ == "__main__":
    main()
