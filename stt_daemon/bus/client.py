"""Clients of the daemon: the subscriber and the thin method callers.

The method callers never ask first whether a daemon runs: they call, and when the
activation file is installed the bus starts one (paused: activation never opens the
microphone). So every client behaves the same with or without a running daemon. The
subscriber matches signals by the well-known name, so it keeps working when the daemon
restarts under a new unique name; it never starts one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from stt_daemon.bus.connection import connect_session_bus
from stt_daemon.bus.names import BUS_NAME, INTERFACE, OBJECT_PATH
from stt_daemon.errors import BusError
from stt_daemon.events import Event, Final, Partial, Word

_LOGGER = logging.getLogger(__name__)


#: Long enough for the bus to start a daemon (model load and warm-up) on a slow machine.
ACTIVATION_TIMEOUT_MS = 120_000


def _unavailable(error: Any) -> BusError:
    message = str(getattr(error, "message", error))
    if "ServiceUnknown" in message or "NameHasNoOwner" in message:
        return BusError("no stt-daemon is running on the session bus; start one with 'stt-daemon serve' "
                        "or 'systemctl --user start stt-daemon'")
    if "Spawn" in message:
        return BusError("the session bus tried to start stt-daemon and it did not come up; run "
                        "'stt-daemon serve' to see why (or 'journalctl --user -u stt-daemon-activated')")
    return BusError(f"stt-daemon did not answer: {message.splitlines()[0]}")


def _proxy(bus: Any) -> Any:
    """The daemon's object; the bus starts the daemon first when it can be activated."""
    from gi.repository import GLib

    try:
        return bus.get(BUS_NAME, OBJECT_PATH, timeout=ACTIVATION_TIMEOUT_MS)
    except GLib.Error as exc:
        raise _unavailable(exc) from None


def call(method: str, *args: Any) -> Any:
    """Call one API method; D-Bus errors come back as one-line BusErrors."""
    from gi.repository import GLib

    proxy = _proxy(connect_session_bus())
    try:
        return getattr(proxy[INTERFACE], method)(*args)
    except GLib.Error as exc:
        if "ServiceUnknown" in exc.message or "NoReply" in exc.message:
            raise _unavailable(exc) from None
        message = exc.message.split(": ", 1)[-1] if exc.message else str(exc)
        raise BusError(f"{method} failed: {message.splitlines()[0]}") from None


def model_name() -> str:
    """The running daemon's model (it is not started for this)."""
    bus = connect_session_bus()
    if not bus.dbus.NameHasOwner(BUS_NAME):
        return ""
    return str(_proxy(bus)[INTERFACE].Model)


def status() -> dict[str, Any]:
    from gi.repository import GLib

    proxy = _proxy(connect_session_bus())
    iface = proxy[INTERFACE]
    info: dict[str, Any] = {"state": iface.State, "device": iface.Device, "model": iface.Model,
                            "last_error": iface.LastError, "instance_id": iface.InstanceId,
                            "api_version": iface.ApiVersion}
    try:
        info.update(iface.GetStats())
    except GLib.Error:  # a daemon that could not start has no figures
        pass
    return info


def event_from_signal(name: str, params: tuple[Any, ...]) -> Event | None:
    if name == "Partial":
        return Partial(int(params[0]), str(params[1]), str(params[1]), 0)
    if name == "Final":
        utterance, text, start, end, words = params
        return Final(int(utterance), str(text), str(text), float(start), float(end),
                     tuple(Word(str(w), float(s), float(e), float(c)) for w, s, e, c in words), 0)
    return None


class Subscription:
    """Delivers the daemon's signals (by default Partial and Final as events), and tells when
    it comes and goes.

    ``on_presence`` is first called once the bus has answered whether the daemon is there;
    the signal match rules were sent before that question, so from then on no signal is missed.
    """

    def __init__(self, on_event: Callable[[Event], None],
                 on_presence: Callable[[bool], None] = lambda present: None,
                 on_signal: Callable[[str, tuple[Any, ...]], None] | None = None,
                 signals: tuple[str, ...] = ("Partial", "Final")) -> None:
        """``on_signal`` gets every signal in ``signals`` as (name, arguments)."""
        self.bus = connect_session_bus()

        def fired(sender: str, obj: str, iface: str, signal: str, params: tuple[Any, ...]) -> None:
            if on_signal is not None:
                on_signal(signal, params)
            event = event_from_signal(signal, params)
            if event is not None:
                on_event(event)

        self._handles = [
            self.bus.subscribe(sender=BUS_NAME, iface=INTERFACE, signal=name, object=OBJECT_PATH,
                               signal_fired=fired)
            for name in signals
        ]
        self._handles.append(self.bus.watch_name(
            BUS_NAME, name_appeared=lambda owner: on_presence(True),
            name_vanished=lambda: on_presence(False)))

    def close(self) -> None:
        for handle in self._handles:
            handle.__exit__(None, None, None)
