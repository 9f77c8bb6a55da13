"""badserver - small misbehaving SMTP servers for the agent's tests, each
in a thread of the test process: one that closes in the middle of DATA,
one that never answers, one that trickles its greeting and never ends it,
one that goes silent after DATA, one that sends garbage, and well-behaved
ones that announce chosen extensions (SIZE, SMTPUTF8, ...), speak BDAT (RFC
3030) and record every command and message they receive."""

import socket
import threading


class Server:
    """Accept connections on 127.0.0.1 and run handler(conn) for each in a
    thread; stop() closes everything."""

    def __init__(self, handler):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.messages = []
        self.commands = []
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.handler(self, conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass


class Lines:
    """Line and counted reads over a socket."""

    def __init__(self, conn):
        self.conn = conn
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            data = self.conn.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def exactly(self, n):
        while len(self.buf) < n:
            data = self.conn.recv(65536)
            if not data:
                return None
            self.buf += data
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def until_data(conn):
    """Greets and says 250 to everything up to DATA, which gets 354: the
    Lines reader then, or None when the client left first."""
    r = Lines(conn)
    conn.sendall(b"220 bad.example ESMTP\r\n")
    while True:
        line = r.line()
        if line is None:
            return None
        verb = line[:4].upper()
        if verb == b"DATA":
            conn.sendall(b"354 go ahead\r\n")
            return r
        conn.sendall(b"221 bye\r\n" if verb == b"QUIT" else b"250 ok\r\n")


def closes_mid_data(server, conn):
    """Greets, accepts the envelope, then closes after part of the message."""
    r = until_data(conn)
    if r is not None:
        r.line()            # close with the message half read


def never_answers(server, conn):
    """Accepts the connection and says nothing until the peer leaves."""
    while conn.recv(65536):
        pass


def trickles(server, conn):
    """Starts a greeting line and sends one more octet of it every 0.2 s,
    never ending it."""
    conn.settimeout(0.2)
    conn.sendall(b"220-")
    while not server.stopping:
        conn.sendall(b"x")
        try:
            if conn.recv(65536) == b"":
                return
        except socket.timeout:
            pass


def silent_after_data(server, conn):
    """Takes the envelope and DATA (354), reads the message and never
    answers its end."""
    r = until_data(conn)
    while r is not None and r.line() is not None:
        pass


def garbage(server, conn):
    """Answers with something that is not SMTP."""
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    while conn.recv(65536):
        conn.sendall(b"\x00\xff garbage\r\n")


def bdat_sink(server, conn):
    """A small correct ESMTP server with PIPELINING and CHUNKING: records
    (verb, mail, rcpts, content) of every message it accepts."""
    esmtp_sink("PIPELINING", "CHUNKING", "8BITMIME")(server, conn)


def esmtp_sink(*extensions):
    """A handler for Server: a small correct ESMTP server announcing
    extensions after EHLO or LHLO; records every command line in
    server.commands and (verb, mail, rcpts, content) of every message it
    accepts in server.messages (mail: the MAIL line after "MAIL FROM:")."""
    ehlo = b"".join(b"250-" + e.encode() + b"\r\n" for e in extensions[:-1])
    ehlo = b"250-sink.example\r\n" + ehlo + b"250 " + (extensions[-1] if extensions else "HELP").encode() + b"\r\n"
    return lambda server, conn: _esmtp_session(server, conn, ehlo)


def _esmtp_session(server, conn, ehlo):
    r = Lines(conn)
    conn.sendall(b"220 sink.example ESMTP\r\n")
    mail, rcpts, chunks = None, [], []
    while True:
        line = r.line()
        if line is None:
            return
        with server.lock:
            server.commands.append(line)
        verb = line[:4].upper()
        if verb in (b"EHLO", b"LHLO"):
            conn.sendall(ehlo)
        elif verb == b"HELO":
            conn.sendall(b"250 sink.example\r\n")
        elif verb == b"MAIL":
            mail, rcpts, chunks = line[10:].decode(), [], []
            conn.sendall(b"250 2.1.0 ok\r\n")
        elif verb == b"RCPT":
            rcpts.append(line[8:].decode())
            conn.sendall(b"250 2.1.5 ok\r\n")
        elif verb == b"BDAT":
            parts = line.split()
            data = r.exactly(int(parts[1]))
            if data is None:
                return
            chunks.append(data)
            if len(parts) > 2 and parts[2].upper() == b"LAST":
                with server.lock:
                    server.messages.append(("BDAT", mail, rcpts, b"".join(chunks)))
            conn.sendall(b"250 2.0.0 ok\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 go ahead\r\n")
            body = []
            while True:
                l = r.line()
                if l is None:
                    return
                if l == b".":
                    break
                body.append(l[1:] if l.startswith(b".") else l)
            with server.lock:
                server.messages.append(("DATA", mail, rcpts, b"\r\n".join(body) + b"\r\n"))
            conn.sendall(b"250 2.0.0 ok\r\n")
        elif verb == b"RSET":
            conn.sendall(b"250 ok\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"502 5.5.2 unknown\r\n")
