#!/usr/bin/env python3
"""A small terminal client for Chorus: watch a channel live and talk in it.

Two users in two terminals (the server runs with CHORUS_JWT_SECRET exported):

    # terminal 1                                   # terminal 2
    scripts/chorus-chat.py --user alice --create-room Lobby
                                                   scripts/chorus-chat.py --user bob --join <room id>

Type a line to send it. Commands: /edit ID TEXT, /delete ID, /react ID EMOTE,
/unreact ID EMOTE, /typing, /read ID, /quit. Events of every channel the user is
in are printed as they arrive (messages, edits, deletes, reactions, typing,
members, reads). Standard library only: no packages to install.

Talking in a channel: --create-room NAME creates a room, --join ID joins a room
(being a member already is fine), --channel ID talks in a channel you are in
(a group or a DM). --join and --channel may name the same id; neither may be
combined with --create-room.

At a terminal (stdin is a tty) the client edits the line itself, key by key, in
cbreak mode: printable keys, Backspace, Ctrl-U (clear the line), Ctrl-W (delete
a word), Ctrl-L (redraw), Enter (send), Ctrl-D on an empty line (quit), Ctrl-C
(quit with status 130). While you type a message it tells the channel that you
are typing (a `typing` frame on the WebSocket on the first key of a line, then at
most once every 2 s while keys keep coming; never for a /command line). Events
that arrive meanwhile are printed above the line being edited, which is redrawn.
The terminal's settings are restored however the client ends (also on Ctrl-Z).
When stdin is not a terminal (a pipe, a file) it reads line by line and sends no
typing by itself; /typing works in both modes.

Exit status: 0 after /quit, Ctrl-D, the end of stdin or a normal close by the
server; 1 when the server refuses what the client asked at startup (joining or
creating the room, the token, ...), with the server's error code on stderr; 2 on a
usage error, or when the node cannot be reached or does not answer like a Chorus
node (one line on stderr, e.g. "chorus-chat: cannot reach http://127.0.0.1:1
(connection refused); is chorus serve running?"), or when the connection is lost;
130 on Ctrl-C.
"""

import argparse
import base64
import codecs
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

try:
    import termios
except ImportError:  # not on a POSIX system: line-by-line mode only
    termios = None

PROG = "chorus-chat"
TYPING_INTERVAL = 2.0  # seconds between two typing frames while keys keep coming (server TTL: 5 s)
COMMANDS_HELP = "/edit ID TEXT, /delete ID, /react ID EMOTE, /unreact ID EMOTE, /typing, /read ID, /quit"


def mint_token(user, secret, ttl=3600):
    """An HS256 JWT for `user` (what `chorus token --user` prints)."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"user_id": user, "iat": now, "exp": now + ttl}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


# --- Errors ------------------------------------------------------------------------------------

class Exit(Exception):
    """Leave the client with `status`, printing `message` (if any) on stderr."""

    def __init__(self, status, message=None):
        super().__init__(message)
        self.status = status
        self.message = message


class ApiError(Exception):
    """The server refused a request with a Chorus error (`{"error": {"code", "message"}}`)."""

    def __init__(self, status, code, message):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class NetworkError(Exception):
    """The node could not be reached, or the connection broke."""


class BadReply(Exception):
    """The peer answered, but not like a Chorus node (not JSON, not a WebSocket, ...)."""


class Closed(Exception):
    """The server closed the WebSocket with a close frame."""

    def __init__(self, code, reason):
        super().__init__(f"{code} {reason}".strip())
        self.code, self.reason = code, reason


def network_reason(error):
    """A short, human description of a network failure."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        error = error.reason
    if isinstance(error, str):
        return error
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host name: {error.strerror or error}"
    if isinstance(error, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    if isinstance(error, http.client.HTTPException):
        return f"not an HTTP answer ({type(error).__name__})"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror[:1].lower() + error.strerror[1:]
    return str(error) or type(error).__name__


def unreachable(url, error):
    return f"{PROG}: cannot reach {url} ({network_reason(error)}); is chorus serve running?"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text):
    """`text` without terminal control characters (a message body must not drive the terminal)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


# --- WebSocket ---------------------------------------------------------------------------------

class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), text/ping/close in."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url, timeout=10):
        """Connects and upgrades. Raises NetworkError or BadReply."""
        parsed = urllib.parse.urlsplit(url)
        secure = parsed.scheme == "wss"
        port = parsed.port or (443 if secure else 80)
        self.lock = threading.Lock()
        self.buffer = b""
        try:
            self.sock = socket.create_connection((parsed.hostname, port), timeout=timeout)
            if secure:
                import ssl
                self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=parsed.hostname)
            key = base64.b64encode(os.urandom(16)).decode()
            path = (parsed.path or "/") + ("?" + parsed.query if parsed.query else "")
            request = (f"GET {path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nUpgrade: websocket\r\n"
                       f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
            self.sock.sendall(request.encode())
            response = b""
            while b"\r\n\r\n" not in response:
                if len(response) > 65536:
                    raise BadReply("an endless HTTP header instead of a WebSocket upgrade")
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise NetworkError("the server closed the connection during the WebSocket handshake")
                response += chunk
        except OSError as error:
            self._close_socket()
            raise NetworkError(network_reason(error)) from None
        except (NetworkError, BadReply):
            self._close_socket()
            raise
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or not status[0].startswith("HTTP/") or status[1] != "101":
            self._close_socket()
            raise BadReply(f"no WebSocket upgrade: {printable(lines[0][:100]) or 'an empty answer'}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            self._close_socket()
            raise BadReply("a WebSocket upgrade with a wrong Sec-WebSocket-Accept")

    def _close_socket(self):
        try:
            self.sock.close()
        except (AttributeError, OSError):
            pass

    def settimeout(self, seconds):
        self.sock.settimeout(seconds)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send(self, opcode, payload):
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self.lock:
            self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self._send(0x1, text.encode())

    def close(self, code=1000):
        """Sends a close frame (best effort) without waiting for the answer."""
        try:
            self._send(0x8, struct.pack("!H", code))
        except OSError:
            pass

    def receive(self):
        """The next text message. Raises Closed on a close frame, OSError when the connection breaks."""
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x9:  # ping: answer with the same payload
                self._send(0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:].decode(errors="replace")
                try:
                    self._send(0x8, payload[:2])
                except OSError:
                    pass
                raise Closed(code, printable(reason))
            elif opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode(errors="replace")


# --- The terminal ------------------------------------------------------------------------------

def char_width(char):
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


class Console:
    """Everything the client prints goes through here, under one lock.

    In line mode it prints lines. In terminal mode it also owns the line being edited: an
    event is printed by clearing the prompt line, writing the event and redrawing the prompt
    with the partial input, so that nothing garbles what the user is typing.
    """

    def __init__(self, prompt="> "):
        self.lock = threading.RLock()
        self.prompt = prompt
        self.buffer = ""
        self.fd = None          # the terminal's fd while in cbreak mode
        self.saved = None       # its settings before
        self.finishing = False  # set once the client is on its way out (listener stays quiet)
        for stream in (sys.stdin, sys.stdout, sys.stderr):  # odd bytes never end the client
            try:
                stream.reconfigure(errors="replace")
            except (AttributeError, ValueError):
                pass

    # Terminal mode.

    def start_terminal(self, fd):
        """Puts `fd` in cbreak mode (no echo, key by key; signals stay on). False if it cannot."""
        if termios is None:
            return False
        with self.lock:
            try:
                self.saved = termios.tcgetattr(fd)
                mode = termios.tcgetattr(fd)
                mode[3] &= ~(termios.ECHO | termios.ICANON)
                mode[6][termios.VMIN] = 1
                mode[6][termios.VTIME] = 0
                termios.tcsetattr(fd, termios.TCSANOW, mode)  # TCSANOW: keep keys typed ahead
            except (termios.error, OSError):
                self.saved = None
                return False
            self.fd = fd
            self._write(self._line())
            return True

    @property
    def editing(self):
        return self.fd is not None

    def restore_terminal(self):
        """Puts the terminal back as it was (idempotent), leaving the cursor on an empty line."""
        with self.lock:
            if self.fd is None:
                return
            fd, saved, self.fd = self.fd, self.saved, None
            self._write("\r\x1b[K")
            try:
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            except (termios.error, OSError):
                pass

    def suspend(self):
        """Ctrl-Z: restore the terminal, stop, and take it back when continued."""
        with self.lock:
            fd = self.fd
            self.restore_terminal()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, lambda *_: self.suspend())
        if fd is not None and not self.finishing:
            self.start_terminal(fd)

    def _columns(self):
        for fd in (self.fd, 1):
            try:
                columns = os.get_terminal_size(fd).columns
            except (OSError, TypeError, ValueError):
                continue
            if columns > 0:  # 0: a terminal that never said its size
                return columns
        return 80

    def _line(self):
        """The prompt line as it is drawn: the prompt and the end of the input that fits."""
        room = max(self._columns() - 1 - sum(map(char_width, self.prompt)), 8)

        def tail(limit):
            shown, width = [], 0
            for char in reversed(self.buffer):
                width += char_width(char)
                if width > limit:
                    return "".join(reversed(shown)), True
                shown.append(char)
            return "".join(reversed(shown)), False

        text, cut = tail(room)
        if cut:
            text = "<" + tail(room - 1)[0]  # the line goes on to the left
        return "\r\x1b[K" + self.prompt + text

    def _write(self, text):
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            self.finish(1)
        except (OSError, ValueError):
            pass

    def redraw(self, clear_screen=False):
        with self.lock:
            if self.editing:
                self._write(("\x1b[H\x1b[2J" if clear_screen else "") + self._line())

    def set_buffer(self, text):
        with self.lock:
            self.buffer = text
            self.redraw()

    def take_line(self):
        """Enter: leaves the whole line on the screen and starts an empty one."""
        with self.lock:
            line, self.buffer = self.buffer, ""
            if self.editing:
                self._write("\r\x1b[K" + self.prompt + line + "\n" + self._line())
            return line

    # Output.

    def show(self, text, error=False):
        """Prints a line (stdout, or stderr with error=True) above the line being edited."""
        with self.lock:
            stream = sys.stderr if error else sys.stdout
            try:
                if self.editing:
                    sys.stdout.write("\r\x1b[K")
                    sys.stdout.flush()
                stream.write(text + "\n")
                stream.flush()
                if self.editing:
                    sys.stdout.write(self._line())
                    sys.stdout.flush()
            except BrokenPipeError:
                self.finish(1)
            except (OSError, ValueError):
                pass

    def finish(self, status, message=None, error=True):
        """Restores the terminal, prints `message` and ends the process (from any thread)."""
        with self.lock:
            self.finishing = True
            self.restore_terminal()
            for stream, text in ((sys.stderr if error else sys.stdout, message), (sys.stdout, None), (sys.stderr, None)):
                try:
                    if text:
                        stream.write(text + "\n")
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(status)


# --- The client --------------------------------------------------------------------------------

class Client:
    def __init__(self, base_url, token, user, console):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.user = user
        self.console = console
        self.last_seq = {}

    def call(self, method, path, body=None):
        """The decoded JSON answer (None for an empty one). Raises ApiError, NetworkError, BadReply."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            try:
                detail = json.loads(error.read().decode())["error"]
                code, message = detail["code"], detail.get("message")
            except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException):
                raise BadReply(f"{self.base_url} answered {method} {path} with HTTP {error.code} {error.reason}, "
                               f"not a Chorus error") from None
            raise ApiError(error.code, code, message) from None
        except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
            raise NetworkError(network_reason(error)) from None
        if not raw:
            return None
        try:
            return json.loads(raw.decode())
        except ValueError:
            raise BadReply(f"{self.base_url} answered {method} {path} with HTTP {status} and a body "
                           f"that is not JSON") from None

    def command(self, method, path, body=None):
        """`call` for a command typed by the user: failures are printed, never raised."""
        try:
            return self.call(method, path, body)
        except ApiError as error:
            self.console.show(f"! {error}")
        except NetworkError as error:
            self.console.show(f"! cannot reach {self.base_url} ({error})")
        except BadReply as error:
            self.console.show(f"! {error}")
        return None

    def describe(self, event):
        kind, data, seq = event.get("type"), event.get("data", {}), event.get("seq")
        channel = event.get("channel_id")
        if seq is not None:
            self.last_seq[channel] = seq
        prefix = f"[{channel} #{seq}]" if seq is not None else f"[{channel}]"
        if kind == "message":
            return f"{prefix} {data['sender_name']}: {data['body']}   (id {data['id']})"
        if kind == "message_update":
            return f"{prefix} {data['sender_name']} edited {data['id']}: {data['body']}"
        if kind == "message_delete":
            return f"{prefix} message {data['id']} was deleted"
        if kind in ("reaction_add", "reaction_remove"):
            verb = "reacted" if kind == "reaction_add" else "removed reaction"
            return f"{prefix} {data['user_id']} {verb} :{data['emote_asset_id']}: on {data['message_id']}"
        if kind == "typing":
            return None if data["user_id"] == self.user else f"{prefix} {data['user_id']} is typing..."
        if kind == "typing_stop":
            return None if data["user_id"] == self.user else f"{prefix} {data['user_id']} stopped typing"
        if kind == "member_add":
            return f"{prefix} {data['user_id']} joined as {data['role']}"
        if kind == "member_remove":
            return f"{prefix} {data['user_id']} left"
        if kind == "channel_update":
            return f"{prefix} channel renamed to {data['name']}"
        if kind == "read":
            return f"{prefix} {data['user_id']} read up to {data['last_read_message_id']}"
        if kind == "hello":
            return f"* connected as {event['user_id']} (connection {event['connection_id']})"
        if kind == "error":
            error = event.get("error") or {}
            where = f"{prefix} " if channel else ""
            return f"! {where}{error.get('code')}: {error.get('message')}"
        if kind in ("health", "resumed"):
            return None
        return f"* {json.dumps(event)}"

    def format(self, text):
        """The printable line for one frame (None: nothing to print)."""
        try:
            event = json.loads(text)
            line = self.describe(event)
        except (ValueError, KeyError, TypeError, AttributeError):
            line = f"* {text}"
        return printable(line) if line else None

    def listen(self, ws):
        """The listener thread: prints every frame; ends the client when the socket closes."""
        console = self.console
        try:
            while True:
                line = self.format(ws.receive())
                if line:
                    console.show(line)
        except Closed as closed:
            if not console.finishing:
                console.show(f"* server closed the connection: {closed.code} {closed.reason}".rstrip())
                console.finish(0 if closed.code in (1000, 1001, None) else 1)
        except (OSError, ValueError, struct.error) as error:
            if not console.finishing:
                console.finish(2, f"{PROG}: lost the connection to {self.base_url} ({network_reason(error)})")
        except Exception as error:  # never a traceback from this thread
            if not console.finishing:
                console.finish(2, f"{PROG}: the connection to {self.base_url} failed ({error!r})")


class Session:
    """What one typed line does, and the typing frames while a line is being typed."""

    def __init__(self, client, ws, channel):
        self.client, self.ws, self.channel = client, ws, channel
        self.last_typing = None  # when this line last sent a typing frame

    def send_typing(self):
        try:
            self.ws.send_text(json.dumps({"type": "typing", "channel_id": self.channel}))
        except OSError:
            pass  # the listener reports the lost connection

    def keystroke(self, line):
        """A key changed the line being typed: announce typing, at most once every 2 s."""
        if not self.channel or not line or line.startswith("/"):
            return
        now = time.monotonic()
        if self.last_typing is None or now - self.last_typing >= TYPING_INTERVAL:
            self.last_typing = now
            self.send_typing()

    def handle(self, line):
        """Runs one line; False to quit."""
        self.last_typing = None
        console, client, channel = self.client.console, self.client, self.channel
        if not line.strip():
            return True
        words = line.split(" ", 2)
        if words[0] == "/quit":
            return False
        if words[0].startswith("/") and not channel:
            console.show("! pass --channel, --create-room or --join first")
            return True
        base = f"/v1/channels/{quote(channel)}" if channel else None
        if words[0] == "/typing":
            self.send_typing()
        elif words[0] == "/edit" and len(words) == 3:
            client.command("PUT", f"{base}/messages/{quote(words[1])}", {"body": words[2]})
        elif words[0] == "/delete" and len(words) >= 2:
            client.command("DELETE", f"{base}/messages/{quote(words[1])}")
        elif words[0] == "/react" and len(words) == 3:
            client.command("POST", f"{base}/messages/{quote(words[1])}/reactions", {"emote_asset_id": words[2]})
        elif words[0] == "/unreact" and len(words) == 3:
            client.command("DELETE", f"{base}/messages/{quote(words[1])}/reactions/{quote(words[2])}")
        elif words[0] == "/read" and len(words) >= 2:
            client.command("POST", f"{base}/read", {"last_read_message_id": words[1]})
        elif words[0].startswith("/"):
            console.show(f"! commands: {COMMANDS_HELP}")
        elif channel:
            client.command("POST", f"{base}/messages", {"body": line})
        else:
            console.show("! pass --channel, --create-room or --join to send messages")
        return True


def quote(segment):
    return urllib.parse.quote(str(segment), safe="")


# --- Input -------------------------------------------------------------------------------------

def edit_lines(console, session, fd):
    """Terminal mode: reads key by key, edits the line, returns at Ctrl-D on an empty line or /quit."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    escape = None  # None, "esc", "csi" or "ss3": skipping an escape sequence (arrows, F keys, ...)
    while True:
        try:
            data = os.read(fd, 1024)
        except OSError:  # EIO: the terminal went away
            return
        if not data:
            return
        for char in decoder.decode(data):
            if escape == "esc":
                escape = {"[": "csi", "O": "ss3"}.get(char)
                continue
            if escape == "ss3":
                escape = None
                continue
            if escape == "csi":
                if "\x40" <= char <= "\x7e":
                    escape = None
                continue
            line = console.buffer
            if char in ("\r", "\n"):
                if not session.handle(console.take_line()):
                    return
            elif char == "\x1b":
                escape = "esc"
            elif char == "\x03":  # Ctrl-C as a key (when the terminal does not make it a signal)
                raise KeyboardInterrupt
            elif char == "\x04":  # Ctrl-D: quit on an empty line
                if not line:
                    return
            elif char in ("\x7f", "\x08"):  # Backspace
                if line:
                    console.set_buffer(line[:-1])
                    session.keystroke(console.buffer)
            elif char == "\x15":  # Ctrl-U: clear the line
                console.set_buffer("")
            elif char == "\x17":  # Ctrl-W: delete the last word
                console.set_buffer(re.sub(r"\S*\s*$", "", line, count=1) if line.strip() else "")
            elif char == "\x0c":  # Ctrl-L: redraw
                console.redraw(clear_screen=True)
            elif char == "\t" or unicodedata.category(char) != "Cc":
                console.set_buffer(line + (" " if char == "\t" else char))
                session.keystroke(console.buffer)


def read_lines(session):
    """Line mode (stdin is a pipe or a file): one line at a time, until /quit or the end of stdin."""
    for line in sys.stdin:
        if not session.handle(line.rstrip("\r\n")):
            return


# --- Startup -----------------------------------------------------------------------------------

def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="chorus-chat.py",
                                     description="Watch and talk in Chorus channels from a terminal.")
    parser.add_argument("--url", default=os.environ.get("CHORUS_URL", "http://127.0.0.1:8080"), help="the node's HTTP URL")
    parser.add_argument("--user", required=True, help="your user id")
    parser.add_argument("--token", help="a user token (default: minted from CHORUS_JWT_SECRET)")
    parser.add_argument("--channel", metavar="ID", help="the channel your lines go to (one you are a member of)")
    parser.add_argument("--create-room", metavar="NAME", help="create a room and talk in it")
    parser.add_argument("--join", metavar="ID", help="join a room and talk in it")
    args = parser.parse_args(argv)
    if args.create_room is not None and args.join is not None:
        parser.error("--create-room and --join contradict each other: create a room, or join one")
    if args.create_room is not None and args.channel is not None:
        parser.error("--create-room and --channel contradict each other: the new room is the channel")
    if args.join is not None and args.channel is not None and args.join != args.channel:
        parser.error("--join and --channel name two different channels; lines go to one channel")
    for option in ("join", "channel"):
        if getattr(args, option) is not None and not getattr(args, option).strip():
            parser.error(f"--{option.replace('_', '-')} needs a channel id")
    url = urllib.parse.urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        parser.error(f"--url must be an http:// or https:// URL, not {args.url!r}")
    try:
        url.port
    except ValueError:
        parser.error(f"--url has a bad port: {args.url!r}")
    if args.token is None and not os.environ.get("CHORUS_JWT_SECRET"):
        parser.error("set CHORUS_JWT_SECRET (the server's) or pass --token")
    args.url = args.url.rstrip("/")
    return args


def startup_call(client, what, method, path, body=None):
    """A request the client needs before it can start: any failure ends it (1: refused, 2: unreachable)."""
    try:
        return client.call(method, path, body)
    except ApiError as error:
        raise Exit(1, f"{PROG}: {what} refused: {error.status} {error.code}: {error.message}")
    except NetworkError as error:
        raise Exit(2, unreachable(client.base_url, error))
    except BadReply as error:
        raise Exit(2, f"{PROG}: {error}; is --url a Chorus node?")


def choose_channel(args, client, console):
    """Creates, joins or checks the channel the lines go to (None: watch only)."""
    if args.create_room is not None:
        created = startup_call(client, f"creating room {args.create_room!r}", "POST", "/v1/channels",
                               {"type": "room", "name": args.create_room})
        if not isinstance(created, dict) or "id" not in created:
            raise Exit(2, f"{PROG}: {client.base_url} answered the room creation without a channel id; is --url a Chorus node?")
        channel = str(created["id"])
        console.show(f"* created room {args.create_room!r}: {channel}   (others: --join {channel})")
        return channel
    if args.join is not None:
        channel = args.join.strip()
        try:
            client.call("POST", f"/v1/channels/{quote(channel)}/members", {"user_id": args.user})
        except ApiError as error:
            if error.code != "CHAT_ALREADY_MEMBER":
                hint = ("; for a group or DM you are in, use --channel"
                        if error.code in ("CHAT_CANNOT_MODIFY_DM", "CHAT_NOT_ADMIN") else "")
                raise Exit(1, f"{PROG}: joining {channel} refused: {error.status} {error.code}: {error.message}{hint}")
            console.show(f"* already a member of {channel}")
        except NetworkError as error:
            raise Exit(2, unreachable(client.base_url, error))
        except BadReply as error:
            raise Exit(2, f"{PROG}: {error}; is --url a Chorus node?")
        return channel
    if args.channel is not None:
        channel = args.channel.strip()
        startup_call(client, f"opening channel {channel}", "GET", f"/v1/channels/{quote(channel)}")
        return channel
    return None


def connect(args, client, token):
    """Opens the WebSocket and waits for `hello`. Returns (ws, hello)."""
    scheme = "wss" if args.url.startswith("https://") else "ws"
    ws_url = scheme + args.url[args.url.index("://"):] + "/v1/ws?token=" + urllib.parse.quote(token)
    try:
        ws = WebSocket(ws_url)
    except NetworkError as error:
        raise Exit(2, unreachable(args.url, error))
    except BadReply as error:
        raise Exit(2, f"{PROG}: {args.url}/v1/ws answered with {error}; is --url a Chorus node?")
    try:
        while True:  # the first frame is `hello` (or an `error` for a refused token)
            text = ws.receive()
            try:
                frame = json.loads(text)
                kind = frame.get("type")
            except (ValueError, AttributeError):
                raise Exit(2, f"{PROG}: {args.url}/v1/ws sent a frame that is not JSON; is --url a Chorus node?")
            if kind == "hello":
                return ws, frame
            if kind == "error":
                error = frame.get("error") or {}
                raise Exit(1, f"{PROG}: the WebSocket was refused: {error.get('code')}: {error.get('message')}")
    except Closed as closed:
        raise Exit(2, f"{PROG}: {args.url} closed the WebSocket at once ({closed.code} {closed.reason})".rstrip())
    except (OSError, struct.error) as error:
        raise Exit(2, f"{PROG}: lost the connection to {args.url} before its hello ({network_reason(error)})")


def run(args, console):
    token = args.token or mint_token(args.user, os.environ["CHORUS_JWT_SECRET"])
    client = Client(args.url, token, args.user, console)
    channel = choose_channel(args, client, console)
    ws, hello = connect(args, client, token)
    console.show(client.format(json.dumps(hello)))
    heartbeat = hello.get("heartbeat_interval") if isinstance(hello.get("heartbeat_interval"), (int, float)) else 25
    ws.settimeout(max(60, 3 * heartbeat))  # health frames come every heartbeat: silence this long is a dead link
    ws.send_text(json.dumps({"type": "resume", "channels": {}}))  # start the stream now
    threading.Thread(target=client.listen, args=(ws,), daemon=True).start()

    session = Session(client, ws, channel)
    fd = sys.stdin.fileno() if sys.stdin is not None else None
    if fd is not None and os.isatty(fd) and console.start_terminal(fd):
        if hasattr(signal, "SIGTSTP"):
            signal.signal(signal.SIGTSTP, lambda *_: console.suspend())
        edit_lines(console, session, fd)
    else:
        read_lines(session)
        time.sleep(0.3)  # give the last events a moment to print before leaving
    console.finishing = True
    ws.close()
    return 0


def main(argv=None):
    args = parse_arguments(argv)
    console = Console(prompt=f"{args.user}> ")

    def terminate(signum, _frame):
        raise Exit(128 + signum)

    # Ctrl-C is KeyboardInterrupt even if this process was started with SIGINT ignored or blocked
    # (Python keeps an inherited SIG_IGN, and some parents, test runners among them, set them).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
    for name in ("SIGTERM", "SIGHUP", "SIGQUIT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), terminate)
    try:
        status, message = run(args, console), None
    except KeyboardInterrupt:
        status, message = 130, None
    except Exit as done:
        status, message = done.status, done.message
    except Exception as error:  # a bug, or something nobody foresaw: one line, never a traceback
        status, message = 1, f"{PROG}: unexpected error: {type(error).__name__}: {error}"
    console.finish(status, message)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C before main's handler is in place
        os._exit(130)
