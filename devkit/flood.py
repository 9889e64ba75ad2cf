"""A D-Bus client that floods the daemon with GetStats calls, for the tests and the bench.

    python -m devkit.flood sync SECONDS    # one call at a time, as fast as replies come
    python -m devkit.flood async COUNT     # COUNT calls sent at once, then wait for all replies

Prints one JSON line: {"ok", "busy", "other", "seconds", "busy_message"}. In async mode
it prints "sent" on a line of its own first, so a test knows the flood is queued.
Uses $DBUS_SESSION_BUS_ADDRESS (a private bus: the tests and the bench start their own).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from gi.repository import Gio, GLib

from stt_daemon.bus.names import BUS_NAME as NAME
from stt_daemon.bus.names import INTERFACE as IFACE
from stt_daemon.bus.names import OBJECT_PATH as PATH


class _Tally:
    def __init__(self) -> None:
        self.counts = {"ok": 0, "busy": 0, "other": 0}
        self.busy_message = ""
        self.other_message = ""

    def error(self, exc: GLib.Error) -> None:
        if "Error.Busy" in exc.message:
            self.counts["busy"] += 1
            self.busy_message = exc.message
        else:
            self.counts["other"] += 1
            self.other_message = exc.message


def _sync(bus: Any, seconds: float, tally: _Tally) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            bus.call_sync(NAME, PATH, IFACE, "GetStats", None, None, Gio.DBusCallFlags.NONE, 30000, None)
            tally.counts["ok"] += 1
        except GLib.Error as exc:
            tally.error(exc)


def _async(bus: Any, count: int, tally: _Tally) -> None:
    loop = GLib.MainLoop()

    def done(connection: Any, result: Any, _: Any) -> None:
        try:
            connection.call_finish(result)
            tally.counts["ok"] += 1
        except GLib.Error as exc:
            tally.error(exc)
        if sum(tally.counts.values()) >= count:
            loop.quit()

    for _ in range(count):
        bus.call(NAME, PATH, IFACE, "GetStats", None, None, Gio.DBusCallFlags.NONE, 120000, None, done, None)
    bus.flush_sync(None)
    print("sent", flush=True)
    loop.run()


def main() -> None:
    mode, amount = sys.argv[1], float(sys.argv[2])
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    tally = _Tally()
    t0 = time.monotonic()
    if mode == "sync":
        _sync(bus, amount, tally)
    else:
        _async(bus, int(amount), tally)
    print(json.dumps({**tally.counts, "seconds": round(time.monotonic() - t0, 3),
                      "busy_message": tally.busy_message, "other_message": tally.other_message}), flush=True)


if __name__ == "__main__":
    main()
