#!/usr/bin/env python3
"""Opens N keep-alive connections to an HTTP server, sends one request on each, reads the response, and holds
them idle until interrupted (for a wrk measurement with idle connections: the server must keep answering).

usage: hold_idle_connections.py PORT [COUNT] [PATH]
"""
import signal
import socket
import sys


def main() -> None:
    port = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    path = sys.argv[3] if len(sys.argv) > 3 else "/healthz"
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    held = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(request)
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = connection.recv(4096)
            if not chunk:
                raise SystemExit("server closed a connection during setup")
            response += chunk
        held.append(connection)
    print(f"holding {len(held)} idle keep-alive connections", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
