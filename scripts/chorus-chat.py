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
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def mint_token(user, secret, ttl=3600):
    """An HS256 JWT for `user` (what `chorus token --user` prints)."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"user_id": user, "iat": now, "exp": now + ttl}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), text/ping/close in."""

    def __init__(self, url):
        parsed = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        path = parsed.path + ("?" + parsed.query if parsed.query else "")
        request = (f"GET {path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed during the handshake")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.split(b"\r\n")[0].decode())
        self.sock.settimeout(None)
        self.lock = threading.Lock()

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

    def receive(self):
        """The next text message; None when the server closes (with its close code printed)."""
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
                print(f"* server closed the connection: {code} {reason}", flush=True)
                try:
                    self._send(0x8, payload[:2])
                except OSError:
                    pass
                return None
            elif opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()


class Client:
    def __init__(self, base_url, token, user):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.user = user
        self.last_seq = {}

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read().decode() or "{}").get("error", {})
            print(f"! {error.code} {detail.get('code')}: {detail.get('message')}", flush=True)
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
        if kind in ("health", "resumed"):
            return None
        return f"* {json.dumps(event)}"

    def listen(self, ws):
        while True:
            text = ws.receive()
            if text is None:
                os._exit(0)
            line = self.describe(json.loads(text))
            if line:
                print(line, flush=True)


def main():
    parser = argparse.ArgumentParser(description="Watch and talk in Chorus channels from a terminal.")
    parser.add_argument("--url", default=os.environ.get("CHORUS_URL", "http://127.0.0.1:8080"), help="the node's HTTP URL")
    parser.add_argument("--user", required=True, help="your user id")
    parser.add_argument("--token", help="a user token (default: minted from CHORUS_JWT_SECRET)")
    parser.add_argument("--channel", help="the channel your lines go to")
    parser.add_argument("--create-room", metavar="NAME", help="create a room and talk in it")
    parser.add_argument("--join", metavar="ID", help="join a room and talk in it")
    args = parser.parse_args()

    token = args.token
    if token is None:
        secret = os.environ.get("CHORUS_JWT_SECRET")
        if not secret:
            sys.exit("set CHORUS_JWT_SECRET (the server's) or pass --token")
        token = mint_token(args.user, secret)
    client = Client(args.url, token, args.user)
    channel = args.channel
    if args.create_room:
        created = client.call("POST", "/v1/channels", {"type": "room", "name": args.create_room})
        if not created:
            sys.exit(1)
        channel = created["id"]
        print(f"* created room {args.create_room!r}: {channel}   (others: --join {channel})", flush=True)
    if args.join:
        channel = args.join
        client.call("POST", f"/v1/channels/{channel}/members", {"user_id": args.user})

    ws_url = args.url.replace("http://", "ws://", 1).rstrip("/") + "/v1/ws?token=" + urllib.parse.quote(token)
    ws = WebSocket(ws_url)
    ws.send_text(json.dumps({"type": "resume", "channels": {}}))  # start the stream now
    threading.Thread(target=client.listen, args=(ws,), daemon=True).start()

    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        words = line.split(" ", 2)
        if words[0] == "/quit":
            break
        if words[0].startswith("/") and not channel:
            print("! pass --channel, --create-room or --join first", flush=True)
            continue
        base = f"/v1/channels/{channel}"
        if words[0] == "/typing":
            ws.send_text(json.dumps({"type": "typing", "channel_id": channel}))
        elif words[0] == "/edit" and len(words) == 3:
            client.call("PUT", f"{base}/messages/{words[1]}", {"body": words[2]})
        elif words[0] == "/delete" and len(words) >= 2:
            client.call("DELETE", f"{base}/messages/{words[1]}")
        elif words[0] == "/react" and len(words) == 3:
            client.call("POST", f"{base}/messages/{words[1]}/reactions", {"emote_asset_id": words[2]})
        elif words[0] == "/unreact" and len(words) == 3:
            client.call("DELETE", f"{base}/messages/{words[1]}/reactions/{words[2]}")
        elif words[0] == "/read" and len(words) >= 2:
            client.call("POST", f"{base}/read", {"last_read_message_id": words[1]})
        elif words[0].startswith("/"):
            print("! commands: /edit ID TEXT, /delete ID, /react ID EMOTE, /unreact ID EMOTE, /typing, /read ID, /quit", flush=True)
        elif channel:
            client.call("POST", f"{base}/messages", {"body": line})
        else:
            print("! pass --channel, --create-room or --join to send messages", flush=True)
    # Give the last events a moment to print before leaving.
    time.sleep(0.3)


if __name__ == "__main__":
    main()
