"""`listen` and `serve`: start-up order, the main loop, reloads and shutdown.

Start-up order matters. A bad device, an unknown model or a taken bus name fails
before the 2 s model load. The audio stream opens only once the model is loaded
and warmed, and the bus name is owned only after that, so owning the name means
ready; READY=1 follows. Shutdown runs in the reverse order and flushes the
utterance in progress to every sink before the process exits.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

from stt_daemon.asr.base import EngineOptions
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.audio.open import open_source
from stt_daemon.control.controller import Controller
from stt_daemon.control.mainloop import MainLoop
from stt_daemon.control.reload import Reloader
from stt_daemon.control.report import StatsReporter, format_stats, status_text
from stt_daemon.errors import BusError, DeviceError, ModelError, SttError
from stt_daemon.models.locate import resolve_model
from stt_daemon.output.format import build_formatter
from stt_daemon.output.publish import Publisher, QueuedSink, RecentFinals
from stt_daemon.output.stdout import StdoutFormat, StdoutSink
from stt_daemon.pipeline.worker import State
from stt_daemon.service.sdnotify import Notifier, Watchdog
from stt_daemon.settings import Settings

_LOGGER = logging.getLogger(__name__)


class Mode(enum.Enum):
    LISTEN = "listen"  # stdout first; D-Bus too when a session bus exists
    SERVE = "serve"  # the D-Bus service: waits for a missing device, stays up with a bad model


class Daemon:
    def __init__(self, mode: Mode, load_settings: Callable[[], Settings], loop: MainLoop,
                 notifier: Notifier | None = None) -> None:
        """``load_settings`` reads the configuration layers; it runs again on every reload."""
        self._mode = mode
        self._load_settings = load_settings
        self.settings = load_settings()
        self._loop = loop
        self._notifier = notifier if notifier is not None else Notifier()
        self._reloader: Reloader | None = None
        self._retry: Settings | None = None  # a fixed configuration while broken
        self._stdout: QueuedSink | None = None
        loop.on_reload = self._reload_signalled

    def run(self) -> None:
        try:
            while True:
                try:
                    self._run_pipeline()
                    return
                except ModelError as exc:
                    if self._mode is not Mode.SERVE or not self._wait_broken(str(exc)):
                        raise
        finally:
            self._notifier.close()

    # -- reloads ------------------------------------------------------------------------------

    def reload(self) -> None:
        """D-Bus Reload(): check the configuration now (errors go to the caller), apply it aside."""
        new = self._load_settings()
        if self._reloader is not None:
            self._reloader.start(new)
        else:
            self._retry = new

    def _reload_signalled(self) -> None:
        """SIGHUP, on the main thread: a bad file is refused with a warning."""
        try:
            self.reload()
        except SttError as exc:
            _LOGGER.warning("configuration reload refused, keeping the running one: %s", exc)

    def _change_output(self, new: Settings) -> None:
        stdout = self._stdout
        if stdout is not None and isinstance(stdout.inner, StdoutSink):
            inner = stdout.inner
            fmt = StdoutFormat.for_stdout(new.output == "json", new.partials)
            stdout.call(lambda: setattr(inner, "settings", fmt))

    # -- the pipeline -------------------------------------------------------------------------

    def _prints(self, settings: Settings) -> bool:
        return self._mode is Mode.LISTEN or settings.stdout

    def _connect_bus(self, settings: Settings) -> Any:
        if self._mode is Mode.LISTEN and not settings.dbus:
            return None
        from stt_daemon.bus.connection import Publication, connect_session_bus

        hint = "run it inside a desktop session" if self._mode is Mode.SERVE else \
            "run it inside a desktop session, or use --no-dbus"
        try:
            bus = connect_session_bus(hint)
            if Publication.name_is_taken(bus):
                raise BusError("another stt-daemon is running (it owns org.sttdaemon.SttDaemon); "
                               "stop it, or use 'stt-daemon subscribe' to read its transcripts")
            return bus
        except BusError as exc:
            if self._mode is Mode.SERVE:
                raise
            _LOGGER.warning("not publishing on D-Bus: %s", exc)
            return None

    def _run_pipeline(self) -> None:
        settings = self.settings
        source = open_source(settings, wait_for_device=self._mode is Mode.SERVE)
        location = resolve_model(settings.model)
        bus = self._connect_bus(settings)
        self._notifier.status(f"loading model {location.name}")
        transcriber = load_transcriber(location.path, location.name, EngineOptions.from_settings(settings),
                                       location.origin)
        recent = RecentFinals()
        publisher = Publisher([recent])
        if self._prints(settings):
            fmt = StdoutFormat.for_stdout(settings.output == "json", settings.partials)
            self._stdout = QueuedSink(StdoutSink(fmt, on_closed=self._loop.request_stop))
            publisher.add(self._stdout)
        controller = Controller(source, transcriber, publisher, settings,  # builds and warms the recognizer
                                formatter=build_formatter(settings, transcriber.name),
                                should_stop=lambda: self._loop.stop_requested)
        if self._loop.stop_requested:  # Ctrl-C during the model load or the warm-up: nothing to flush
            return
        publication = keeper = None
        if bus is not None:
            from stt_daemon.bus.connection import BusKeeper, Publication
            from stt_daemon.bus.service import DbusSink, SttDaemonObject

            obj = SttDaemonObject(controller, recent, self.reload)
            publisher.add(DbusSink(obj))
            publication = Publication(bus, obj)
            keeper = BusKeeper(publication, obj)
        controller.add_listener(lambda name, value: self._notifier.status(status_text(controller)))
        self._reloader = Reloader(controller, settings, self._change_output)
        watchdog = reporter = None
        state = State.PAUSED if settings.start_paused else State.LISTENING
        try:
            try:
                if state is State.LISTENING:  # paused, the microphone is not even opened
                    source.start()  # only now: audio captured during the warm-up would only queue up
            except DeviceError as exc:
                if self._mode is not Mode.SERVE:
                    raise
                _LOGGER.warning("%s; waiting for it", exc)
                state = State.WAITING_FOR_DEVICE
            if publication is not None:
                publication.own_name()
            controller.start(state)
            self._notifier.ready(status_text(controller))
            _LOGGER.info({State.LISTENING: "listening to %s", State.PAUSED: "paused: %s stays closed until resumed",
                          State.WAITING_FOR_DEVICE: "waiting for %s"}[state], controller.device)
            if self._notifier.watchdog_interval_s:
                watchdog = Watchdog(self._notifier, controller.healthy, self._notifier.watchdog_interval_s)
                watchdog.start()
            if settings.stats:
                reporter = StatsReporter(controller, settings.stats)
                reporter.start()

            def tick() -> bool:
                if keeper is not None:
                    keeper.check()
                return controller.running()

            if publication is not None:
                _LOGGER.info("on D-Bus as org.sttdaemon.SttDaemon")
            self._loop.run(tick, glib=publication is not None)
        finally:
            self._notifier.stopping()
            for helper in (watchdog, reporter):
                if helper is not None:
                    helper.stop()
            controller.stop()
            publisher.close()
            if reporter is not None:  # the whole run's figures, once more at the end
                _LOGGER.info("%s", format_stats(controller.stats()))
            if keeper is not None:
                keeper.publication.close()
            self._reloader = None
        if controller.worker.fatal is not None:
            raise controller.worker.fatal

    def _wait_broken(self, error: str) -> bool:
        """serve that cannot start stays on the bus with the error until a reload fixes the
        configuration (True: try again) or a stop (False)."""
        from stt_daemon.bus.connection import Publication, connect_session_bus
        from stt_daemon.bus.names import BUS_NAME
        from stt_daemon.bus.service import BrokenDaemonObject

        _LOGGER.error("%s; fix it and reload (systemctl --user reload stt-daemon)", error)
        bus = connect_session_bus()
        if Publication.name_is_taken(bus):
            raise BusError(f"another stt-daemon is running (it owns {BUS_NAME})")
        publication = Publication(bus, BrokenDaemonObject(error, self.reload))
        publication.own_name()
        self._notifier.ready(f"error: {error}")
        self._retry = None
        try:
            self._loop.run(lambda: self._retry is None, glib=True)
        finally:
            publication.close()
        if self._retry is None:
            return False
        self.settings = self._retry
        return True
