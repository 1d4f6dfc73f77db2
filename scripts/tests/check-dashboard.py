#!/usr/bin/env python3
"""Checks the cluster dashboard (`GET /dashboard`) in headless Chromium against a snapshot.

    python3 scripts/tests/check-dashboard.py --url http://127.0.0.1:PORT --token JWT \\
        --expect-json snapshot.json [--loose-actors] [--screenshot page.png] [--dump-dom page.html]

`--expect-json` is a `GET /v1/admin/cluster` answer fetched just before. The script starts
Chromium headless (`chromium` or `chromium-browser` on PATH, or $CHROMIUM) with a temporary
profile and `--remote-debugging-port=0`, drives it over the DevTools protocol (a minimal
WebSocket client, standard library only), loads `URL/dashboard#token=JWT`, waits until
`document.body.dataset.snapshots >= 2` (at most 20 s), reads every `[data-field]` element's
`data-raw`, and checks:

  - every node of the snapshot has a row (`tr[data-node]`), and no other node has one;
  - per node: `status`, `ring_share` (to 3 decimals), `channel_actors` and `user_actors`
    (with --loose-actors only that they are integers >= 0) match the snapshot; `sessions` is an
    integer >= 0 and `messages_per_second` a number >= 0 (both may be empty for a node whose
    counters the snapshot lacks);
  - cluster-wide: `ring_epoch` and `answering_node` match; `term` and `leader` are shown exactly
    when the snapshot has `metadata`.

Prints one summary line, then any mismatches one a line; exits 0 if all checks passed, 1 if
not (or the page never rendered two snapshots, or Chromium failed), 2 on a usage error, 3 if
no Chromium is installed. Chromium is always killed (its whole process group) at the end.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

RENDER_TIMEOUT = 20   # seconds for the page to render two snapshots
START_TIMEOUT = 15    # seconds for Chromium to open its DevTools port
CALL_TIMEOUT = 10     # seconds for any one DevTools call
WIDTH, HEIGHT = 1400, 900


class Failure(Exception):
    pass


# ---- A minimal WebSocket client (RFC 6455), enough for the DevTools protocol.

class WebSocket:
    def __init__(self, url, timeout):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path + ("?" + parts.query if parts.query else "")
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv_some()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise Failure(f"DevTools WebSocket handshake refused: {lines[0]}")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        if headers.get("sec-websocket-accept") != accept:
            raise Failure("DevTools WebSocket handshake: wrong Sec-WebSocket-Accept")

    def _recv_some(self):
        data = self.sock.recv(65536)
        if not data:
            raise Failure("the DevTools connection closed")
        return data

    def _read(self, n):
        while len(self.buffer) < n:
            self.buffer += self._recv_some()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode("utf-8"))

    def receive(self):
        """The next text message (control frames are answered or skipped)."""
        message = b""
        while True:
            first, second = self._read(2)
            opcode, n = first & 0x0F, second & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise Failure("the DevTools connection was closed by Chromium")
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode("utf-8")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class DevTools:
    """Calls DevTools methods on one page target; events in between are skipped."""

    def __init__(self, url):
        self.ws = WebSocket(url, CALL_TIMEOUT)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        call_id = self.next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + CALL_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Failure(f"DevTools {method}: no answer in {CALL_TIMEOUT} s")
            self.ws.sock.settimeout(remaining)
            try:
                message = json.loads(self.ws.receive())
            except socket.timeout:
                raise Failure(f"DevTools {method}: no answer in {CALL_TIMEOUT} s")
            if message.get("id") == call_id:
                if "error" in message:
                    raise Failure(f"DevTools {method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise Failure(f"the page's JavaScript threw: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")


# ---- Chromium

def find_chromium():
    for candidate in [os.environ.get("CHROMIUM"), "chromium", "chromium-browser"]:
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def start_chromium(binary, profile):
    log = open(os.path.join(profile, "chromium.log"), "wb")
    args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--mute-audio",
            "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "about:blank"]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    return process


def devtools_port(process, profile):
    """The port from `DevToolsActivePort` in the profile, or the "DevTools listening" log line."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(profile, "DevToolsActivePort")) as f:
                port = f.readline().strip()
            if port.isdigit():
                return int(port)
        except OSError:
            pass
        match = re.search(rb"DevTools listening on ws://[^:/]+:(\d+)/", read_log(profile, raw=True))
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            raise Failure(f"Chromium exited with {process.returncode} before opening DevTools:\n{read_log(profile)}")
        time.sleep(0.1)
    raise Failure(f"Chromium opened no DevTools port in {START_TIMEOUT} s:\n{read_log(profile)}")


def read_log(profile, raw=False):
    try:
        with open(os.path.join(profile, "chromium.log"), "rb") as f:
            data = f.read()
    except OSError:
        data = b""
    return data if raw else data.decode("utf-8", "replace")[-2000:]


def page_target(port):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
                targets = json.load(reply)
            pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.2)
    raise Failure(f"Chromium listed no page target in {START_TIMEOUT} s")


def stop_chromium(process):
    if process is None or process.poll() is not None:
        return
    for sig, wait in [(signal.SIGTERM, 5), (signal.SIGKILL, 5)]:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ---- The page

STATUS = "JSON.stringify({snapshots: document.body ? Number(document.body.dataset.snapshots || 0) : 0, " \
         "state: document.body ? document.body.dataset.state || '' : ''})"

# Every [data-field] element's data-raw (and text), keyed by node (or "cluster" without data-node).
COLLECT = r"""JSON.stringify((() => {
  const nodes = {}, cluster = {};
  for (const element of document.querySelectorAll("[data-field]")) {
    const value = { raw: element.dataset.raw === undefined ? null : element.dataset.raw, text: element.textContent.trim() };
    if (element.dataset.node === undefined) cluster[element.dataset.field] = value;
    else (nodes[element.dataset.node] = nodes[element.dataset.node] || {})[element.dataset.field] = value;
  }
  return { nodes, cluster, rows: [...document.querySelectorAll("tr[data-node]")].map((row) => row.dataset.node),
           snapshots: Number(document.body.dataset.snapshots || 0), state: document.body.dataset.state };
})())"""


def wait_for_snapshots(devtools):
    deadline = time.monotonic() + RENDER_TIMEOUT
    status = {}
    while time.monotonic() < deadline:
        status = json.loads(devtools.evaluate(STATUS) or "{}")
        if status.get("snapshots", 0) >= 2:
            return status
        if status.get("state") == "unauthorised":
            raise Failure("the page says unauthorised: the token was refused (401/403); is it a server token?")
        time.sleep(0.2)
    raise Failure(f"the page rendered {status.get('snapshots', 0)} snapshot(s) in {RENDER_TIMEOUT} s, not 2 "
                  f"(data-state={status.get('state')!r}); is /v1/admin/cluster/stream sending events?")


def is_int(raw):
    return raw is not None and re.fullmatch(r"\d+", raw) is not None


def is_number(raw):
    try:
        return raw not in (None, "") and float(raw) >= 0 and float(raw) == float(raw)
    except ValueError:
        return False


def as_raw(value):
    """How the page writes a JSON value into data-raw."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check(dom, expected, loose_actors):
    problems = []
    cluster = dom["cluster"]

    def cluster_raw(field):
        return (cluster.get(field) or {}).get("raw")

    if cluster_raw("answering_node") != as_raw(expected.get("node")):
        problems.append(f"answering_node: page {cluster_raw('answering_node')!r}, expected {expected.get('node')!r}")
    if cluster_raw("ring_epoch") != as_raw(expected.get("ring_epoch")):
        problems.append(f"ring_epoch: page {cluster_raw('ring_epoch')!r}, expected {expected.get('ring_epoch')!r}")
    metadata = expected.get("metadata")
    if metadata:
        if not is_int(cluster_raw("term")):
            problems.append(f"term: page {cluster_raw('term')!r}, expected a number (the snapshot has metadata)")
        if not cluster_raw("leader") and metadata.get("leader"):
            problems.append("leader: empty on the page, the snapshot has one")
    elif cluster_raw("term"):
        problems.append(f"term: page {cluster_raw('term')!r}, the snapshot has no metadata")

    names = [node.get("name") for node in expected.get("nodes", [])]
    for extra in sorted(set(dom["rows"]) - set(names)):
        problems.append(f"{extra}: a row for a node the snapshot does not have")
    for node in expected.get("nodes", []):
        name = node.get("name")
        if name not in dom["rows"]:
            problems.append(f"{name}: no row")
            continue
        fields = dom["nodes"].get(name, {})

        def raw(field):
            return (fields.get(field) or {}).get("raw")

        if raw("status") != as_raw(node.get("status")):
            problems.append(f"{name}: status {raw('status')!r}, expected {node.get('status')!r}")
        share = node.get("ring_share")
        try:
            same = (share is None and raw("ring_share") == "") or \
                   (share is not None and f"{float(raw('ring_share')):.3f}" == f"{float(share):.3f}")
        except (TypeError, ValueError):
            same = False
        if not same:
            problems.append(f"{name}: ring_share {raw('ring_share')!r}, expected {share!r}")
        for field in ("channel_actors", "user_actors"):
            want = node.get(field)
            if loose_actors:
                if not (is_int(raw(field)) or (want is None and raw(field) == "")):
                    problems.append(f"{name}: {field} {raw(field)!r}, expected an integer >= 0")
            elif raw(field) != as_raw(want):
                problems.append(f"{name}: {field} {raw(field)!r}, expected {want!r}")
        counted = isinstance(node.get("counters"), dict)
        if not (is_int(raw("sessions")) or (not counted and raw("sessions") == "")):
            problems.append(f"{name}: sessions {raw('sessions')!r}, expected an integer >= 0")
        if not (is_number(raw("messages_per_second")) or (not counted and raw("messages_per_second") == "")):
            problems.append(f"{name}: messages_per_second {raw('messages_per_second')!r}, expected a number >= 0")
    return problems


def run(options, expected):
    binary = find_chromium()
    if not binary:
        print("check-dashboard: no Chromium found (chromium or chromium-browser on PATH, or $CHROMIUM); "
              "apt-get install chromium", file=sys.stderr)
        return 3
    profile = tempfile.mkdtemp(prefix="check-dashboard-")
    process = devtools = None
    try:
        process = start_chromium(binary, profile)
        devtools = DevTools(page_target(devtools_port(process, profile)))
        devtools.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)
        url = options.url.rstrip("/") + "/dashboard#token=" + urllib.parse.quote(options.token, safe=".-_~")
        devtools.call("Page.navigate", url=url)
        try:
            wait_for_snapshots(devtools)
        finally:
            save_artifacts(devtools, options)
        dom = json.loads(devtools.evaluate(COLLECT))
        problems = check(dom, expected, options.loose_actors)
        summary = (f"{len(dom['rows'])} node rows, ring epoch {(dom['cluster'].get('ring_epoch') or {}).get('raw')!r}, "
                   f"answering {(dom['cluster'].get('answering_node') or {}).get('raw')!r}, "
                   f"{dom['snapshots']} snapshots, state {dom['state']}")
        if problems:
            print(f"check-dashboard: FAIL, {len(problems)} mismatch(es); {summary}")
            for problem in problems:
                print(f"  - {problem}")
            return 1
        print(f"check-dashboard: ok, {summary}")
        return 0
    except (Failure, OSError) as error:
        print(f"check-dashboard: FAIL, {error}")
        return 1
    finally:
        if devtools:
            devtools.ws.close()
        stop_chromium(process)
        shutil.rmtree(profile, ignore_errors=True)


def save_artifacts(devtools, options):
    """The screenshot and DOM dump, if asked (also when the page did not render, to see why)."""
    if options.screenshot:
        shot = devtools.call("Page.captureScreenshot", format="png",
                             clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT, "scale": 1})
        with open(options.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    if options.dump_dom:
        with open(options.dump_dom, "w", encoding="utf-8") as f:
            f.write(devtools.evaluate("document.documentElement.outerHTML") or "")


def main():
    parser = argparse.ArgumentParser(description="Checks the Chorus cluster dashboard in headless Chromium.")
    parser.add_argument("--url", required=True, help="the node, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="a server token (JWT)")
    parser.add_argument("--expect-json", required=True, help="a GET /v1/admin/cluster answer to compare with")
    parser.add_argument("--screenshot", help="save a 1400x900 PNG here")
    parser.add_argument("--dump-dom", help="save the rendered HTML here")
    parser.add_argument("--loose-actors", action="store_true",
                        help="only check that channel/user actor counts are integers >= 0")
    options = parser.parse_args()
    try:
        with open(options.expect_json, encoding="utf-8") as f:
            expected = json.load(f)
    except (OSError, ValueError) as error:
        parser.error(f"--expect-json {options.expect_json}: {error}")
    # A SIGTERM (a test timing out) still runs the finally blocks that kill Chromium.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(run(options, expected))


if __name__ == "__main__":
    main()
