"""Dictation: the daemon's finals, as displayed, typed into the focused window.

Signals arrive on the D-Bus thread and only join a bounded queue; a thread of its own does
the typing, so a slow tool never holds up the bus, let alone the daemon. The window that
had the focus when an utterance began must still have it when its text is typed (when
the backend can tell): text never lands in a window the user moved to while speaking.

With ``live``, the stable prefix (the daemon's Stable signal: leading words the final
keeps) is typed as it grows. What an utterance has on
screen is kept as text, so every change is the minimum of backspaces: back to the common
prefix of what is there and what should be, then the rest. At the final the window goes
from the live text to the final's formatted text and the space after it; an utterance
that ends without a final (Reset: the next utterance begins instead) has its live text
erased. The ledger holds, per utterance, exactly the characters it left on screen, so
"scratch that" takes back exactly that.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stt_daemon.dictate.backends import Typer
from stt_daemon.dictate.commands import Action, Commands
from stt_daemon.dictate.ledger import Ledger
from stt_daemon.errors import SttError

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Item:
    kind: str  # "begin" (a partial: the utterance is under way), "stable", "final", "language"
    utterance: int
    text: str = ""


class Dictation:
    def __init__(self, typer: Typer, pause: Callable[[], None], language: str | None = None,
                 commands: Mapping[str, str] | None = None, live: bool = False) -> None:
        """``pause`` asks the daemon to stop listening (the spoken "stop listening"); ``commands``
        are the user's spoken commands, beside the defaults of the daemon's language; ``live``
        types the stable prefix as it grows."""
        self._typer = typer
        self._extra = dict(commands or {})
        self._commands = Commands(language, self._extra)
        self._pause = pause
        self.live = live
        self.ledger = Ledger()
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=256)
        self._windows: dict[int, str | None] = {}  # utterance -> the focused window when it began
        self._live_utterance: int | None = None  # the utterance whose live text is on screen
        self._live_text = ""  # that text, exactly as typed
        self._lost: set[int] = set()  # utterances whose window lost the focus while they were typed
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

    def stable(self, utterance: int, text: str) -> None:
        """The utterance's stable prefix grew (as displayed); typed with ``live`` only."""
        if self.live:
            self._put(_Item("stable", utterance, text))

    def formatted(self, utterance: int, text: str) -> None:
        self._put(_Item("final", utterance, text))

    def _put(self, item: _Item) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            _LOGGER.warning("typing is behind by 256 events; utterance %d was dropped", item.utterance)

    # -- the typing thread --------------------------------------------------------------------

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]  # what else is already waiting: a stable prefix superseded is skipped
            stop = False
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            for i, item in enumerate(batch):
                if item.kind == "stable" and any(
                        later.utterance == item.utterance and later.kind in ("stable", "final")
                        for later in batch[i + 1:]):
                    continue
                try:
                    self._handle(item)
                except SttError as exc:  # the tool failed; the next utterance may work again
                    _LOGGER.error("%s", exc)
            if stop:
                return

    def _handle(self, item: _Item) -> None:
        if item.kind == "language":
            self._commands = Commands(item.text or None, self._extra)
            return
        self._ended_without_final(item.utterance)
        if item.kind == "begin":
            if item.utterance not in self._windows:
                self._windows[item.utterance] = self._typer.focus()
        elif item.kind == "stable":
            self._stable(item.utterance, item.text)
        else:
            self._final(item.utterance, item.text)

    def _ended_without_final(self, utterance: int) -> None:
        """Another utterance is under way: one whose live text is still there had no final
        (Reset); take its text back, from its own window only."""
        gone = self._live_utterance
        if gone is None or gone == utterance:
            return
        window = self._windows.pop(gone, None)
        text = self._take_live()
        if gone in self._lost:
            self._lost.discard(gone)
            self.ledger.typed(gone, window, len(text))  # it stays where the focus left it
            return
        if text and self._same_window(window):
            self._typer.backspace(len(text))
            self.typed_ns = time.monotonic_ns()
            _LOGGER.debug("utterance %d ended without a final: %d live characters erased", gone, len(text))
        elif text:
            self.ledger.typed(gone, window, len(text))

    def _take_live(self) -> str:
        text, self._live_text, self._live_utterance = self._live_text, "", None
        return text

    def _same_window(self, began: str | None) -> bool:
        window = self._typer.focus()
        return began is None or window is None or began == window

    def _edit_to(self, target: str) -> tuple[int, int]:
        """Bring the live text on screen to ``target`` with the fewest keys; (backspaces, typed)."""
        keep = len(os.path.commonprefix([self._live_text, target]))
        erase, add = len(self._live_text) - keep, target[keep:]
        self._typer.backspace(erase)
        self._live_text = self._live_text[:keep]
        if add:
            self._typer.type_text(add)
            self._live_text += add
            self.characters += len(add)
        if erase or add:
            self.typed_ns = time.monotonic_ns()
        return erase, len(add)

    def _stable(self, utterance: int, text: str) -> None:
        if utterance in self._lost:
            return
        if not self._same_window(self._windows.get(utterance)):
            self._lost.add(utterance)
            _LOGGER.warning("utterance %d is no longer typed: the focus moved to another window while it "
                            "was spoken", utterance)
            return
        target = self._live_target(text)
        if target is None:
            return
        self._live_utterance = utterance
        erase, added = self._edit_to(target)
        if erase or added:
            _LOGGER.debug("utterance %d live: %d backspaces, %d characters typed, %d on screen",
                          utterance, erase, added, len(self._live_text))

    def _live_target(self, stable: str) -> str | None:
        """What to show for a stable prefix: its leading text as the final would type it
        (spoken punctuation applied), without the space that follows a final. None while the
        words could still become a command of their own ("scratch that"), or hold one."""
        if self._commands.could_be_whole_command(stable):
            return None
        actions = self._commands.parse(stable)
        if not actions or actions[0].kind != "text":
            return None
        return actions[0].text

    def _final(self, utterance: int, text: str) -> None:
        began = self._windows.pop(utterance, None)
        live = self._live_text if self._live_utterance == utterance else ""
        if utterance in self._lost or not self._same_window(began):
            self._lost.discard(utterance)
            self._take_live()
            self.ledger.typed(utterance, began, len(live))  # left where the focus was
            _LOGGER.warning("utterance %d was not typed: the focus moved to another window while it was "
                            "spoken ('stt-daemon subscribe' shows it)", utterance)
            return
        window = self._typer.focus()
        actions = self._commands.parse(text)
        if actions and actions[-1].kind == "text":
            actions[-1] = Action("text", actions[-1].text + " ")  # a space after each utterance
        typed = 0
        if live:
            self._live_utterance = utterance
            first = actions[0] if actions else None
            target = first.text if first is not None and first.kind == "text" else ""
            erase, added = self._edit_to(target)
            _LOGGER.debug("utterance %d final over %d live characters: %d backspaces, %d characters typed",
                          utterance, len(live), erase, added)
            self._take_live()
            if target:
                typed += len(target)
                actions = actions[1:]
        else:
            _LOGGER.debug("utterance %d final, no live text", utterance)
        for action in actions:
            if action.kind == "text":
                self._typer.type_text(action.text)
                typed += len(action.text)
                self.characters += len(action.text)
            elif action.kind == "newline":
                self._typer.newline()
                typed += 1
                self.characters += 1
            elif action.kind == "scratch":
                self._scratch(window)
            elif action.kind == "stop":
                _LOGGER.info("stop listening: pausing the daemon")
                self._pause()
        if typed:
            self.ledger.typed(utterance, window, typed)
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
