#!/usr/bin/env python3
"""Differential test of unipelt's HTTP parser against python-h11. Run by developers, not CI.

Start a server:   swift run unipelt bench http --port 18090 --quiet
Then:             python3 Tests/Scripts/h11_differential.py 18090 [COUNT] [SEED]

Each input (hardening seeds plus seeded mutations) goes to h11 in-process and to the server over a socket on
127.0.0.1. Both decisions are compared: accept (a complete first request, with its body) or reject (a parse
error). Disagreements are grouped by a short description; the known ones come from policies where unipelt is
stricter than h11 on purpose (see Sources/HTTP/HeadParser.swift) and are listed in KNOWN_POLICY_DIFFERENCES.
"""
import random
import socket
import sys
from collections import Counter

import h11

SEEDS = [
    b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /v1/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /v1/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"POST /v1/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello",
    b"POST /v1/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /v1/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"POST /v1/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    b"POST /v1/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    b"GET /healthz HTTP/1.0\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    b"GET /healthz HTTP/1.1\nHost: a\n\n",
]

FRAGMENTS = [b"\r\n", b"\r", b"\n", b":", b" ", b"\t", b",", b";", b"0", b"5", b"f", b"-", b"+", b"\x00",
             b"Content-Length: 3\r\n", b"Transfer-Encoding: chunked\r\n", b"Host: b\r\n", b"HTTP/1.0", b"\x85"]

# Where unipelt rejects on purpose and h11 accepts (or the reverse); reported, not counted as failures.
KNOWN_POLICY_DIFFERENCES = {
    "content-length and transfer-encoding together",
    "content-length syntax",
    "obs-fold",
    "bare LF line endings",
    "lower-case or unusual method",
    "request target form",
    "header value characters",
    "transfer-encoding spelling",
    "trailing whitespace or list in transfer-encoding",
    "chunk extension or size syntax",
    "expect header",
}


def mutate(rng: random.Random) -> bytes:
    data = bytearray(rng.choice(SEEDS))
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(data)) if data else 0
        kind = rng.randrange(6)
        if kind == 0 and data:
            data[position] = rng.randrange(256)
        elif kind == 1:
            data.insert(position, rng.randrange(256))
        elif kind == 2 and data:
            del data[position]
        elif kind == 3:
            data[position:position] = rng.choice(FRAGMENTS)
        elif kind == 4:
            end = min(len(data), position + rng.randint(1, 16))
            data[position:position] = data[position:end]
        else:
            data += rng.choice(SEEDS)
    return bytes(data)


def h11_decision(data: bytes, head_only: bool):
    """('accept', body) for a complete first request (or just its head when `head_only`), ('reject', reason)
    or ('incomplete', None)."""
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(data)
    connection.receive_data(b"")  # the client half-closes after sending, as with the server
    body = b""
    try:
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return ("incomplete", None)
            if isinstance(event, h11.Request) and head_only:
                return ("accept", None)
            if isinstance(event, h11.Data):
                body += bytes(event.data)
            if isinstance(event, h11.EndOfMessage):
                return ("accept", body)
    except h11.RemoteProtocolError as error:
        return ("reject", str(error))


def server_decision(port: int, data: bytes):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        response = b""
        try:
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                response += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    if not response:
        return ("incomplete", None)
    head, _, rest = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status in (400, 411, 413, 414, 417, 431, 501, 505) and b'"request_id"' in rest:
        # 400 from routing (bad percent-encoding) is a parsed request; parse errors name the framing.
        if b"percent-encoding" not in rest and b"path segment" not in rest:
            return ("reject", str(status))
    if status == 408:
        return ("incomplete", None)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    # Only the echo route reads the body; other answers (404, 405, a GET) are decided by the head alone.
    if status == 200 and data.startswith(b"POST /v1/echo "):
        return ("accept", rest[:length])
    return ("accept-head", None)


def describe(data: bytes) -> str:
    lower = data.lower()
    first_line = data.split(b"\n", 1)[0]
    method = first_line.split(b" ", 1)[0]
    if not method.isalpha() or not method.isupper():
        return "lower-case or unusual method"
    if not first_line[len(method):].startswith(b" /"):
        return "request target form"
    if b"\r\n " in data or b"\r\n\t" in data:
        return "obs-fold"
    if b"\n" in data.replace(b"\r\n", b""):
        return "bare LF line endings"
    if b"content-length" in lower and b"transfer-encoding" in lower:
        return "content-length and transfer-encoding together"
    if b"transfer-encoding" in lower:
        return "trailing whitespace or list in transfer-encoding" if b"chunked," in lower or b"chunked " in lower \
            or b", chunked" in lower else "transfer-encoding spelling"
    if b"content-length" in lower:
        return "content-length syntax"
    if b"expect" in lower:
        return "expect header"
    if any(byte < 0x20 and byte not in (9, 10, 13) for byte in data) or b"\x7f" in data:
        return "header value characters"
    return "other"


def main() -> None:
    port = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 47)
    inputs = SEEDS + [mutate(rng) for _ in range(count)]
    agreements = Counter()
    disagreements = Counter()
    examples = {}
    for data in inputs:
        ours = server_decision(port, data)
        theirs = h11_decision(data, head_only=ours[0] == "accept-head")
        if ours[0] == "accept-head":
            ours = ("accept", None)
        if ours[0] == "incomplete" or theirs[0] == "incomplete":
            agreements["incomplete on either side"] += 1
            continue
        if ours[0] == theirs[0] and (ours[0] == "reject" or ours[1] is None or ours[1] == theirs[1]):
            agreements[ours[0]] += 1
            continue
        key = (f"unipelt {ours[0]}, h11 {theirs[0]}", describe(data))
        disagreements[key] += 1
        examples.setdefault(key, data)
    print(f"inputs: {len(inputs)}")
    for key, number in sorted(agreements.items()):
        print(f"  agree {key}: {number}")
    unexpected = 0
    for (decision, reason), number in disagreements.most_common():
        known = reason in KNOWN_POLICY_DIFFERENCES and decision.startswith("unipelt reject")
        unexpected += 0 if known else number
        label = "known policy" if known else "UNEXPECTED"
        print(f"  {label}: {decision} ({reason}): {number}; e.g. {examples[(decision, reason)][:120]!r}")
    print(f"unexpected disagreements: {unexpected}")
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
