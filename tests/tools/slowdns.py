"""slowdns - a small DNS server over UDP for the agent's name lookup tests
(RFC 1035 messages, nothing more): A queries for --name get --answer
(default 127.0.0.1) after --delay seconds, AAAA queries for it an empty
answer after the same delay; queries for a --silent name (the option may repeat) are never answered;
any other name gets NXDOMAIN at once. Each query is answered on a timer of
its own, so a resolver's parallel A and AAAA wait once, not twice. Runs
until SIGTERM.

usage: slowdns.py --addr 127.0.0.2 --port 53 --name slow.test --delay 6 --silent silent.test"""

import argparse
import signal
import socket
import struct
import threading

TYPE_A, TYPE_AAAA = 1, 28


def question(packet):
    """(id, flags, qname in lower case, qtype, end of the question) of a query."""
    qid, flags, qdcount = struct.unpack(">HHH", packet[:6])
    if qdcount != 1:
        raise ValueError("one question only")
    labels, at = [], 12
    while packet[at]:
        n = packet[at]
        labels.append(packet[at + 1:at + 1 + n].decode("ascii").lower())
        at += 1 + n
    qtype = struct.unpack(">H", packet[at + 1:at + 3])[0]
    return qid, flags, ".".join(labels), qtype, at + 5


def answer(packet, rcode, address=None):
    """The reply to query packet: its question echoed, one A record or none."""
    qid, flags, _, _, end = question(packet)
    rd = flags & 0x0100
    header = struct.pack(">HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1,
                         1 if address else 0, 0, 0)
    reply = header + packet[12:end]
    if address:
        reply += struct.pack(">HHHIH", 0xC00C, TYPE_A, 1, 60, 4) + socket.inet_aton(address)
    return reply


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--name", required=True)
    ap.add_argument("--delay", type=float, required=True)
    ap.add_argument("--answer", default="127.0.0.1")
    ap.add_argument("--silent", action="append", default=[])
    a = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((a.addr, a.port))
    signal.signal(signal.SIGTERM, lambda *_: sock.close())
    while True:
        try:
            packet, peer = sock.recvfrom(4096)
        except OSError:
            return
        try:
            _, _, name, qtype, _ = question(packet)
        except (ValueError, IndexError, UnicodeDecodeError, struct.error):
            continue
        if name in (n.lower() for n in a.silent):
            continue                                                # never answered
        if name != a.name.lower():
            sock.sendto(answer(packet, 3), peer)                   # NXDOMAIN
            continue
        reply = answer(packet, 0, a.answer if qtype == TYPE_A else None)
        threading.Timer(a.delay, lambda r=reply, p=peer: send_quietly(sock, r, p)).start()


def send_quietly(sock, reply, peer):
    try:
        sock.sendto(reply, peer)
    except OSError:
        pass                    # stopped meanwhile


if __name__ == "__main__":
    main()
