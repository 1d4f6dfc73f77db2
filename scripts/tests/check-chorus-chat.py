#!/usr/bin/env python3
"""Checks scripts/chorus-chat.py against a running Chorus node.

    python3 scripts/tests/check-chorus-chat.py --url http://127.0.0.1:PORT --secret SECRET

The node should be fresh (its data directory new) and run with CHORUS_JWT_SECRET=SECRET.
Prints one line per check (`ok …` or `FAIL …` with details) and exits 0 only if every
check passed (1 otherwise, 2 on a usage error). Every check is bounded in time (child
processes get at most 15 s, a whole check at most 60 s), and every process it starts is
killed before it ends. Standard library only; the terminal checks need a POSIX pty.

  a. an unreachable node: exit 2 fast, one line on stderr naming the URL, no traceback
  b. --join of a channel that does not exist: exit 1, the 404 code on stderr, no WebSocket
  c. --join of a malformed channel id: exit 1 with the server's error code
  d. contradictory options (--join with --create-room, …): argparse error, exit 2
  e. --create-room with stdin from a pipe: the room id is printed, a line sent is in the
     channel's history (checked over REST), /quit exits 0
  f. at a terminal (a pty): keys typed without Enter make the others see `typing` (a raw
     WebSocket observer), an incoming event is printed above the line being edited and the
     line redrawn, Enter sends the message, Ctrl-D quits with 0 and the terminal settings
     are restored
  g. at a terminal: Ctrl-C quits quietly with 130 and restores the terminal
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    import fcntl
    import termios
except ImportError:  # no ptys here: the terminal checks fail with a clear reason
    fcntl = termios = None

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chorus-chat.py")
PROCESS_TIMEOUT = 15  # seconds, for any one child process
CHECK_TIMEOUT = 60    # seconds, for a whole check (a watchdog: nothing may hang)


class Failure(Exception):
    pass


class CheckTimeout(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def excerpt(text, limit=600):
    text = text.strip()
    return (text if len(text) <= limit else "…" + text[-limit:]).replace("\n", "\\n")


# --- Tokens and REST -----------------------------------------------------------------------------

def mint_token(user, secret, ttl=3600):
    """An HS256 user token, minted as scripts/chorus-chat.py does."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"user_id": user, "iat": now, "exp": now + ttl}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


class Node:
    def __init__(self, url, secret):
        self.url = url.rstrip("/")
        self.secret = secret

    def rest(self, method, path, user, body=None):
        """(status, decoded JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {mint_token(user, self.secret)}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, raw.decode(errors="replace")

    def create_room(self, user, name):
        status, room = self.rest("POST", "/v1/channels", user, {"type": "room", "name": name})
        expect(status == 201, f"POST /v1/channels as {user}: {status} {room}")
        return room["id"]

    def env(self):
        env = dict(os.environ)
        env["CHORUS_JWT_SECRET"] = self.secret
        env.pop("CHORUS_URL", None)
        return env


# --- A raw WebSocket observer --------------------------------------------------------------------

class Observer:
    """A minimal WebSocket client that collects every frame of one user's stream."""

    def __init__(self, node, user):
        parsed = urllib.parse.urlsplit(node.url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        token = urllib.parse.quote(mint_token(user, node.secret))
        self.sock.sendall((f"GET /v1/ws?token={token} HTTP/1.1\r\nHost: {parsed.netloc}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            expect(chunk, "the observer's WebSocket handshake was cut")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        expect(b" 101 " in head.split(b"\r\n")[0], f"the observer's upgrade failed: {head[:200]!r}")
        self.frames = []
        hello = self.next(lambda frame: True, 10)
        expect(hello.get("type") == "hello", f"the observer's first frame is not hello: {hello}")
        self.send({"type": "resume", "channels": {}})

    def send(self, obj):
        payload = json.dumps(obj).encode()
        mask = os.urandom(4)
        header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else \
            bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n, deadline):
        while len(self.buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout()
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            expect(chunk, "the server closed the observer's socket")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def next(self, matches, timeout):
        """The first frame (from now on) that `matches`, within `timeout` seconds; None if none."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                first, second = self._read(2, deadline)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", self._read(2, deadline))[0]
                elif length == 127:
                    length = struct.unpack("!Q", self._read(8, deadline))[0]
                payload = self._read(length, deadline)
                opcode = first & 0x0F
                if opcode == 0x9:  # ping
                    mask = os.urandom(4)
                    self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask
                                      + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                elif opcode == 0x8:
                    raise Failure(f"the server closed the observer's socket: {payload!r}")
                elif opcode == 0x1:
                    frame = json.loads(payload)
                    self.frames.append(frame)
                    if matches(frame):
                        return frame
        except socket.timeout:
            return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --- Child processes -----------------------------------------------------------------------------

def run_client(node, args, timeout=PROCESS_TIMEOUT, stdin_text=""):
    """Runs chorus-chat.py to its end: (exit status, stdout, stderr, seconds)."""
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, SCRIPT] + args, input=stdin_text, capture_output=True, text=True,
                              timeout=timeout, env=node.env())
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        raise Failure(f"still running after {timeout} s; stdout: {excerpt(out)}")
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


class Child:
    """A chorus-chat.py process whose output (a pipe or a pty master) is read without blocking."""

    def __init__(self, node, args, terminal=False):
        self.output = b""
        self.master = self.slave = None
        command = [sys.executable, SCRIPT] + args
        if terminal:
            expect(termios is not None, "no termios/pty support on this system")
            self.master, self.slave = os.openpty()
            fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
            self.settings_before = termios.tcgetattr(self.slave)

            def controlling_terminal():  # in the child: a new session whose terminal is the pty
                os.setsid()
                try:
                    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
                except (AttributeError, OSError):
                    pass

            self.process = subprocess.Popen(command, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                            env=node.env(), preexec_fn=controlling_terminal)
            self.read_fd = self.master
        else:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, env=node.env())
            self.read_fd = self.process.stdout.fileno()
        self.deadline = time.monotonic() + PROCESS_TIMEOUT

    @property
    def text(self):
        return self.output.decode(errors="replace")

    def pump(self, timeout):
        """Reads what the child wrote, for up to `timeout` seconds."""
        ready, _, _ = select.select([self.read_fd], [], [], max(timeout, 0))
        if ready:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:
                chunk = b""
            self.output += chunk
            return bool(chunk)
        return False

    def wait_for(self, pattern, timeout, start=0):
        """The first match of the regex `pattern` in the output after offset `start`."""
        deadline = min(time.monotonic() + timeout, self.deadline)
        while True:
            match = re.compile(pattern).search(self.text, start)
            if match:
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self.pump(min(remaining, 0.1)) and self.process.poll() is not None:
                while self.pump(0):
                    pass
                match = re.compile(pattern).search(self.text, start)
                return match

    def write(self, data):
        if self.master is not None:
            os.write(self.master, data)
        else:
            self.process.stdin.write(data)
            self.process.stdin.flush()

    def wait(self, timeout):
        """The exit status within `timeout` seconds (reading its output meanwhile), or None."""
        deadline = min(time.monotonic() + timeout, self.deadline)
        while self.process.poll() is None and time.monotonic() < deadline:
            self.pump(0.05)
        while self.pump(0.05):
            pass
        return self.process.poll()

    def settings(self):
        return termios.tcgetattr(self.slave)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for fd in (self.master, self.slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def no_traceback(*texts):
    for text in texts:
        expect("Traceback" not in text, f"a traceback: {excerpt(text)}")


# --- The checks ----------------------------------------------------------------------------------

def check_unreachable(node):
    url = "http://127.0.0.1:1"
    status, out, err, seconds = run_client(node, ["--url", url, "--user", "alice"], timeout=10)
    no_traceback(out, err)
    lines = err.strip().splitlines()
    expect(status == 2, f"exit status {status}, not 2; stderr: {excerpt(err)}")
    expect(len(lines) == 1, f"{len(lines)} lines on stderr, not 1: {excerpt(err)}")
    expect(url in lines[0], f"stderr does not name {url}: {lines[0]}")
    return f"exit 2 in {seconds:.1f} s: {lines[0]}"


def check_join_unknown(node):
    channel = "1000000000000000001"  # a well-formed snowflake that no channel has
    status, out, err, _ = run_client(node, ["--url", node.url, "--user", "alice", "--join", channel])
    no_traceback(out, err)
    expect(status == 1, f"exit status {status}, not 1; stdout: {excerpt(out)}; stderr: {excerpt(err)}")
    expect("CHAT_CHANNEL_NOT_FOUND" in err and "404" in err, f"no 404 CHAT_CHANNEL_NOT_FOUND on stderr: {excerpt(err)}")
    expect("connected as" not in out, f"the WebSocket was opened: {excerpt(out)}")
    return f"exit 1: {err.strip()}"


def check_join_malformed(node):
    status, out, err, _ = run_client(node, ["--url", node.url, "--user", "alice", "--join", "doesnotexist123"])
    no_traceback(out, err)
    expect(status == 1, f"exit status {status}, not 1; stdout: {excerpt(out)}; stderr: {excerpt(err)}")
    expect(re.search(r"\b(400|404)\b.*\b[A-Z]+(_[A-Z]+)+\b", err), f"no HTTP status and error code on stderr: {excerpt(err)}")
    expect("connected as" not in out, f"the WebSocket was opened: {excerpt(out)}")
    return f"exit 1: {err.strip()}"


def check_contradictions(node):
    for extra in (["--join", "1", "--create-room", "X"], ["--channel", "1", "--create-room", "X"],
                  ["--join", "1", "--channel", "2"]):
        status, out, err, _ = run_client(node, ["--url", node.url, "--user", "alice"] + extra)
        no_traceback(out, err)
        expect(status == 2 and "error:" in err, f"{' '.join(extra)}: exit {status}, stderr: {excerpt(err)}")
    status, out, err, _ = run_client(node, ["--url", node.url, "--user", "alice", "--join", "1", "--channel", "1",
                                            "--create-room", "X"])
    expect(status == 2, f"--join + --channel + --create-room: exit {status}")
    return "--join/--channel with --create-room, and --join A --channel B, are usage errors (exit 2)"


def check_pipe_room(node):
    child = Child(node, ["--url", node.url, "--user", "alice", "--create-room", "Pipe room"])
    try:
        match = child.wait_for(r"created room 'Pipe room': (\d+)", 10)
        expect(match, f"no room id printed: {excerpt(child.text)}")
        room = match.group(1)
        expect(child.wait_for(r"\* connected as alice", 10), f"no hello: {excerpt(child.text)}")
        body = f"hello through a pipe {os.getpid()}"
        child.write((body + "\n").encode())
        found, messages = False, []
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            status, page = node.rest("GET", f"/v1/channels/{room}/messages?limit=10", "alice")
            expect(status == 200, f"GET messages: {status} {page}")
            messages = page["messages"]
            found = any(m["body"] == body and m["sender_id"] == "alice" for m in messages)
            if not found:
                child.pump(0.2)
        expect(found, f"{body!r} is not in the history: {messages}; client output: {excerpt(child.text)}")
        expect(child.wait_for(re.escape(f"alice: {body}"), 5), f"the message event was not printed: {excerpt(child.text)}")
        child.write(b"/quit\n")
        status = child.wait(10)
        expect(status == 0, f"exit status after /quit: {status}; output: {excerpt(child.text)}")
        no_traceback(child.text)
        return f"room {room}: the line is in the history, /quit exits 0"
    finally:
        child.close()


def start_terminal_client(node, user, room):
    child = Child(node, ["--url", node.url, "--user", user, "--join", room], terminal=True)
    if not child.wait_for(rf"\* connected as {user}\b", 10) or not child.wait_for(re.escape(f"{user}> "), 5):
        child.close()
        raise Failure(f"{user}'s client did not start in the terminal: {excerpt(child.text)}")
    return child


def check_terminal_typing(node):
    room = node.create_room("alice", "Typing room")
    observer = Observer(node, "alice")
    child = None
    try:
        child = start_terminal_client(node, "bob", room)
        expect(observer.next(lambda f: f.get("type") == "member_add" and f["data"]["user_id"] == "bob", 5),
               "the observer saw no member_add of bob")

        # Keys without Enter: the observer sees bob typing, and the terminal echoes them.
        mark = len(child.text)
        started = time.monotonic()
        child.write(b"hel")
        typing = observer.next(lambda f: f.get("type") == "typing" and f.get("channel_id") == room
                               and f["data"]["user_id"] == "bob", 5)
        expect(typing, f"no typing event from bob within 5 s; frames: {observer.frames[-5:]}")
        seen_after = time.monotonic() - started
        expect(child.wait_for(re.escape("bob> hel"), 5, mark), f"the keys were not echoed: {excerpt(child.text[mark:])}")

        # An event while bob edits: printed above the line, which is redrawn with the partial input.
        mark = len(child.text)
        status, _ = node.rest("POST", f"/v1/channels/{room}/messages", "alice", {"body": "hi bob"})
        expect(status == 201, f"alice's message: {status}")
        event = child.wait_for(r"alice: hi bob[^\n]*\n", 5, mark)
        expect(event, f"alice's message was not printed: {excerpt(child.text[mark:])}")
        expect(child.wait_for(re.escape("bob> hel"), 5, event.end()),
               f"the partial line was not redrawn after the event: {excerpt(child.text[mark:])}")
        expect(child.text.rfind("\x1b[K", mark, event.start()) >= 0,
               f"the prompt line was not cleared before the event: {child.text[mark:event.end()]!r}")

        # Enter sends the line.
        child.write(b"lo from bob\r")
        message = observer.next(lambda f: f.get("type") == "message" and f["data"]["sender_id"] == "bob", 10)
        expect(message, f"bob's message did not arrive; frames: {observer.frames[-5:]}")
        expect(message["data"]["body"] == "hello from bob", f"bob's message is {message['data']['body']!r}")

        # Ctrl-D on the empty line quits with 0 and restores the terminal.
        child.write(b"\x04")
        status = child.wait(10)
        no_traceback(child.text)
        expect(status == 0, f"exit status after Ctrl-D: {status}; output: {excerpt(child.text)}")
        expect(child.settings() == child.settings_before,
               f"terminal settings not restored: {child.settings_before} → {child.settings()}")
        return (f"typing seen {seen_after:.1f} s after the first keys, the event was drawn above the line "
                f"being edited, Enter sent {message['data']['body']!r}, Ctrl-D exited 0, terminal restored")
    finally:
        observer.close()
        if child:
            child.close()


def check_terminal_interrupt(node):
    room = node.create_room("alice", "Interrupt room")
    child = start_terminal_client(node, "carol", room)
    try:
        child.write(b"half a line")
        expect(child.wait_for(re.escape("carol> half a line"), 5), f"no echo: {excerpt(child.text)}")
        child.write(b"\x03")
        status = child.wait(10)
        no_traceback(child.text)
        expect(status == 130, f"exit status after Ctrl-C: {status}; output: {excerpt(child.text)}")
        expect(child.settings() == child.settings_before,
               f"terminal settings not restored: {child.settings_before} → {child.settings()}")
        return "Ctrl-C exited 130 without a traceback, terminal restored"
    finally:
        child.close()


CHECKS = [
    ("a. unreachable node", check_unreachable),
    ("b. --join an unknown channel", check_join_unknown),
    ("c. --join a malformed channel id", check_join_malformed),
    ("d. contradictory options", check_contradictions),
    ("e. --create-room, stdin from a pipe", check_pipe_room),
    ("f. typing at a terminal", check_terminal_typing),
    ("g. Ctrl-C at a terminal", check_terminal_interrupt),
]


def main():
    parser = argparse.ArgumentParser(description="Check scripts/chorus-chat.py against a running Chorus node.")
    parser.add_argument("--url", required=True, help="the node's HTTP URL")
    parser.add_argument("--secret", required=True, help="the node's CHORUS_JWT_SECRET")
    args = parser.parse_args()
    node = Node(args.url, args.secret)

    try:
        with urllib.request.urlopen(node.url + "/healthz", timeout=10) as response:
            expect(response.status == 200, f"/healthz: {response.status}")
    except (OSError, Failure) as error:
        print(f"FAIL the node at {node.url} does not answer /healthz: {error}", flush=True)
        return 1

    def watchdog(_signum, _frame):
        raise CheckTimeout()

    signal.signal(signal.SIGALRM, watchdog)
    failures = 0
    for name, check in CHECKS:
        started = time.monotonic()
        signal.alarm(CHECK_TIMEOUT)
        try:
            detail = check(node)
            signal.alarm(0)
            print(f"ok   {name} ({time.monotonic() - started:.1f} s): {detail}", flush=True)
        except Failure as failure:
            signal.alarm(0)
            failures += 1
            print(f"FAIL {name}: {failure}", flush=True)
        except CheckTimeout:
            failures += 1
            print(f"FAIL {name}: still running after {CHECK_TIMEOUT} s", flush=True)
        except Exception as error:  # a bug in the check or an unexpected answer: a failure, with its cause
            signal.alarm(0)
            failures += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
    print(f"{len(CHECKS) - failures}/{len(CHECKS)} checks passed", flush=True)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
