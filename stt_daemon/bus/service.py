"""The D-Bus face of the daemon: a thin adapter over the controller.

Methods run on the GLib main loop. Signals are emitted straight from the
recognition worker's thread, since GDBus connections are thread-safe and a hop
through idle_add queues badly under bursts. Clients get named errors with
one-line messages, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pydbus.generic import signal

from stt_daemon.bus.names import API_VERSION, INTERFACE
from stt_daemon.control.controller import Controller
from stt_daemon.errors import SttError
from stt_daemon.events import Event, Partial
from stt_daemon.output.publish import RecentFinals

_LOGGER = logging.getLogger(__name__)

MAX_RECENT = 100

# pydbus logs a traceback for every exception a method raises; ours are expected.
logging.getLogger("pydbus.registration").setLevel(logging.CRITICAL)


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


class SttDaemonObject:
    """The exported object. Its methods are the API; keep the names exactly."""

    # pydbus signals are descriptors that keep their callbacks per instance.
    Partial = signal()
    Stable = signal()
    Final = signal()
    Formatted = signal()
    PropertiesChanged = signal()

    def __init__(self, controller: Controller, recent: RecentFinals,
                 reload: Callable[[], None] | None = None) -> None:
        """``reload`` checks the configuration (raising SttError) and has it applied."""
        self.instance_id = uuid.uuid4().hex
        self._controller = controller
        self._recent = recent
        self._reload = reload
        controller.add_listener(lambda name, value: self.properties_changed(**{name: value}))

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
    def Toggle(self) -> str:
        return self._controller.toggle().value

    @_one_line_errors
    def Hold(self) -> None:
        self._controller.hold()

    @_one_line_errors
    def Release(self) -> None:
        self._controller.release()

    @_one_line_errors
    def Reset(self) -> None:
        self._controller.reset()

    @_one_line_errors
    def Finalize(self) -> None:
        self._controller.finalize()

    @_one_line_errors
    def Reload(self) -> None:
        """Checks the configuration at once (errors go back to the caller), applies it aside."""
        if self._reload is None:
            raise NotImplementedError("this daemon has no configuration to reload")
        self._reload()

    @_one_line_errors
    def GetRecent(self, count: int) -> list[tuple[int, str, float, float]]:
        return [(f.utterance, f.raw, f.start, f.end) for f in self._recent.last(min(count, MAX_RECENT))]

    @_one_line_errors
    def GetStats(self) -> dict[str, Any]:
        from gi.repository import GLib

        return {key: GLib.Variant("t" if isinstance(value, int) else "d", value)
                for key, value in self._controller.stats().items()}

    @property
    def State(self) -> str:
        return self._controller.state.value

    @property
    def Device(self) -> str:
        return self._controller.device

    @property
    def Model(self) -> str:
        return self._controller.model_name

    @property
    def LatencyP99Ms(self) -> float:
        return self._controller.worker.monitor.summary().p99_ms

    def _perceived(self, name: str) -> dict[str, float]:
        figures = self._controller.worker.perceived.summary()[name]
        return {"n": float(figures.n), "p50": figures.p50_ms, "p90": figures.p90_ms, "p99": figures.p99_ms}

    @property
    def WordLatencyMs(self) -> dict[str, float]:
        return self._perceived("word")

    @property
    def EndOfSpeechLatencyMs(self) -> dict[str, float]:
        return self._perceived("end_of_speech")

    @property
    def OnsetLatencyMs(self) -> dict[str, float]:
        return self._perceived("onset")

    @property
    def LastError(self) -> str:
        return ""

    @property
    def InstanceId(self) -> str:
        return self.instance_id

    @property
    def ApiVersion(self) -> int:
        return API_VERSION


class BrokenDaemonObject:
    """What serve exports when it cannot start (a bad model): the same interface, a visible
    error, and Reload() to try again once the configuration is fixed. No restart storm."""

    Partial = signal()
    Stable = signal()
    Final = signal()
    Formatted = signal()
    PropertiesChanged = signal()

    def __init__(self, error: str, reload: Callable[[], None]) -> None:
        self.error = error
        self._reload = reload
        self.instance_id = uuid.uuid4().hex

    def _refuse(self, *args: Any) -> Any:
        raise Failed(f"not running: {self.error}")

    Pause = Resume = Toggle = Hold = Release = Reset = Finalize = GetRecent = GetStats = _refuse

    @_one_line_errors
    def Reload(self) -> None:
        self._reload()

    State = property(lambda self: "starting")
    Device = property(lambda self: "")
    Model = property(lambda self: "")
    LatencyP99Ms = property(lambda self: 0.0)
    WordLatencyMs = EndOfSpeechLatencyMs = OnsetLatencyMs = property(lambda self: {})
    LastError = property(lambda self: self.error)
    InstanceId = property(lambda self: self.instance_id)
    ApiVersion = property(lambda self: API_VERSION)


class DbusSink:
    """Publishes events as signals, from the worker thread; a dead bus is logged once."""

    name = "dbus"

    def __init__(self, obj: SttDaemonObject) -> None:
        self._obj: Any = obj
        self._failing = False

    def publish(self, event: Event) -> None:
        """Partial and Final carry the recognizer's own text (API version 1); Formatted follows
        each Final with the text as displayed.

        Stable follows a Partial whose stable prefix grew, with that prefix as displayed, like
        Formatted and unlike Partial: its use is to show or type the words early, and what is
        typed must be what the final's Formatted text begins with (the final keeps the stable
        words; pipeline/stable.py)."""
        try:
            if isinstance(event, Partial):
                self._obj.Partial(event.utterance, event.raw)
                if event.stable_grew:
                    self._obj.Stable(event.utterance, event.stable_text)
            else:
                words = [(w.word, w.start, w.end, w.conf) for w in event.words]
                self._obj.Final(event.utterance, event.raw, event.start, event.end, words)
                self._obj.Formatted(event.utterance, event.text)
            self._failing = False
        except Exception as exc:  # GLib.Error once the connection is closed
            if not self._failing:
                _LOGGER.warning("D-Bus publishing failed (%s); stdout carries on", exc)
            self._failing = True
