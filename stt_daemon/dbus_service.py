"""The D-Bus face of the daemon: a thin adapter over the controller.

Methods run on the GLib main loop. Signals are emitted straight from the
engine's worker thread, since GDBus connections are thread-safe and a hop
through idle_add queues badly under bursts. Clients get named errors with
one-line messages, never a traceback.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from pydbus.generic import signal

from stt_daemon.controller import Controller
from stt_daemon.errors import BusError, SttError
from stt_daemon.events import Event, Partial
from stt_daemon.publish import RecentFinals

_LOGGER = logging.getLogger(__name__)

BUS_NAME = "org.sttdaemon.SttDaemon"
OBJECT_PATH = "/org/sttdaemon/SttDaemon"
INTERFACE = "org.sttdaemon.SttDaemon1"
API_VERSION = 1
MAX_RECENT = 100

# pydbus logs a traceback for every exception a method raises; ours are expected.
logging.getLogger("pydbus.registration").setLevel(logging.CRITICAL)


def introspection_xml() -> str:
    return (importlib.resources.files("stt_daemon") / "data" / f"{INTERFACE}.xml").read_text("utf-8")


def _error_class(name: str) -> type[Exception]:
    """pydbus sends an exception's class name as the D-Bus error name when it has dots."""
    return type(f"{INTERFACE}.Error.{name}", (Exception,), {})


NotSupported = _error_class("NotSupported")
Failed = _error_class("Failed")

F = TypeVar("F", bound=Callable[..., Any])


def _one_line_errors(method: F) -> F:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except SttError as exc:
            raise Failed(str(exc).splitlines()[0]) from None
        except NotImplementedError as exc:
            raise NotSupported(str(exc)) from None
        except Exception:
            _LOGGER.exception("D-Bus method %s failed", method.__name__)
            raise Failed("internal error; see the daemon's log") from None

    return wrapper  # type: ignore[return-value]


def connect_session_bus() -> Any:
    """A private connection that does not take the process down when the bus goes away."""
    from gi.repository import Gio, GLib
    from pydbus.bus import Bus

    try:
        address = os.environ.get("DBUS_SESSION_BUS_ADDRESS") or \
            Gio.dbus_address_get_for_bus_sync(Gio.BusType.SESSION, None)
        connection = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    except GLib.Error as exc:
        raise BusError(f"no D-Bus session bus ({exc.message.splitlines()[0]}); "
                       "run inside a desktop session, or use --no-dbus") from None
    connection.set_exit_on_close(False)
    return Bus(connection)


class SttDaemonObject:
    """The exported object. Its methods are the API; keep the names exactly."""

    # pydbus signals are descriptors that keep their callbacks per instance.
    Partial = signal()
    Final = signal()
    PropertiesChanged = signal()

    def __init__(self, controller: Controller, recent: RecentFinals, reloader: Any = None) -> None:
        self._controller = controller
        self._recent = recent
        self._reloader = reloader
        controller.state_listeners.append(lambda state: self.properties_changed(State=state))
        controller.property_listeners.append(lambda name, value: self.properties_changed(**{name: value}))

    def properties_changed(self, **changed: Any) -> None:
        try:
            self.PropertiesChanged(INTERFACE, changed, [])
        except Exception as exc:  # GLib.Error once the bus is gone; the state change stands
            _LOGGER.debug("PropertiesChanged not sent: %s", exc)

    @_one_line_errors
    def Pause(self) -> None:
        self._controller.pause()

    @_one_line_errors
    def Resume(self) -> None:
        self._controller.resume()

    @_one_line_errors
    def Reset(self) -> None:
        self._controller.reset()

    @_one_line_errors
    def Finalize(self) -> None:
        self._controller.finalize()

    @_one_line_errors
    def Reload(self) -> None:
        """Checks the configuration at once (errors go back to the caller), applies it aside."""
        if self._reloader is None:
            raise NotImplementedError("this daemon has no configuration to reload")
        self._reloader.check()
        self._reloader.requested.set()

    @_one_line_errors
    def GetRecent(self, count: int) -> list[tuple[int, str, float, float]]:
        return [(f.utterance, f.text, f.start, f.end) for f in self._recent.last(min(count, MAX_RECENT))]

    @_one_line_errors
    def GetStats(self) -> dict[str, Any]:
        from gi.repository import GLib

        return {key: GLib.Variant("t" if isinstance(value, int) else "d", value)
                for key, value in self._controller.stats().items()}

    @property
    def State(self) -> str:
        return self._controller.state

    @property
    def Device(self) -> str:
        return self._controller.device

    @property
    def Model(self) -> str:
        return self._controller.model_name

    @property
    def LatencyP99Ms(self) -> float:
        return self._controller.monitor.summary().p99_ms

    @property
    def LastError(self) -> str:
        return ""

    @property
    def ApiVersion(self) -> int:
        return API_VERSION


class BrokenDaemonObject:
    """What serve exports when it cannot start (a bad model): the same interface, a visible
    error, and Reload() to try again once the configuration is fixed. No restart storm."""

    Partial = signal()
    Final = signal()
    PropertiesChanged = signal()

    def __init__(self, error: str, reload_requested: Any, check: Any) -> None:
        self.error = error
        self._requested = reload_requested
        self._check = check

    def _refuse(self, *args: Any) -> Any:
        raise Failed(f"not running: {self.error}")

    Pause = Resume = Reset = Finalize = GetRecent = GetStats = _refuse

    @_one_line_errors
    def Reload(self) -> None:
        self._check()
        self._requested.set()

    State = property(lambda self: "starting")
    Device = property(lambda self: "")
    Model = property(lambda self: "")
    LatencyP99Ms = property(lambda self: 0.0)
    LastError = property(lambda self: self.error)
    ApiVersion = property(lambda self: API_VERSION)


class DbusSink:
    """Publishes events as signals, from the worker thread; a dead bus is logged once."""

    name = "dbus"

    def __init__(self, obj: SttDaemonObject) -> None:
        self._obj: Any = obj
        self._failing = False

    def publish(self, event: Event, latency_ms: float) -> None:
        try:
            if isinstance(event, Partial):
                self._obj.Partial(event.utterance, event.text)
            else:
                words = [(w.word, w.start, w.end, w.conf) for w in event.words]
                self._obj.Final(event.utterance, event.text, event.start, event.end, words)
            self._failing = False
        except Exception as exc:  # GLib.Error once the connection is closed
            if not self._failing:
                _LOGGER.warning("D-Bus publishing failed (%s); stdout carries on", exc)
            self._failing = True


class Publication:
    """The object registered on a bus under the well-known name; owning the name means ready."""

    def __init__(self, bus: Any, obj: SttDaemonObject) -> None:
        self.bus = bus
        self._registration = bus.register_object(OBJECT_PATH, obj, introspection_xml())
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

    def __init__(self, publication: Publication, obj: SttDaemonObject) -> None:
        self.publication = publication
        self._obj = obj
        self._next_try = 0.0
        self.reconnects = 0

    def check(self) -> None:
        import time

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
