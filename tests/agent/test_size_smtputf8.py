"""SIZE (RFC 1870) and --smtputf8 (RFC 6531) of smtpstorm-agent:

- a server announcing SIZE 1000 gets no MAIL and no body for a message of
  -l 2000: each counts a too_big error in the --json report, the session
  goes on (QUIT, or the next message with -d), standalone with
  --mail-size, with drop-in -L (LHLO offers SIZE) and in a campaign;
- under the limit mail flows; SIZE= is on MAIL, exactly the octets the
  server then receives, with --mail-size, --pipelining, --chunking and in
  daemon mode, and not in drop-in use (smtp-source's MAIL line);
- --smtputf8 with UTF-8 -f and -t: Python's aiosmtpd (enable_SMTPUTF8)
  receives the envelope exactly, smtpstorm-sink dumps it byte for byte
  with SMTPUTF8 on MAIL; a server without SMTPUTF8 gets nothing and each
  message counts no_smtputf8."""

import glob
import os
import re
import sys
import tempfile

import harness
from agenttest import aiosmtpd_received, run_agent_json, start_aiosmtpd
from badserver import Server, esmtp_sink

check = harness.check
SENDER, RCPT = "sénder@exämple.com", "rcpt€@例え.jp"


def agent(server, args):
    proc, rep = run_agent_json(list(args) + ["--quiet", f"127.0.0.1:{server.port}"])
    check(rep is not None, f"{args}: no report: {proc.stderr}")
    return proc, rep


def mails(server):
    return [c.decode() for c in server.commands if c[:4].upper() == b"MAIL"]


def test_over_the_limit_is_not_sent(tmp):
    for args, want_verb in ((["-m", "3", "--mail-size"], "EHLO"), (["-m", "3", "-d", "--pipelining"], "EHLO"),
                            (["-m", "2", "-L"], "LHLO")):
        server = Server(esmtp_sink("PIPELINING", "SIZE 1000"))
        try:
            proc, rep = agent(server, args + ["-l", "2000"])
        finally:
            server.stop()
        m = int(args[1])
        check(proc.returncode == 1, f"{args}: exit {proc.returncode}, want 1")
        check(rep["errors_by_kind"]["too_big"] == m and rep["totals"]["errors"] == m,
              f"{args}: errors {rep['errors_by_kind']}, want {m} too_big")
        check(rep["totals"]["messages_attempted"] == 0 and rep["totals"]["messages_accepted"] == 0,
              f"{args}: {rep['totals']}")
        check(mails(server) == [] and server.messages == [], f"{args}: sent {server.commands}")
        verbs = [c[:4].decode().upper() for c in server.commands]
        check(verbs.count(want_verb) >= 1 and set(verbs) <= {want_verb, "QUIT"},
              f"{args}: the session went on to QUIT: {verbs}")
        check(verbs.count("QUIT") == (1 if "-d" in args else m), f"{args}: {verbs}")
        check("over the server's SIZE 1000: not sent" in proc.stderr, proc.stderr)


def test_under_the_limit_size_on_mail_by_the_rule(tmp):
    cases = ((["--mail-size"], True, "DATA"), (["--pipelining", "-d"], True, "DATA"),
             (["--chunking"], True, "BDAT"), (["-L"], False, "DATA"))
    for extra, with_size, verb in cases:
        server = Server(esmtp_sink("PIPELINING", "CHUNKING", "SIZE 1000"))
        try:
            proc, rep = agent(server, ["-m", "2", "-l", "100"] + extra)
        finally:
            server.stop()
        check(proc.returncode == 0 and rep["totals"]["messages_accepted"] == 2, f"{extra}: {proc.stderr}")
        check(len(server.messages) == 2, f"{extra}: {len(server.messages)} messages")
        for v, mail, rcpts, content in server.messages:
            check(v == verb, f"{extra}: {v}")
            if with_size:
                check(mail == f"<foo@{os.uname().nodename}> SIZE={len(content)}",
                      f"{extra}: MAIL {mail!r}, {len(content)} octets received")
            else:
                check(mail == f"<foo@{os.uname().nodename}>", f"{extra}: drop-in MAIL {mail!r}")
    # no extension option: HELO, smtp-source's dialogue (no limit learnt)
    server = Server(esmtp_sink("SIZE 1000"))
    try:
        proc, rep = agent(server, ["-m", "1", "-l", "2000"])
    finally:
        server.stop()
    check(proc.returncode == 0 and server.commands[0].startswith(b"HELO "), f"HELO: {server.commands}")
    check(mails(server) == [f"MAIL FROM:<foo@{os.uname().nodename}>"], f"{mails(server)}")


def test_campaign_sends_size_and_counts_too_big(tmp):
    report = os.path.join(tmp, "size-campaign.json")
    server = Server(esmtp_sink("PIPELINING", "SIZE 1000"))
    try:
        done, data = harness.run_campaign(
            [harness.program("smtpstorm"), "run", "--local", "1", "--pipelining", "-m", "3", "-l", "100",
             "--json", report, f"127.0.0.1:{server.port}"], report, "SIZE in a campaign")
        check(done.returncode == 0 and data["totals"]["messages_accepted"] == 3, f"exit {done.returncode}")
        check(all(re.fullmatch(r"<\S+> SIZE=(\d+)", m[1]) and int(m[1].split("=")[1]) == len(m[3])
                  for m in server.messages) and len(server.messages) == 3,
              f"campaign MAIL lines {[m[1] for m in server.messages]}")
        before = len(server.commands)
        done, data = harness.run_campaign(
            [harness.program("smtpstorm"), "run", "--local", "1", "--pipelining", "-m", "4", "-s", "2",
             "-l", "2000", "--json", report, f"127.0.0.1:{server.port}"], report, "too big in a campaign")
    finally:
        server.stop()
    check(done.returncode == 4, f"too big: exit {done.returncode}, want 4 (target errors)")
    check(data["errors_by_kind"]["too_big"] == 4 and data["totals"]["messages_attempted"] == 0,
          f"campaign report {data['errors_by_kind']} {data['totals']}")
    check(not any(c[:4].upper() == b"MAIL" for c in server.commands[before:]), "no MAIL sent")


def test_smtputf8_aiosmtpd(tmp):
    with harness.Procs() as procs:
        port, out = start_aiosmtpd(procs, tmp, "--smtputf8")
        proc, rep = run_agent_json(["-m", "3", "-s", "2", "-r", "2", "--smtputf8", "-f", SENDER, "-t", RCPT,
                                    f"127.0.0.1:{port}"])
        check(proc.returncode == 0 and rep["totals"]["messages_accepted"] == 3, f"smtputf8: {proc.stderr}")
        got = aiosmtpd_received(out)
        check(len(got) == 3, f"aiosmtpd received {len(got)}")
        for m in got:
            check(m["mail_from"] == SENDER and m["rcpt_tos"] == ["2" + RCPT, RCPT],
                  f"envelope {m['mail_from']!r} {m['rcpt_tos']!r}")
            check(m["mail_options"] == ["SMTPUTF8"], f"MAIL parameters {m['mail_options']}")
        port, out = start_aiosmtpd(procs, tmp, "--no-smtputf8")     # not offered: nothing sent
        proc, rep = run_agent_json(["-m", "3", "-d", "--smtputf8", "-f", SENDER, "-t", RCPT,
                                    f"127.0.0.1:{port}"])
        check(proc.returncode == 1, f"no SMTPUTF8: exit {proc.returncode}")
        check(rep["errors_by_kind"]["no_smtputf8"] == 3 and rep["totals"]["messages_attempted"] == 0,
              f"{rep['errors_by_kind']} {rep['totals']}")
        check(aiosmtpd_received(out) == [], "nothing delivered without SMTPUTF8")
        check("does not offer SMTPUTF8 (--smtputf8)" in proc.stderr, proc.stderr)


def start_dumping_sink(procs, tmp, name):
    """smtpstorm-sink dumping every message (-d) into tmp/name: (port, folder)."""
    folder = os.path.join(tmp, name)
    os.makedirs(folder)
    os.chmod(tmp, 0o777)                    # the sink runs as nobody under root
    os.chmod(folder, 0o777)
    port = harness.free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    p = procs.start([harness.program("smtpstorm-sink")] + user
                    + ["-d", os.path.join(folder, "m."), f"127.0.0.1:{port}", "100"])
    harness.wait_port(port, proc=p)
    return port, folder


def test_smtputf8_smtpstorm_sink(tmp):
    with harness.Procs() as procs:
        port, folder = start_dumping_sink(procs, tmp, "dumps")
        proc, rep = run_agent_json(["-m", "1", "--smtputf8", "-f", SENDER, "-t", RCPT, f"127.0.0.1:{port}"])
        check(proc.returncode == 0, f"to smtpstorm-sink: {proc.stderr}")
        harness.wait_for(lambda: len(glob.glob(os.path.join(folder, "m.*"))) == 1, what="the dump")
        with open(glob.glob(os.path.join(folder, "m.*"))[0], "rb") as f:
            text = f.read()
    for want in (f"\nX-Mail-Args: <{SENDER}> SMTPUTF8\n", f"\nX-Rcpt-Args: <{RCPT}>\n",
                 f"\nFrom: <{SENDER}>\n", f"\nTo: <{RCPT}>\n"):
        check(want.encode() in text, f"{want!r} not in the dump:\n{text[:600]!r}")


def test_smtputf8_campaign(tmp):
    """smtpstorm run --smtputf8 with UTF-8 -f and -t: the agents' MAIL carries
    SMTPUTF8 and smtpstorm-sink's dumps hold both addresses byte for byte."""
    with harness.Procs() as procs:
        port, folder = start_dumping_sink(procs, tmp, "campaign-dumps")
        report = os.path.join(tmp, "utf8-campaign.json")
        done, data = harness.run_campaign([harness.program("smtpstorm"), "run", "--local", "1", "-m", "2",
                                           "--smtputf8", "-f", SENDER, "-t", RCPT, "--json", report,
                                           f"127.0.0.1:{port}"], report, "utf8-campaign")
        check(done.returncode == 0 and data["totals"]["messages_accepted"] == 2, f"campaign: exit {done.returncode}")
        harness.wait_for(lambda: len(glob.glob(os.path.join(folder, "m.*"))) == 2, what="the dumps")
        for path in glob.glob(os.path.join(folder, "m.*")):
            with open(path, "rb") as f:
                text = f.read()
            mail = re.search(rb"\nX-Mail-Args: ([^\n]*)\n", text)      # a daemon agent adds SIZE=
            check(mail is not None and mail.group(1).startswith(f"<{SENDER}> ".encode())
                  and b" SMTPUTF8" in mail.group(1), f"MAIL's arguments in the dump:\n{text[:600]!r}")
            check(f"\nX-Rcpt-Args: <{RCPT}>\n".encode() in text, f"RCPT's in the dump:\n{text[:600]!r}")


def main():
    harness.run_tests([test_over_the_limit_is_not_sent, test_under_the_limit_size_on_mail_by_the_rule,
                       test_campaign_sends_size_and_counts_too_big, test_smtputf8_aiosmtpd,
                       test_smtputf8_smtpstorm_sink, test_smtputf8_campaign], "size-smtputf8-")


if __name__ == "__main__":
    sys.exit(main())
