"""Python's aiosmtpd receives exactly the messages smtpstorm-agent sends:
plain, --pipelining (aiosmtpd advertising PIPELINING), --starttls (with
and without --tls-verify, and resumed with --tls-resume) and --auth."""

import os
import re
import sys
import tempfile

import harness
from agenttest import aiosmtpd_received, run_agent_json, start_aiosmtpd

TRACE = re.compile(r"^X-Smtpstorm-Trace: (\S+) (\S+) (\d+) (\d+)\r?$", re.M)


def names(path):
    """The server names (SNI) the TLS server was asked for, in order."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().split()


def check_messages(got, n, rcpts, campaign="standalone", length=None):
    harness.check(len(got) == n, f"aiosmtpd received {len(got)} messages, want {n}")
    seqs = set()
    for m in got:
        harness.check(m["rcpt_tos"] == rcpts, f"recipients {m['rcpt_tos']}, want {rcpts}")
        t = TRACE.findall(m["data"])
        harness.check(len(t) == 1 and t[0][0] == campaign, f"trace header in {m['data'][:300]!r}")
        seqs.add(int(t[0][2]))
        harness.check("\r\nMessage-Id: <" in m["data"] and "\r\nFrom: <" in m["data"], m["data"][:300])
        if length is not None:
            body = m["data"].split("\r\n\r\n", 1)[1]
            harness.check(len(body) == length + 2, f"body of {len(body)} octets, want {length + 2}")
    harness.check(seqs == set(range(n)), f"trace sequence numbers {sorted(seqs)}")


def main():
    with tempfile.TemporaryDirectory() as tmp, harness.Procs() as procs:
        port, out = start_aiosmtpd(procs, tmp)
        proc, rep = run_agent_json(["-s", "5", "-m", "50", "-r", "2", "-l", "1000", "-M", "vm.test",
                                    f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, f"plain: {proc.stderr}")
        check_messages(aiosmtpd_received(out), 50, ["2foo@vm.test", "foo@vm.test"], length=1000)
        harness.check(rep["totals"]["messages_accepted"] == 50, rep["totals"])

        port, out = start_aiosmtpd(procs, tmp, "--pipelining")
        proc, rep = run_agent_json(["-v", "-d", "-s", "3", "-m", "30", "-M", "vm.test",
                                    "--campaign-id", "c-42", "--pipelining", f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, f"pipelining: {proc.stderr}")
        check_messages(aiosmtpd_received(out), 30, ["foo@vm.test"], campaign="c-42")
        lines = [l.split(": ", 1)[-1] for l in proc.stderr.splitlines()]
        first = lines.index(next(l for l in lines if l.startswith("MAIL FROM")))
        harness.check(lines[first + 1].startswith("RCPT TO") and lines[first + 2] == "DATA",
                      f"MAIL, RCPT and DATA not sent together: {lines[first:first + 4]}")

        cert, key = harness.make_cert(tmp)
        port, out = start_aiosmtpd(procs, tmp, "--tls", cert, key)
        proc, rep = run_agent_json(["-s", "2", "-m", "10", "--starttls", f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, f"starttls: {proc.stderr}")
        check_messages(aiosmtpd_received(out), 10, [f"foo@{os.uname().nodename}"])
        tls = rep["latency_ms"]["starttls"]
        harness.check(tls is not None and tls["count"] == 10 and tls["p50"] > 0,
                      f"a starttls latency for each of the 10 sessions: {tls}")
        # --tls-resume: Python's ssl server (OpenSSL's tickets) resumes
        # every session after the first of one loop's one-at-a-time sessions.
        proc, rep = run_agent_json(["-s", "1", "-m", "6", "--starttls", "--tls-resume", f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0 and rep["totals"]["tls_handshakes"] == 6
                      and rep["totals"]["tls_resumed"] == 5, f"--tls-resume into aiosmtpd: {rep['totals']}")
        harness.check(len(aiosmtpd_received(out)) == 16, "resumed sessions delivered 6 more")
        proc, rep = run_agent_json(["-m", "4", "-d", "--starttls", "--tls-verify", "--tls-ca", cert,
                                    f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, f"starttls --tls-verify: {proc.stderr}")
        harness.check(len(aiosmtpd_received(out)) == 20, "verified TLS delivered 4 more")
        proc, rep = run_agent_json(["-m", "2", "--starttls", "--tls-verify", f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 1 and rep["errors_by_kind"]["tls"] == 2,
                      f"an untrusted certificate is a TLS error: {proc.returncode} {rep['errors_by_kind']}")
        harness.check("certificate verif" in proc.stderr, proc.stderr)

        # SNI: a target named by host name is named in the TLS handshake,
        # standalone and in daemon mode (through the coordinator).
        sni = os.path.join(tmp, "sni.txt")
        port, out = start_aiosmtpd(procs, tmp, "--tls", cert, key, "--sni-out", sni)
        proc, rep = run_agent_json(["-4", "-m", "2", "--starttls", f"localhost:{port}"])
        harness.check(proc.returncode == 0, f"starttls to localhost: {proc.stderr}")
        harness.check(names(sni) == ["localhost"] * 2, f"standalone SNI: {names(sni)}")
        report = os.path.join(tmp, "sni-campaign.json")
        done, data = harness.run_campaign(
            [harness.program("smtpstorm"), "run", "--local", "1", "-4", "-m", "3", "--starttls",
             "--json", report, f"localhost:{port}"], report, "SNI in daemon mode")
        harness.check(done.returncode == 0 and data["totals"]["messages_accepted"] == 3,
                      f"campaign over STARTTLS: exit {done.returncode}")
        harness.check(data["latency_ms"]["starttls"]["count"] == 3, f"campaign's starttls: {data['latency_ms']}")
        harness.check("\n  starttls " in done.stdout.decode(), "no starttls row in the summary")
        harness.check(names(sni) == ["localhost"] * 5, f"daemon-mode SNI: {names(sni)}")

        port, out = start_aiosmtpd(procs, tmp, "--auth", "alice:s3cret")
        proc, rep = run_agent_json(["-m", "5", "-d", "--auth", "alice:s3cret", f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, f"auth: {proc.stderr}")
        harness.check(len(aiosmtpd_received(out)) == 5, "authenticated messages delivered")
        proc, rep = run_agent_json(["-m", "5", "--auth", "alice:wrong", f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 1 and "authentication rejected: 535" in proc.stderr,
                      f"a refused AUTH aborts: {proc.returncode} {proc.stderr}")
        harness.check(len(aiosmtpd_received(out)) == 5, "nothing delivered without AUTH")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
