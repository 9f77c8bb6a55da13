"""aiosmtpd_server - Python's aiosmtpd (a peer nobody here wrote) as a
subprocess for the agent's tests: records every message it accepts as one
JSON line {mail_from, rcpt_tos, data} in --out, optionally advertising
PIPELINING, offering STARTTLS (recording the server name each TLS client
asks for, SNI, one per line in --sni-out), AUTH, and SMTPUTF8 (aiosmtpd's
Controller offers it unless --no-smtputf8). Each record has the MAIL
parameters too: mail_options. Runs until SIGTERM."""

import argparse
import json
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Recorder:
    def __init__(self, out, pipelining):
        self.out = open(out, "a")
        self.pipelining = pipelining
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        rec = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
               "mail_options": envelope.mail_options,
               "data": envelope.original_content.decode("latin-1")}
        with self.lock:
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()
        return "250 2.0.0 Ok: queued"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pipelining", action="store_true")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--sni-out", metavar="FILE")
    ap.add_argument("--auth", metavar="USER:PASS")
    ap.add_argument("--smtputf8", action="store_true")
    ap.add_argument("--no-smtputf8", action="store_true")
    a = ap.parse_args()
    kw = {}
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        if a.sni_out:
            sni = open(a.sni_out, "a")

            def record_sni(sock, name, context):
                sni.write(f"{name}\n")
                sni.flush()
            ctx.sni_callback = record_sni
        kw.update(tls_context=ctx, require_starttls=True)
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok, handled=False)
        kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    if a.smtputf8 or a.no_smtputf8:
        kw.update(enable_SMTPUTF8=a.smtputf8)
    ctl = Controller(Recorder(a.out, a.pipelining), hostname=a.host, port=a.port,
                     decode_data=False, **kw)
    ctl.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    ctl.stop()


if __name__ == "__main__":
    main()
