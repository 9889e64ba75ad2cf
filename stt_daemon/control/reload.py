"""Apply a new configuration to a running daemon: each changed key the way its declaration
says (settings.Live), on a thread of its own at low priority, so that a model load
never starves the real-time worker. Nothing here touches the worker directly: it
only asks the controller, which queues commands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from stt_daemon.asr.base import EngineOptions
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.audio.open import open_source
from stt_daemon.control.controller import Controller
from stt_daemon.errors import SttError
from stt_daemon.models.locate import resolve_model
from stt_daemon.pipeline.recycle import lower_this_threads_priority
from stt_daemon.settings import Live, Settings

_LOGGER = logging.getLogger(__name__)

OutputChange = Callable[[Settings], None]


class Reloader:
    def __init__(self, controller: Controller, current: Settings, on_output: OutputChange) -> None:
        self._controller = controller
        self.current = current
        self._on_output = on_output
        self._lock = threading.Lock()  # one reload at a time; taken only on reload threads

    def start(self, new: Settings) -> None:
        threading.Thread(target=self._apply, args=(new,), name="stt-reload", daemon=True).start()

    def _apply(self, new: Settings) -> None:
        lower_this_threads_priority()
        with self._lock:
            try:
                self.apply(new)
            except SttError as exc:
                _LOGGER.warning("configuration reload refused, keeping the running one: %s", exc)
                return
            _LOGGER.info("configuration reloaded")

    def apply(self, new: Settings) -> None:
        changed = self.current.changed(new)
        by_live: dict[Live, list[str]] = {}
        for key, live in changed.items():
            by_live.setdefault(live, []).append(key)
        controller = self._controller
        transcriber = None
        if Live.ENGINE in by_live:
            location = resolve_model(new.model)
            transcriber = load_transcriber(location.path, location.name, EngineOptions.from_settings(new),
                                           location.origin)
        if Live.WORKER in by_live or transcriber is not None:  # at once: endpointer, formatting...
            controller.configure(new, transcriber.name if transcriber is not None else None)
        if transcriber is not None:
            controller.use_transcriber(transcriber)
        if Live.SOURCE in by_live and new.input is None:
            controller.switch_source(open_source(new))
        if Live.OUTPUT in by_live:
            self._on_output(new)
        for key in by_live.get(Live.RESTART, []):
            _LOGGER.warning("%s changed: it applies %s", key, Live.RESTART.value)
        self.current = new
