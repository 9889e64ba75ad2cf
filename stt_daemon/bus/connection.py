"""The session bus: a private connection that survives the bus, the well-known name, and
re-publishing on a bus that comes back."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from stt_daemon.bus.names import BUS_NAME, OBJECT_PATH, introspection_xml
from stt_daemon.errors import BusError

_LOGGER = logging.getLogger(__name__)


def connect_session_bus(hint: str = "run it inside a desktop session") -> Any:
    """A private connection that does not take the process down when the bus goes away;
    ``hint`` ends the error when there is no bus (what this command's user can do)."""
    from gi.repository import Gio, GLib
    from pydbus.bus import Bus

    try:
        address = os.environ.get("DBUS_SESSION_BUS_ADDRESS") or \
            Gio.dbus_address_get_for_bus_sync(Gio.BusType.SESSION, None)
        connection = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    except GLib.Error as exc:
        raise BusError(f"no D-Bus session bus ({exc.message.splitlines()[0]}); {hint}") from None
    connection.set_exit_on_close(False)
    return Bus(connection)


class Publication:
    """The object registered on a bus under the well-known name; owning the name means ready."""

    def __init__(self, bus: Any, obj: object) -> None:
        from stt_daemon.bus.throttle import CallBudget, register_budgeted

        self.bus = bus
        self._registration = register_budgeted(bus, OBJECT_PATH, obj, introspection_xml(), CallBudget())
        self._owner: Any = None

    @staticmethod
    def name_is_taken(bus: Any) -> bool:
        return bool(bus.dbus.NameHasOwner(BUS_NAME))

    def own_name(self) -> None:
        try:
            self._owner = self.bus.request_name(BUS_NAME, allow_replacement=False, replace=False)
        except RuntimeError:
            raise BusError(f"another stt-daemon is running (it owns {BUS_NAME}); "
                           "stop it, or talk to it with 'stt-daemon status'") from None

    def close(self) -> None:
        for handle in (self._owner, self._registration):
            try:
                if handle is not None:
                    handle.__exit__(None, None, None)
            except Exception as exc:  # the bus may already be gone
                _LOGGER.debug("releasing D-Bus resources: %s", exc)
        self._owner = self._registration = None


class BusKeeper:
    """Keeps the object published: when the session bus goes away, it tries again every
    second (from the GLib main loop) and re-registers on the bus that comes back."""

    RETRY_S = 1.0

    def __init__(self, publication: Publication, obj: object) -> None:
        self.publication = publication
        self._obj = obj
        self._next_try = 0.0
        self.reconnects = 0

    def check(self) -> None:
        if not self.publication.bus.con.is_closed():
            return
        now = time.monotonic()
        if now < self._next_try:
            return
        if self._next_try == 0.0:
            _LOGGER.warning("the session bus went away; stdout carries on, retrying the bus every %.0f s",
                            self.RETRY_S)
        self._next_try = now + self.RETRY_S
        try:
            bus = connect_session_bus()
            fresh = Publication(bus, self._obj)
            fresh.own_name()
        except Exception as exc:  # BusError, GLib.Error: not back yet
            _LOGGER.debug("session bus not back yet: %s", exc)
            return
        self.publication.close()
        self.publication = fresh
        self._next_try = 0.0
        self.reconnects += 1
        _LOGGER.info("back on the session bus as %s", BUS_NAME)
