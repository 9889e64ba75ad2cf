"""Streaming recognition as events: utterance ids, partial de-duplication, stream times.

A session's clock counts every sample it was ever fed (warm-up included); this
maps it to stream time, which restarts at zero with ``begin_stream`` (a new
file) and runs on unbroken when ``swap_session`` replaces a worn recognizer.
"""

from __future__ import annotations

from stt_daemon.asr.base import Hypothesis, StreamingSession, TimedWord
from stt_daemon.audio.blocks import Block
from stt_daemon.events import Event, Final, Partial, Word
from stt_daemon.pipeline.stable import Continuation, StablePrefix
from stt_daemon.settings import SAMPLE_RATE


class UtteranceTracker:
    """Turns blocks into Partial and Final events that share an utterance id."""

    def __init__(self, session: StreamingSession, first_utterance: int = 1) -> None:
        self._session = session
        self._next_utterance = first_utterance
        self._current: int | None = None  # id of the utterance in progress, once it has text
        self._last_partial = ""
        self._origin_samples = session.samples_fed  # session sample count at stream offset
        self._offset_s = 0.0  # stream time at _origin_samples
        self._served_from = session.samples_fed
        self.utterances = 0
        self.partials_enabled = True  # the overload ladder turns partials down
        self.words_changed_s = 0.0  # stream time when the partial text last changed
        self.stable = StablePrefix()  # which leading words of the partials will stay

    @property
    def session(self) -> StreamingSession:
        return self._session

    def begin_stream(self) -> None:
        """Times of later events count from here (a new file, say)."""
        self._origin_samples = self._session.samples_fed
        self._offset_s = 0.0
        self.words_changed_s = 0.0

    @property
    def last_partial(self) -> str:
        """The raw text of the utterance in progress, as last decoded ("" between utterances)."""
        return self._last_partial

    @property
    def in_utterance(self) -> bool:
        return self._current is not None

    @property
    def session_audio_s(self) -> float:
        """Audio the current session has decoded since it began serving."""
        return (self._session.samples_fed - self._served_from) / SAMPLE_RATE

    @property
    def position_s(self) -> float:
        """Stream time at the end of the audio fed so far (decoded or skipped)."""
        return self._offset_s + (self._session.samples_fed - self._origin_samples) / SAMPLE_RATE

    @property
    def next_utterance(self) -> int:
        return self._current if self._current is not None else self._next_utterance

    def skip(self, n_bytes: int) -> None:
        """Audio that was not decoded (silence held back by the gate) still moves stream time."""
        self._offset_s += n_bytes / 2 / SAMPLE_RATE

    def swap_session(self, session: StreamingSession) -> StreamingSession:
        """Serve from ``session`` from now on; call between utterances. Returns the old one."""
        self._offset_s += (self._session.samples_fed - self._origin_samples) / SAMPLE_RATE
        old, self._session = self._session, session
        self._origin_samples = self._served_from = session.samples_fed
        self._last_partial = ""
        return old

    def accept(self, block: Block) -> list[Event]:
        if self._session.accept(block.pcm):
            final = self._make_final(self._session.result(), block.captured_ns)
            return [final] if final is not None else []
        if not self.partials_enabled:
            return []
        text = self._session.partial().text
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        self.words_changed_s = self.position_s
        shown, stable, grew = self.stable.update(text.split(), self.position_s)
        raw = " ".join(shown)
        return [Partial(self._utterance_id(), raw, raw, block.captured_ns, stable, " ".join(shown[:stable]), grew)]

    def finish(self, captured_ns: int) -> Final | None:
        """End the utterance in progress now (stop, pause, Finalize) and return its final."""
        return self._make_final(self._session.final(), captured_ns)

    def reset(self) -> None:
        """Forget the utterance in progress; its partials get no final."""
        self._session.reset()
        self._current = None
        self._last_partial = ""
        self.stable.forget()

    def _utterance_id(self) -> int:
        if self._current is None:
            self._current = self._next_utterance
            self._next_utterance += 1
        return self._current

    def _make_final(self, hyp: Hypothesis, captured_ns: int) -> Final | None:
        had_partials = self._current is not None
        self._last_partial = ""
        stable = self.stable.words
        line_up, shown = self.stable.close(hyp.text.split())
        if shown != tuple(hyp.text.split()):
            hyp = kept_words(stable, line_up, shown, hyp)
        if not hyp.text and not had_partials:
            return None  # Vosk closes stretches of silence with empty results
        utterance = self._utterance_id()
        self._current = None
        self.utterances += 1
        shift_s = self._offset_s - self._origin_samples / SAMPLE_RATE
        words = tuple(Word(w.word, round(w.start_s + shift_s, 3), round(w.end_s + shift_s, 3), w.conf)
                      for w in hyp.words)
        start = words[0].start if words else 0.0
        end = words[-1].end if words else 0.0
        return Final(utterance, hyp.text, hyp.text, start, end, words, captured_ns)


def kept_words(stable: tuple[str, ...], line_up: Continuation, shown: tuple[str, ...], hyp: Hypothesis) -> Hypothesis:
    """The engine's final with the stable words kept. A stable word the engine changed gets
    the times of the words it stands for (shared evenly) and confidence 0: the engine chose
    other words there."""
    if not hyp.words or len(hyp.words) != len(hyp.text.split()):
        return Hypothesis(" ".join(shown))  # no word times to line up (an empty final, say)
    words: list[TimedWord] = []
    for word, (j1, j2), same in zip(stable, line_up.spans, line_up.same):
        if same:
            words.append(hyp.words[j1])
            continue
        span = hyp.words[j1:j2]
        start = span[0].start_s if span else (words[-1].end_s if words else
                                              hyp.words[j1].start_s if j1 < len(hyp.words) else 0.0)
        end = span[-1].end_s if span else start
        words.append(TimedWord(word, start, end, 0.0))
    words += hyp.words[line_up.rest:]
    return Hypothesis(" ".join(shown), tuple(words))
