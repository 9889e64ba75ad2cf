"""Run the live pipeline for `listen` and `serve`: stdout and/or D-Bus, until asked to stop.

Start-up order matters: a bad source or a taken bus name fails before the
2 s model load, and the bus name is owned last, so owning it means ready.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stt_daemon.controller import Controller, open_source
from stt_daemon.errors import BusError, ModelLoadError, ModelNotFound, SttError
from stt_daemon.mic import MicSource
from stt_daemon.supervisor import DeviceSupervisor
from stt_daemon.models import load_timed, resolve_model
from stt_daemon.publish import Publisher, RecentFinals
from stt_daemon.recycle import lower_this_threads_priority
from stt_daemon.sdnotify import Notifier, Watchdog
from stt_daemon.settings import AudioSettings, EngineSettings, OutputSettings
from stt_daemon.stdout_sink import StdoutSink
from stt_daemon.tuning import Tuning
from stt_daemon.vosk_backend import VoskBackend

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class DaemonSettings:
    audio: AudioSettings
    model: str | None
    output: OutputSettings | None  # None: nothing on stdout
    dbus: str  # "off", "optional" (listen: warn and carry on) or "required" (serve)
    engine: EngineSettings = EngineSettings()
    tuning: Tuning = Tuning()


class Reloader:
    """Re-reads the configuration (SIGHUP, D-Bus Reload) and applies what changed, live.

    ``build`` turns the configuration into settings; it raises for a bad file, and then
    the running configuration stays. A new model is loaded before the old one goes.
    """

    def __init__(self, build: Callable[[], DaemonSettings], current: DaemonSettings) -> None:
        self._build = build
        self.current = current
        self.requested = threading.Event()
        self._lock = threading.Lock()
        self.controller: Controller | None = None
        self.stdout: StdoutSink | None = None

    def check(self) -> DaemonSettings:
        """Validate the configuration now; raises SttError with a one-line reason."""
        return self._build()

    def run_if_requested(self) -> None:
        if self.requested.is_set():
            self.requested.clear()
            threading.Thread(target=self.apply, name="stt-reload", daemon=True).start()

    def apply(self) -> None:
        lower_this_threads_priority()  # a model load must not starve the real-time worker
        with self._lock:
            try:
                new = self._build()
                self._apply(new)
            except SttError as exc:
                _LOGGER.warning("configuration reload refused, keeping the running one: %s", exc)
                return
            self.current = new
            _LOGGER.info("configuration reloaded")

    def _apply(self, new: DaemonSettings) -> None:
        old, controller = self.current, self.controller
        if controller is None:
            return
        if (new.model, new.tuning) != (old.model, old.tuning):
            location = resolve_model(new.model)
            model = load_timed(location, new.tuning)
            controller.replace_model(lambda: VoskBackend(model), location.name)
        if new.audio != old.audio and new.audio.input_file is None:
            controller.switch_source(open_source(new.audio))
        if new.engine.endpoint_silence_ms != old.engine.endpoint_silence_ms:
            controller.set_endpoint_silence_ms(new.engine.endpoint_silence_ms)
        if new.engine.latency_budget_ms != old.engine.latency_budget_ms:
            controller.set_latency_budget_ms(new.engine.latency_budget_ms)
        if self.stdout is not None and new.output is not None:
            self.stdout.settings = new.output


def _connect_bus(mode: str) -> Any:
    if mode == "off":
        return None
    from stt_daemon.dbus_service import Publication, connect_session_bus

    try:
        bus = connect_session_bus()
        if Publication.name_is_taken(bus):
            raise BusError("another stt-daemon is running (it owns org.sttdaemon.SttDaemon); "
                           "stop it, or use 'stt-daemon subscribe' to read its transcripts")
        return bus
    except BusError as exc:
        if mode == "required":
            raise
        _LOGGER.warning("not publishing on D-Bus: %s", exc)
        return None


def run_daemon(reloader: Reloader, stop: threading.Event,
               on_stdout_closed: Callable[[], None], notifier: Notifier | None = None) -> None:
    notifier = notifier if notifier is not None else Notifier()
    try:
        while True:
            try:
                _run(reloader, stop, on_stdout_closed, notifier)
                return
            except (ModelNotFound, ModelLoadError) as exc:
                if reloader.current.dbus != "required" or not _wait_broken(str(exc), reloader, stop, notifier):
                    raise
    finally:
        notifier.close()


def _wait_broken(error: str, reloader: Reloader, stop: threading.Event, notifier: Notifier) -> bool:
    """serve that cannot start stays on the bus with the error until a reload (True) or a stop."""
    from stt_daemon.dbus_service import BUS_NAME, BrokenDaemonObject, Publication, connect_session_bus

    _LOGGER.error("%s; fix it and reload (systemctl --user reload stt-daemon)", error)
    bus = connect_session_bus()
    if Publication.name_is_taken(bus):
        raise BusError(f"another stt-daemon is running (it owns {BUS_NAME})")
    publication = Publication(bus, BrokenDaemonObject(error, reloader.requested, reloader.check))  # type: ignore[arg-type]
    publication.own_name()
    notifier.ready(f"error: {error}")
    reload_now = threading.Event()

    def keep_waiting() -> bool:
        if reloader.requested.is_set():
            reloader.requested.clear()
            try:
                reloader.current = reloader.check()
            except SttError as exc:
                _LOGGER.warning("configuration reload refused: %s", exc)
                return True
            reload_now.set()
            return False
        return True

    try:
        run_main_loop(stop, keep_waiting)  # D-Bus methods, Reload() among them, are answered here
    finally:
        publication.close()
    return reload_now.is_set()


def _run(reloader: Reloader, stop: threading.Event, on_stdout_closed: Callable[[], None],
         notifier: Notifier) -> None:
    settings = reloader.current
    waiting = settings.dbus == "required"  # serve waits for a missing device instead of crash-looping
    source = open_source(settings.audio, wait_for_device=waiting)
    location = resolve_model(settings.model)
    bus = _connect_bus(settings.dbus)
    notifier.status(f"loading model {location.name}")
    model = load_timed(location, settings.tuning)
    recent = RecentFinals()
    publisher = Publisher([recent])
    if settings.output is not None:
        reloader.stdout = StdoutSink(settings.output, on_closed=on_stdout_closed)
        publisher.add(reloader.stdout)
    controller = Controller(model, source, publisher, settings.engine, model_name=location.name)
    reloader.controller = controller
    if stop.is_set():
        return
    publication = keeper = None
    if bus is not None:
        from stt_daemon.dbus_service import BusKeeper, DbusSink, Publication, SttDaemonObject

        obj = SttDaemonObject(controller, recent, reloader)
        publisher.add(DbusSink(obj))
        publication = Publication(bus, obj)
        keeper = BusKeeper(publication, obj)
    watchdog = supervisor = None
    controller.state_listeners.append(lambda state: notifier.status(_status_text(controller)))
    try:
        own_name = publication.own_name if publication is not None else lambda: None
        if isinstance(source, MicSource) and source.device is None:
            own_name()
            controller.start_waiting()
        else:
            controller.start(when_open=own_name)
        notifier.ready(_status_text(controller))
        if isinstance(source, MicSource):
            supervisor = DeviceSupervisor(controller)
            supervisor.start()
        if notifier.watchdog_interval_s:
            watchdog = Watchdog(notifier, controller.healthy, notifier.watchdog_interval_s)
            watchdog.start()
        if settings.engine.stats_interval_s:
            _start_stats_reporter(controller, stop, settings.engine.stats_interval_s)
        def keep_running() -> bool:
            reloader.run_if_requested()
            if keeper is not None:
                keeper.check()
            return controller.running()

        if publication is not None:
            _LOGGER.info("on D-Bus as org.sttdaemon.SttDaemon")
            run_main_loop(stop, keep_running)
        else:
            while not stop.wait(0.1) and keep_running():
                pass
    finally:
        notifier.stopping()
        if supervisor is not None:
            supervisor.stop()
        if watchdog is not None:
            watchdog.stop()
        controller.stop()
        if keeper is not None:
            keeper.publication.close()


def run_main_loop(stop: threading.Event, keep_running: Callable[[], bool] = lambda: True) -> None:
    """Run GLib's main loop on this thread (D-Bus methods and signals are handled there)
    until ``stop`` is set or ``keep_running`` says no; polled every 100 ms."""
    from gi.repository import GLib

    loop = GLib.MainLoop()

    def check() -> bool:
        if stop.is_set() or not keep_running():
            loop.quit()
            return False
        return True

    GLib.timeout_add(100, check)
    loop.run()


def _status_text(controller: Controller) -> str:
    """systemd's STATUS= line: what the daemon is doing, in words."""
    state = controller.state
    if state == "listening":
        return f"listening to {controller.device}"
    if state == "waiting-for-device":
        return f"waiting for the device ({controller.device})"
    return state


def format_stats(stats: dict[str, float | int]) -> str:
    return ("stats: blocks={blocks} latency p50={latency_p50_ms} p95={latency_p95_ms} "
            "p99={latency_p99_ms} max={latency_max_ms} ms (budget {latency_budget_ms:g}) "
            "over_budget={over_budget_window} queue={queue_depth} drops={drops} "
            "overflows={overflows} level={overload_level} utterances={utterances}").format(**stats)


def _start_stats_reporter(controller: Controller, stop: threading.Event, interval_s: float) -> None:
    """--stats: one summary line on stderr every ``interval_s`` (window figures, no transcript)."""

    def report() -> None:
        while not stop.wait(interval_s) and controller.running():
            _LOGGER.info("%s", format_stats(controller.stats()))

    threading.Thread(target=report, name="stt-stats", daemon=True).start()
