"""--mime and --attach (issue 15), as Python's aiosmtpd (a peer nobody here
wrote) receives them and Python's email package (policy default) reads
them:

- 10,000 generated --mime --attach messages parse with no defects: a
  mail client's headers (From, To, Subject, Date, a unique Message-ID,
  MIME-Version), multipart/mixed of a multipart/alternative text and HTML
  pair and 0 to 3 attachments in base64 of 76-column lines, with names
  and types; every attachment decodes to the size drawn (computed here
  from the seed and the message's trace number, as lib/dist.c draws it);
  the text is words, not one repeated byte;
- --mime alone is multipart/alternative; through a campaign (the
  command line and the campaign file keys mime:/attach:/attachments:)
  too;
- bad values are refused naming the option."""

import email
import email.policy
import os
import re
import sys

import harness
from agenttest import aiosmtpd_received, run_agent, start_aiosmtpd

check = harness.check
M64 = (1 << 64) - 1
STREAM_COUNT, STREAM_ATTACH = 18, 64     # agent/mime.c's streams (DIST_STREAM_FREE = 16)


def mix64(z):
    z = (z + 0x9e3779b97f4a7c15) & M64
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def dist_random(seed, seq, stream):
    return mix64(mix64(mix64(seed) ^ seq) ^ stream)


def uniform(lo, hi, r):
    return lo + ((r * (hi - lo + 1)) >> 64)


def parse(data):
    msg = email.message_from_bytes(data.encode("latin-1"), policy=email.policy.default)
    defects = list(msg.defects) + [d for part in msg.walk() for d in part.defects]
    check(not defects, f"defects {defects} in {msg['Message-ID']}")
    return msg


def test_mime_attach_10000(tmp):
    seed, n = 11, 10000
    with harness.Procs() as procs:
        port, out = start_aiosmtpd(procs, tmp, "--pipelining")
        proc = run_agent(["-m", str(n), "-s", "8", "-d", "--pipelining", "--quiet", "--seed", str(seed),
                          "--mime", "--size", "300-3000", "--attach", "100-6000", "--attachments", "0-3",
                          f"127.0.0.1:{port}"], timeout=240)
        check(proc.returncode == 0, f"agent: {proc.stderr}")
        got = aiosmtpd_received(out)
    check(len(got) == n, f"{len(got)} of {n} arrived")
    ids, kinds, words = set(), set(), set()
    for m in got:
        msg = parse(m["data"])
        for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
            check(msg[h], f"no {h}: in {m['data'][:300]!r}")
        check(msg["Date"].datetime is not None, f"Date {msg['Date']!r}")
        ids.add(msg["Message-ID"])
        seq = int(msg["X-Smtpstorm-Trace"].split()[2])
        count = uniform(0, 3, dist_random(seed, seq, STREAM_COUNT))
        want_type = "multipart/mixed" if count else "multipart/alternative"
        check(msg.get_content_type() == want_type, f"{seq}: {msg.get_content_type()}, want {want_type}")
        body = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        check(body is not None and html is not None, f"{seq}: no text or no HTML part")
        text = body.get_content()
        words.update(text.split())
        check(html.get_content().lstrip().startswith("<html>"), f"{seq}: html part {html.get_content()[:40]!r}")
        atts = list(msg.iter_attachments())
        check(len(atts) == count, f"{seq}: {len(atts)} attachments, drew {count}")
        for i, att in enumerate(atts):
            want = uniform(100, 6000, dist_random(seed, seq, STREAM_ATTACH + 3 * i))
            data = att.get_content()
            check(len(data) == want, f"{seq} attachment {i}: {len(data)} octets, drew {want}")
            check(att["Content-Transfer-Encoding"] == "base64" and att.get_filename(),
                  f"{seq} attachment {i}: {att['Content-Transfer-Encoding']} {att.get_filename()}")
            kinds.add(att.get_content_type())
            raw = att.get_payload(decode=False)
            check(all(len(line) <= 76 for line in raw.splitlines()), f"{seq}: base64 line over 76")
    check(len(ids) == n, f"{n - len(ids)} Message-IDs not unique")
    check(len(kinds) >= 4, f"attachment types {kinds}")
    check(len(words) >= 100, f"the text has {len(words)} distinct words")


def test_mime_alone_and_in_campaigns(tmp):
    path = os.path.join(tmp, "mime.yaml")
    with open(path, "w") as f:
        f.write("messages: 20\nmime: true\nattach: 2k\nattachments: 2\n")
    with harness.Procs() as procs:
        port, out = start_aiosmtpd(procs, tmp)
        proc = run_agent(["-m", "5", "--mime", "-l", "500", "--quiet", f"127.0.0.1:{port}"])
        check(proc.returncode == 0, f"--mime: {proc.stderr}")
        for m in aiosmtpd_received(out):
            msg = parse(m["data"])
            check(msg.get_content_type() == "multipart/alternative" and not list(msg.iter_attachments()),
                  f"--mime alone: {msg.get_content_type()}")
        for name, argv in (("command line", ["--local", "2", "-m", "20", "--attach", "2k", "--attachments", "2"]),
                           ("campaign file", ["--local", "2", "--campaign", path])):
            port, out = start_aiosmtpd(procs, tmp)
            report = os.path.join(tmp, f"mime-{name[0]}.json")
            done, data = harness.run_campaign([harness.program("smtpstorm"), "run", *argv, "--json", report,
                                               f"127.0.0.1:{port}"], report, name)
            check(done.returncode == 0, f"{name}: exit {done.returncode}")
            got = aiosmtpd_received(out)
            check(len(got) == 20, f"{name}: {len(got)} arrived")
            for m in got:
                msg = parse(m["data"])
                sizes = [len(a.get_content()) for a in msg.iter_attachments()]
                check(sizes == [2048, 2048], f"{name}: attachments {sizes}")


def test_bad_mime_options(tmp):
    for args, want in ((["--attach", "2x"], "--attach: '2x': bad size '2x'"),
                       (["--attach", "1k", "--attachments", "17"], "--attachments: '17': 17 is out of range (0 to 16)"),
                       (["--attachments", "2"], "--attachments needs --attach"),
                       (["--mime", "-o"], "--mime cannot be used with -F or -o")):
        proc = run_agent(args + ["127.0.0.1:1"])
        check(proc.returncode != 0 and want in proc.stderr, f"{args}: {proc.returncode} {proc.stderr}")
    done = harness.run([harness.program("smtpstorm"), "run", "--local", "1", "--attach", "65m", "127.0.0.1:1"])
    err = done.stderr.decode()
    check(done.returncode == 2 and re.search(r"--attach: '65m': 65m is out of range", err), f"run: {err}")


def main():
    harness.run_tests([test_mime_attach_10000, test_mime_alone_and_in_campaigns, test_bad_mime_options], "mime-")


if __name__ == "__main__":
    sys.exit(main())
