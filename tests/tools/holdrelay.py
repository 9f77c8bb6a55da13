"""holdrelay - an SMTP relay written for the tests: it accepts every message
at once (250 after end of data) and passes it to its next hop exactly HOLD
seconds after it arrived, over a few persistent pipelined connections, so
that a campaign through it has a known delivery latency and a known queue
(rate x HOLD). Not a mail server: no queue files, no retries.

    python3 holdrelay.py LISTEN_PORT NEXT_HOST:NEXT_PORT HOLD_SECONDS [THROTTLE [RATE]]

With RATE (messages a second, 0: none), the relay forwards at most that
many messages a second in all, whatever comes in: a target that accepts
fast and delivers slowly, of known delivery capacity. With THROTTLE (0:
none), MAIL gets "452 4.5.3 Too many messages sent" after that
many messages in a session, answered in the same write as the last 250
when the client pipelines (as a throttling MTA does).

Prints "ready" on stdout once it listens; stops on SIGTERM."""

import asyncio
import signal
import sys

NEXT_HOP_CONNECTIONS = 4


class Relay:
    def __init__(self, next_host, next_port, hold, throttle=0, rate=0.0):
        self.next_host, self.next_port, self.hold, self.throttle = next_host, next_port, hold, throttle
        self.queue = asyncio.Queue()
        self.rate, self.next_due = rate, 0.0

    async def pace(self):
        """With a rate, wait for this message's turn: one every 1/RATE s in all."""
        if not self.rate:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.next_due = max(self.next_due + 1.0 / self.rate, now)    # no credit saved while idle
        if self.next_due > now:
            await asyncio.sleep(self.next_due - now)

    async def serve(self, reader, writer):
        """One client session (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT),
        answered as a pipelining server does: every command of one read,
        then all their replies in one write. With a throttle, MAIL gets 452
        after that many messages in the session."""
        writer.write(b"220 holdrelay ESMTP\r\n")
        buf, state = b"", {"sender": None, "rcpts": [], "in_data": False, "taken": 0, "quit": False}
        while not state["quit"]:
            data = await reader.read(1 << 16)
            if not data:
                break
            buf += data
            out = []
            buf = self.take(buf, state, out)
            writer.write(b"".join(out))
            await writer.drain()
        writer.close()

    def take(self, buf, st, out):
        """Every whole command (and message) in buf: their replies into out;
        returns what is left of buf."""
        while True:
            if st["in_data"]:
                end = buf.find(b"\r\n.\r\n")
                if end < 0:
                    return buf
                body, buf = buf[:end + 5], buf[end + 5:]
                asyncio.get_running_loop().call_later(self.hold, self.queue.put_nowait,
                                                      (st["sender"], st["rcpts"], body))
                st["in_data"], st["taken"] = False, st["taken"] + 1
                out.append(b"250 2.0.0 Ok: queued\r\n")
                continue
            if b"\r\n" not in buf:
                return buf
            line, buf = buf.split(b"\r\n", 1)
            verb = line[:4].upper()
            if verb in (b"EHLO", b"LHLO"):
                out.append(b"250-holdrelay\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"HELO":
                out.append(b"250 holdrelay\r\n")
            elif verb == b"MAIL" and self.throttle and st["taken"] >= self.throttle:
                st["sender"] = None
                out.append(b"452 4.5.3 Too many messages sent\r\n")
            elif verb == b"MAIL":
                st["sender"], st["rcpts"] = line[10:].strip(), []
                out.append(b"250 2.1.0 Ok\r\n")
            elif verb in (b"RCPT", b"DATA") and st["sender"] is None:
                out.append(b"503 5.5.1 Error: need MAIL command\r\n")
            elif verb == b"RCPT":
                st["rcpts"].append(line[8:].strip())
                out.append(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                st["in_data"] = True
                out.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                out.append(b"221 2.0.0 Bye\r\n")
                st["quit"] = True
                return buf
            else:       # RSET, NOOP
                if verb == b"RSET":
                    st["sender"], st["rcpts"] = None, []
                out.append(b"250 2.0.0 Ok\r\n")

    async def forward(self):
        """One connection to the next hop, passing on what the queue holds."""
        reader, writer = await asyncio.open_connection(self.next_host, self.next_port)
        await reader.readline()
        writer.write(b"EHLO holdrelay\r\n")
        await writer.drain()
        while not (await reader.readline())[3:4] == b" ":
            pass
        while True:
            sender, rcpts, body = await self.queue.get()
            await self.pace()
            cmds = b"MAIL FROM:" + sender + b"\r\n" + b"".join(b"RCPT TO:" + r + b"\r\n" for r in rcpts)
            writer.write(cmds + b"DATA\r\n")
            await writer.drain()
            for _ in range(len(rcpts) + 2):
                await reader.readline()
            writer.write(body if body else b".\r\n")
            await writer.drain()
            await reader.readline()


async def main():
    port, next_hop, hold = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    throttle = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    host, next_port = next_hop.rsplit(":", 1)
    relay = Relay(host, int(next_port), hold, throttle, rate)
    server = await asyncio.start_server(relay.serve, "127.0.0.1", port, limit=1 << 24)
    workers = [asyncio.create_task(relay.forward()) for _ in range(NEXT_HOP_CONNECTIONS)]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    for w in workers:
        w.cancel()


if __name__ == "__main__":
    asyncio.run(main())
