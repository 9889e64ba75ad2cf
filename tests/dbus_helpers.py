"""Talking to a daemon on a private session bus (devkit.servers starts it), and a signal
collector running its own GLib loop."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from typing import Any

from devkit.servers import ROOT, private_bus

BUS_NAME = "org.sttdaemon.SttDaemon"
PATH = "/org/sttdaemon/SttDaemon"
IFACE = "org.sttdaemon.SttDaemon1"
CLI = [sys.executable, "-m", "stt_daemon"]


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """The CLI as a child with piped text stdout and stderr."""
    return subprocess.Popen([*CLI, *args], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen[str], timeout: float = 10) -> tuple[str, str]:
    """Ctrl-C, as a user stops it; killed if it has not exited within ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)
    finally:
        proc.kill()


def name_has_owner(address: str) -> bool:
    out = subprocess.run(["gdbus", "call", "--address", address, "--dest", "org.freedesktop.DBus",
                          "--object-path", "/org/freedesktop/DBus",
                          "--method", "org.freedesktop.DBus.NameHasOwner", BUS_NAME],
                         capture_output=True, text=True, timeout=10)
    return "true" in out.stdout


def wait_for_name(address: str, timeout_s: float = 60, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if name_has_owner(address):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"daemon exited with {proc.returncode}: {proc.stderr and proc.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError("the daemon never owned its bus name")


def dbus_send(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["dbus-send", f"--bus={address}", "--print-reply", f"--dest={BUS_NAME}", PATH,
                           *args], capture_output=True, text=True, timeout=10)


class SignalCollector:
    """Records the daemon's signals as (monotonic time, member, args), from a thread of its own."""

    def __init__(self, address: str) -> None:
        self.events: list[tuple[float, str, Any]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: Any = None
        self._thread = threading.Thread(target=self._run, args=(address,), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _run(self, address: str) -> None:
        from gi.repository import Gio, GLib

        context = GLib.MainContext.new()
        context.push_thread_default()
        connection = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        connection.set_exit_on_close(False)

        def fired(conn: Any, sender: str, path: str, iface: str, member: str, params: Any) -> None:
            with self._lock:
                self.events.append((time.monotonic(), member, params.unpack()))

        for iface in (IFACE, "org.freedesktop.DBus.Properties"):
            connection.signal_subscribe(BUS_NAME, iface, None, PATH, None, Gio.DBusSignalFlags.NONE, fired)
        # A round trip: the bus handles our messages in order, so the match rules are in place.
        connection.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId",
                             None, None, Gio.DBusCallFlags.NONE, 10000, None)
        self._loop = GLib.MainLoop.new(context, False)
        self._ready.set()
        self._loop.run()
        connection.close_sync(None)

    def of(self, member: str) -> list[Any]:
        with self._lock:
            return [args for _, name, args in self.events if name == member]

    def wait_for(self, member: str, count: int = 1, timeout_s: float = 30) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.of(member)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} {member} signal(s), got {self.of(member)}")

    def wait_until(self, member: str, predicate: Any, timeout_s: float = 30) -> list[Any]:
        """Until ``predicate(signals of member)`` holds."""
        deadline = time.monotonic() + timeout_s
        while not predicate(self.of(member)):
            assert time.monotonic() < deadline, f"{member} signals never matched: {self.of(member)}"
            time.sleep(0.02)
        return self.of(member)

    def states(self) -> list[str]:
        return [changed["State"] for iface, changed, _ in self.of("PropertiesChanged") if "State" in changed]

    def close(self) -> None:
        if self._loop is not None:
            self._loop.quit()
        self._thread.join(5)


__all__ = ["private_bus"]
