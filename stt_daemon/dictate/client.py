"""Dictation: the daemon's finals, as displayed, typed into the focused window.

Signals arrive on the D-Bus thread and only join a bounded queue; a thread of its own does
the typing, so a slow tool never holds up the bus, let alone the daemon. The window that
had the focus when an utterance began must still have it when its text is typed (when
the backend can tell): text never lands in a window the user moved to while speaking.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stt_daemon.dictate.backends import Typer
from stt_daemon.dictate.commands import Commands
from stt_daemon.dictate.ledger import Ledger
from stt_daemon.errors import SttError

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Item:
    kind: str  # "begin" (an utterance started), "final" (its text, as displayed), "language"
    utterance: int
    text: str = ""


class Dictation:
    def __init__(self, typer: Typer, pause: Callable[[], None], language: str | None = None,
                 commands: Mapping[str, str] | None = None) -> None:
        """``pause`` asks the daemon to stop listening (the spoken "stop listening"); ``commands``
        are the user's spoken commands, beside the defaults of the daemon's language."""
        self._typer = typer
        self._extra = dict(commands or {})
        self._commands = Commands(language, self._extra)
        self._pause = pause
        self.ledger = Ledger()
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=256)
        self._windows: dict[int, str | None] = {}  # utterance -> the focused window when it began
        self._thread = threading.Thread(target=self._run, name="stt-dictate", daemon=True)
        self.characters = 0  # typed so far, for figures
        self.typed_ns = 0  # when the last character went out

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

    # -- the D-Bus thread: queue and return ---------------------------------------------------

    def began(self, utterance: int) -> None:
        self._put(_Item("begin", utterance))

    def language(self, language: str | None) -> None:
        """The daemon's model changed (or came): its language's spoken commands apply."""
        self._put(_Item("language", 0, language or ""))

    def formatted(self, utterance: int, text: str) -> None:
        self._put(_Item("final", utterance, text))

    def _put(self, item: _Item) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            _LOGGER.warning("typing is behind by 256 events; utterance %d was dropped", item.utterance)

    # -- the typing thread --------------------------------------------------------------------

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if item.kind == "begin":
                    self._windows.setdefault(item.utterance, self._typer.focus())
                elif item.kind == "language":
                    self._commands = Commands(item.text or None, self._extra)
                else:
                    self._final(item.utterance, item.text)
            except SttError as exc:  # the tool failed; the next utterance may work again
                _LOGGER.error("%s", exc)

    def _final(self, utterance: int, text: str) -> None:
        began = self._windows.pop(utterance, None)
        window = self._typer.focus()
        if began is not None and window is not None and began != window:
            _LOGGER.warning("utterance %d was not typed: the focus moved to another window while it was "
                            "spoken ('stt-daemon subscribe' shows it)", utterance)
            return
        actions = self._commands.parse(text)
        if actions and actions[-1].kind == "text":
            actions[-1] = type(actions[-1])("text", actions[-1].text + " ")  # a space after each utterance
        typed = 0
        for action in actions:
            if action.kind == "text":
                self._typer.type_text(action.text)
                typed += len(action.text)
            elif action.kind == "newline":
                self._typer.newline()
                typed += 1
            elif action.kind == "scratch":
                self._scratch(window)
            elif action.kind == "stop":
                _LOGGER.info("stop listening: pausing the daemon")
                self._pause()
        if typed:
            self.ledger.typed(utterance, window, typed)
            self.characters += typed
            self.typed_ns = time.monotonic_ns()

    def _scratch(self, window: str | None) -> None:
        entry = self.ledger.last()
        if entry is None:
            _LOGGER.info("scratch that: nothing typed to take back")
            return
        if entry.window is not None and window is not None and entry.window != window:
            _LOGGER.warning("scratch that: the last utterance went to another window; left as it is")
            return
        self._typer.backspace(entry.characters)
        self.ledger.forget_last()
        self.typed_ns = time.monotonic_ns()
