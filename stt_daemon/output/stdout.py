"""Transcripts on stdout: plain text or JSON lines. The only module that prints."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from stt_daemon.events import Event, Final, Partial

_CLEAR_LINE = "\r\x1b[K"


@dataclass(frozen=True)
class StdoutFormat:
    """How events are rendered: derived from the settings and from what stdout is."""

    json: bool = False
    partials: bool = False  # print partials at all
    redraw: bool = False  # a terminal: redraw the partial in place on one line

    @classmethod
    def for_stdout(cls, as_json: bool, partials: bool, stream: TextIO | None = None) -> StdoutFormat:
        tty = (stream or sys.stdout).isatty()
        return cls(json=as_json, partials=partials or tty, redraw=tty and not as_json)


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit_tail(text: str, columns: int) -> str:
    """The end of ``text`` that fits in ``columns`` cells, so that redraw stays on one line."""
    if display_width(text) < columns:
        return text
    out: list[str] = []
    width = 1  # room for the ellipsis
    for c in reversed(text):
        width += display_width(c)
        if width >= columns:
            break
        out.append(c)
    return "…" + "".join(reversed(out))


class LiveLine:
    """The partial a terminal shows in place, redrawn as it changes. A log line written to the
    same terminal goes above it: the partial is cleared, the log line written, the partial
    drawn again, so that a --stats line never lands inside the transcript."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shown = ""
        self._stream: TextIO | None = None

    def draw(self, stream: TextIO, text: str) -> None:
        """Show ``text`` ("" to end the line: a final was written) on ``stream``."""
        with self._lock:
            stream.write(text)
            stream.flush()
            self._stream, self._shown = stream, "" if text.endswith("\n") else text.rpartition(_CLEAR_LINE)[2]

    @contextlib.contextmanager
    def above(self) -> Iterator[None]:
        with self._lock:
            stream, shown = self._stream, self._shown
            if stream is not None and shown:
                stream.write(_CLEAR_LINE)
                stream.flush()
            try:
                yield
            finally:
                if stream is not None and shown:
                    stream.write(shown)
                    stream.flush()


LIVE_LINE = LiveLine()


def _point_at_devnull(stream: TextIO) -> None:
    """A reader that went away (`| head -1`): later writes and the flush at exit go nowhere,
    instead of a BrokenPipeError traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def event_json(event: Event, latency_ms: float | None) -> dict[str, Any]:
    """The JSON-lines record; ``latency_ms`` is left out where it is not known (subscribers)."""
    record: dict[str, Any] = {"type": "partial", "utterance": event.utterance, "text": event.text}
    if event.raw and event.raw != event.text:
        record["raw"] = event.raw  # the recognizer's own text, before formatting
    if isinstance(event, Partial):
        record["stable_words"] = event.stable_words  # leading words of "raw" (or "text") that stay
    if isinstance(event, Final):
        record.update(type="final", start=event.start, end=event.end,
                      words=[{"word": w.word, "start": w.start, "end": w.end, "conf": round(w.conf, 3)}
                             for w in event.words])
    if latency_ms is not None:
        record["latency_ms"] = round(latency_ms, 2)
    return record


class StdoutSink:
    """Renders events for a person at a terminal, or for a program reading a pipe.

    A closed pipe (``stt-daemon listen | head -1``) is not an error: it calls
    ``on_closed`` once so the caller can stop cleanly.
    """

    name = "stdout"

    def __init__(self, settings: StdoutFormat, stream: TextIO | None = None,
                 on_closed: Callable[[], None] | None = None,
                 clock: Callable[[], int] = time.monotonic_ns) -> None:
        self.settings = settings
        self._clock = clock
        self._stream = stream if stream is not None else sys.stdout
        self._on_closed = on_closed
        self._closed = False
        self._line_dirty = False
        self.label: str | None = None  # the file name, when transcribing several

    def publish(self, event: Event) -> None:
        if self._closed or (isinstance(event, Partial) and not self.settings.partials):
            return
        # Latency is taken as the line is written; events relayed from D-Bus carry no capture time.
        latency_ms = (self._clock() - event.captured_ns) / 1e6 if event.captured_ns else None
        try:
            text = self._render(event, latency_ms)
            if self.settings.redraw:
                LIVE_LINE.draw(self._stream, text)
            else:
                self._stream.write(text)
                self._stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            self._closed = True
            _point_at_devnull(self._stream)
            if self._on_closed is not None:
                self._on_closed()

    def _render(self, event: Event, latency_ms: float | None) -> str:
        if self.settings.json:
            record = event_json(event, latency_ms)
            if self.label is not None:
                record = {"file": self.label, **record}
            return json.dumps(record, ensure_ascii=False) + "\n"
        prefix = f"{self.label}: " if self.label is not None else ""
        if self.settings.redraw:
            if isinstance(event, Partial):
                self._line_dirty = True
                columns = shutil.get_terminal_size().columns
                return _CLEAR_LINE + fit_tail(prefix + event.text, columns)
            clear = _CLEAR_LINE if self._line_dirty else ""
            self._line_dirty = False
            return clear + (prefix + event.text + "\n" if event.text else "")
        if isinstance(event, Partial):
            return f"{prefix}~ {event.text}\n"
        return prefix + event.text + "\n" if event.text else ""
