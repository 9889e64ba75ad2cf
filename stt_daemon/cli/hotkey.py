"""The hotkey commands' fast path: `stt-daemon hold|release|toggle` as one D-Bus method call
over the session bus socket, with the standard library only.

A hotkey's clock starts when its command starts. Through click, PyGObject and pydbus the
call costs hundreds of milliseconds of imports before the daemon hears anything; this
path does the same call (bus authentication, Hello, the method, its reply) in plain
sockets. Anything it does not handle (no unix socket address, a failed authentication,
an odd reply) returns None, and the caller takes the ordinary path, which behaves the same.
"""

from __future__ import annotations

import os
import socket
import struct

BUS_NAME = "org.sttdaemon.SttDaemon"  # as in stt_daemon.bus.names, not imported: that costs time
OBJECT_PATH = "/org/sttdaemon/SttDaemon"
INTERFACE = "org.sttdaemon.SttDaemon1"
METHODS = {"hold": "Hold", "release": "Release", "toggle": "Toggle"}
TIMEOUT_S = 120.0  # as long as the ordinary path waits for a daemon the bus starts


class Unhandled(Exception):
    """Something this path does not do; the ordinary path takes over."""


class CallFailed(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def _pad(buf: bytearray, align: int) -> None:
    buf.extend(b"\0" * (-len(buf) % align))


def _message(serial: int, path: str, interface: str, member: str, destination: str) -> bytes:
    fields = bytearray()
    for code, sig, value in ((1, "o", path), (2, "s", interface), (3, "s", member), (6, "s", destination)):
        _pad(fields, 8)
        data = value.encode()
        fields += struct.pack("<B", code) + struct.pack("<B", 1) + sig.encode() + b"\0"
        _pad(fields, 4)
        fields += struct.pack("<I", len(data)) + data + b"\0"
    header = bytearray(struct.pack("<cBBBII", b"l", 1, 0, 1, 0, serial))
    header += struct.pack("<I", len(fields)) + fields
    _pad(header, 8)
    return bytes(header)


def _connect(address: str) -> socket.socket:
    for entry in address.split(";"):
        transport, _, params = entry.partition(":")
        keys = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
        if transport != "unix" or not ({"path", "abstract"} & keys.keys()):
            continue
        where = keys["path"] if "path" in keys else "\0" + keys["abstract"]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT_S)
        try:
            sock.connect(where)
        except OSError:
            sock.close()
            continue
        return sock
    raise Unhandled(address)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise Unhandled("the bus closed the connection")
        data += chunk
    return bytes(data)


def _read_message(sock: socket.socket) -> tuple[int, int, dict[int, object], bytes]:
    """(type, reply serial, header fields, body) of the next message (little-endian only)."""
    fixed = _recv_exact(sock, 16)
    if fixed[:1] != b"l":
        raise Unhandled("a big-endian message")
    kind = fixed[1]
    body_len, _, fields_len = struct.unpack_from("<III", fixed, 4)
    rest = _recv_exact(sock, fields_len + (-(16 + fields_len) % 8) + body_len)
    fields: dict[int, object] = {}
    pos = 0
    while pos < fields_len:
        pos += -pos % 8
        code, sig_len = rest[pos], rest[pos + 1]
        sig = rest[pos + 2:pos + 2 + sig_len].decode()
        pos += 3 + sig_len
        if sig in ("s", "o"):
            pos += -(16 + pos) % 4
            (n,) = struct.unpack_from("<I", rest, pos)
            fields[code] = rest[pos + 4:pos + 4 + n].decode()
            pos += 5 + n
        elif sig == "u":
            pos += -(16 + pos) % 4
            (fields[code],) = struct.unpack_from("<I", rest, pos)
            pos += 4
        elif sig == "g":
            n = rest[pos]
            fields[code] = rest[pos + 1:pos + 1 + n].decode()
            pos += 2 + n
        else:
            raise Unhandled(f"header field of type {sig}")
    body = rest[fields_len + (-(16 + fields_len) % 8):]
    return kind, int(fields.get(5, 0)), fields, body  # type: ignore[call-overload]


def _first_string(body: bytes) -> str:
    (n,) = struct.unpack_from("<I", body, 0)
    return body[4:4 + n].decode("utf-8", "replace")


def call(method: str, address: str | None = None) -> str | None:
    """Call ``method`` on the daemon; its string reply (Toggle), or None (Hold, Release).
    Raises Unhandled when the ordinary path must do it (nothing was sent to the daemon), and
    CallFailed on a D-Bus error or when no reply came."""
    address = address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        raise Unhandled("no $DBUS_SESSION_BUS_ADDRESS")
    with _connect(address) as sock:
        sock.sendall(b"\0AUTH EXTERNAL " + str(os.geteuid()).encode().hex().encode() + b"\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(256)
            if not chunk:
                raise Unhandled("the bus closed the connection")
            reply += chunk
        if not reply.startswith(b"OK "):
            raise Unhandled(f"authentication: {reply!r}")
        sock.sendall(b"BEGIN\r\n"
                     + _message(1, "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "org.freedesktop.DBus")
                     + _message(2, OBJECT_PATH, INTERFACE, method, BUS_NAME))
        try:  # the call went out: calling again by the ordinary path could toggle twice
            while True:
                kind, serial, fields, body = _read_message(sock)
                if serial != 2 or kind not in (2, 3):  # not the reply to our call
                    continue
                if kind == 3:
                    raise CallFailed(str(fields.get(4, "")), _first_string(body) if body else "")
                signature = fields.get(8, "")
                return _first_string(body) if signature == "s" else None
        except (Unhandled, OSError, struct.error, UnicodeDecodeError) as exc:
            raise CallFailed("NoReply", f"no readable reply ({exc})") from None
