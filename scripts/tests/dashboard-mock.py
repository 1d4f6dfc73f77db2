#!/usr/bin/env python3
"""A stand-in for a Chorus node, to develop and check the cluster dashboard without a build.

    python3 scripts/tests/dashboard-mock.py [--port 0] [--nodes 3] [--down chorus-3] [--single]

Serves the page from Sources/ChorusGateway/Operations/DashboardPage.swift (the text between
`#\"\"\"` and `\"\"\"#`) at `GET /dashboard`, and fake snapshots whose counters grow at
`GET /v1/admin/cluster` and `GET /v1/admin/cluster/stream?interval_ms=N` (`text/event-stream`,
chunked, one `event: cluster` frame per interval, the first one at once). The admin endpoints
require `Authorization: Bearer test` (--token changes it): 401 otherwise. Prints
`listening on http://127.0.0.1:PORT` on stdout once it accepts connections.

  --down NAME     that node is `down` and every field the answering node could not ask is null
  --single        one node, no `metadata` (a single-node server)
  --drop-after N  close each stream after N events (to see the page reconnect)
  --chop N        send each frame with CRLF line endings, after a `: keep-alive` comment, in
                  chunks of N bytes (to exercise the page's SSE parser)

The page is sent with the Content-Security-Policy the real server may use (PAGE_CSP), so the
page is known to work under it.

Standard library only.
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SWIFT_PAGE = os.path.join(ROOT, "Sources", "ChorusGateway", "Operations", "DashboardPage.swift")
STARTED = time.time()
# What the real server may send with the page: inline script and style only, fetch to itself only.
PAGE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def page_html():
    """The HTML between the raw-string delimiters, as Swift would see it (closing `\"\"\"#` at column 0)."""
    with open(SWIFT_PAGE, encoding="utf-8") as f:
        source = f.read()
    match = re.search(r'#"""\n(.*?)\n"""#', source, re.S)
    if not match:
        raise SystemExit(f"no #\"\"\" … \"\"\"# raw string in {SWIFT_PAGE}")
    html = match.group(1)
    if "\\#" in html:
        raise SystemExit("the page contains \\# (an interpolation or escape in a Swift raw string)")
    return html


def snapshot(options):
    """A 3-node (or single-node) snapshot whose counters grow with time since start."""
    elapsed = time.time() - STARTED
    names = [f"chorus-{i}" for i in range(1, options.nodes + 1)]
    shares = [round(1 / len(names), 4)] * len(names)
    shares[0] = round(1 - sum(shares[1:]), 4)
    nodes = []
    for i, name in enumerate(names):
        rate = 40 + 15 * i  # messages/s
        if name == options.down:
            nodes.append({"name": name, "status": "down", "self": False, "on_ring": False, "ring_share": 0.0,
                          "channel_actors": None, "user_actors": None})
            continue
        node = {
            "name": name, "status": "up", "self": i == 0, "on_ring": True, "ring_share": shares[i],
            "channel_actors": 10 + i, "user_actors": 40 + 3 * i,
            "counters": {"messages": int(1000 * (i + 1) + rate * elapsed),
                         "deliveries": int(4000 * (i + 1) + 4.2 * rate * elapsed),
                         "sessions": 30 + i + int(elapsed) % 3,
                         "wal_records": int(1500 * (i + 1) + 1.3 * rate * elapsed)},
        }
        if options.nodes > 1:
            node["replication"] = {
                "primaries": {"channels": 10 + i, "users": 30 + i}, "backups": {"channels": 20 + i, "users": 60 + i},
                "recovering": 0, "newest_term": (3 << 32) + 2, "newest_term_epoch": 3,
                "lagging": 1 if i == 2 else 0, "lag_records": 4 if i == 2 else 0, "max_lag_records": 17 if i == 2 else 0}
        nodes.append(node)
    body = {"node": names[0], "ring_epoch": 3, "time_ms": int(time.time() * 1000), "nodes": nodes}
    if options.nodes > 1:
        body["metadata"] = {"term": 2, "leader": names[0], "role": "leader", "commit_index": 17 + int(elapsed) // 10}
    return body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    options = None

    def log_message(self, format, *args):
        if self.options.verbose:
            sys.stderr.write("mock: " + format % args + "\n")

    def send_body(self, status, content_type, body, extra_headers=()):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def authorised(self):
        if self.headers.get("Authorization") == f"Bearer {self.options.token}":
            return True
        self.send_body(401, "application/json",
                       json.dumps({"error": {"code": "UNAUTHORIZED", "message": "a server token is required"}}))
        return False

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/dashboard":
            self.send_body(200, "text/html; charset=utf-8", page_html(), [("Content-Security-Policy", PAGE_CSP)])
        elif url.path == "/v1/admin/cluster":
            if self.authorised():
                self.send_body(200, "application/json", json.dumps(snapshot(self.options)))
        elif url.path == "/v1/admin/cluster/stream":
            if self.authorised():
                query = urllib.parse.parse_qs(url.query)
                interval = min(max(int(query.get("interval_ms", ["1000"])[0]), 100), 60000) / 1000
                self.stream(interval)
        else:
            self.send_body(404, "application/json", json.dumps({"error": {"code": "NOT_FOUND", "message": url.path}}))

    def stream(self, interval):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            while not self.options.drop_after or sent < self.options.drop_after:
                frame = f"event: cluster\ndata: {json.dumps(snapshot(self.options), separators=(',', ':'))}\n\n"
                if self.options.chop:
                    frame = (": keep-alive\n\n" + frame).replace("\n", "\r\n")
                data = frame.encode("utf-8")
                size = self.options.chop or len(data)
                for start in range(0, len(data), size):
                    piece = data[start:start + size]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                sent += 1
                time.sleep(interval)
            self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--single", action="store_true")
    parser.add_argument("--down", default=None)
    parser.add_argument("--drop-after", type=int, default=0)
    parser.add_argument("--chop", type=int, default=0)
    parser.add_argument("--token", default="test")
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args()
    if options.single:
        options.nodes = 1
    page_html()  # fail fast on a page that cannot be extracted
    Handler.options = options
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
