"""holdrelay - an SMTP relay written for the tests: it accepts every message
at once (250 after end of data) and passes it to its next hop exactly HOLD
seconds after it arrived, over a few persistent pipelined connections, so
that a campaign through it has a known delivery latency and a known queue
(rate x HOLD). Not a mail server: no queue files, no retries.

    python3 holdrelay.py LISTEN_PORT NEXT_HOST:NEXT_PORT HOLD_SECONDS

Prints "ready" on stdout once it listens; stops on SIGTERM."""

import asyncio
import signal
import sys

NEXT_HOP_CONNECTIONS = 4


class Relay:
    def __init__(self, next_host, next_port, hold):
        self.next_host, self.next_port, self.hold = next_host, next_port, hold
        self.queue = asyncio.Queue()

    async def serve(self, reader, writer):
        """One client session: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""
        writer.write(b"220 holdrelay ESMTP\r\n")
        sender, rcpts = None, []
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb in (b"EHLO", b"LHLO"):
                writer.write(b"250-holdrelay\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"HELO":
                writer.write(b"250 holdrelay\r\n")
            elif verb == b"MAIL":
                sender, rcpts = line[10:].strip(), []
                writer.write(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                rcpts.append(line[8:].strip())
                writer.write(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await writer.drain()
                body = await reader.readuntil(b"\r\n.\r\n")
                if body == b".\r\n":
                    body = b""
                asyncio.get_running_loop().call_later(self.hold, self.queue.put_nowait,
                                                      (sender, rcpts, body))
                writer.write(b"250 2.0.0 Ok: queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                break
            else:       # RSET, NOOP
                sender, rcpts = (None, []) if verb == b"RSET" else (sender, rcpts)
                writer.write(b"250 2.0.0 Ok\r\n")
            await writer.drain()
        writer.close()

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
    host, next_port = next_hop.rsplit(":", 1)
    relay = Relay(host, int(next_port), hold)
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
