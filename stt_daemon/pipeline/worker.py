"""The recognition worker: blocks in, recognizer, formatting, events out to the publisher.

It is the only thread that touches the recognizer session, the audio source it
reads, the endpoint setting and the utterance in progress. Other threads ask by
queuing a command (commands.py), applied between two blocks. When blocks miss
the latency budget it climbs the overload ladder (overload.py); when the device
goes away it waits for it (device.py); between utterances it swaps in a fresh
recognizer when one is due or ready (recycle.py).
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections.abc import Callable

from stt_daemon.asr.base import StreamingSession, Transcriber
from stt_daemon.audio.blocks import AudioSource, Block, CaptureImpossible, EndOfStream
from stt_daemon.audio.speech import make_detector
from stt_daemon.audio.vad import SilenceGate
from stt_daemon.errors import DeviceError
from stt_daemon.events import Event, Partial
from stt_daemon.output.format import Formatter, language_of
from stt_daemon.output.publish import Publisher
from stt_daemon.pipeline import commands as cmd
from stt_daemon.pipeline.device import DeviceWatch
from stt_daemon.pipeline.endpoint import build_endpointing
from stt_daemon.pipeline.latency import LatencyMonitor
from stt_daemon.pipeline.overload import Level, OverloadLadder
from stt_daemon.pipeline.perceived import PerceivedLatency
from stt_daemon.pipeline.recycle import RecyclePolicy, Recycling, build_in_background
from stt_daemon.pipeline.utterances import UtteranceTracker
from stt_daemon.settings import Settings

_LOGGER = logging.getLogger(__name__)

_READ_TIMEOUT_S = 0.05
_PARTIAL_EVERY_BLOCKS_WHEN_BEHIND = 12  # 240 ms of 20 ms blocks: Vosk's default chunk
_MAX_CATCH_UP_BLOCKS = 100  # 2 s of audio in one AcceptWaveform call at most
# While the partial keeps changing, the engine hears words: the speech detector is not asked
# (when no endpoint rule is shorter than its backstop), and catches up once the words stop.
_WORDS_STOPPED_S = 1.0
# But the engine may hear words in noise: 1.5 s after the detector last heard speech, it
# listens to the last 0.5 s afresh, and if that is not speech it is asked on every block
# until the utterance ends. 1.5 + 0.5 s is the backstop's 2 s: it cannot be held off.
_RECHECK_MS = 1500
_SPOT_MS = 500


class State(enum.Enum):
    STARTING = "starting"
    LISTENING = "listening"
    PAUSED = "paused"
    WAITING_FOR_DEVICE = "waiting-for-device"
    STOPPING = "stopping"


Notify = Callable[[str, str], None]  # ("State" | "Device" | "Model", new value), from the worker


class Worker:
    """Runs the source through the recognizer until the source ends or a Stop command."""

    def __init__(self, source: AudioSource, transcriber: Transcriber, tracker: UtteranceTracker,
                 publisher: Publisher, settings: Settings, *, formatter: Formatter | None = None,
                 notify: Notify | None = None, recycle: bool = True,
                 clock: Callable[[], int] = time.monotonic_ns, latency_window_s: float = 30.0) -> None:
        self._source = source
        self._transcriber = transcriber  # where new sessions come from
        self._endpointing = build_endpointing(settings.endpoint_silence_ms, settings.sentence_end_silence_ms,
                                              settings.language or language_of(transcriber.name))
        self._tracker = tracker
        self._publisher = publisher
        self._formatter = formatter if formatter is not None else Formatter()
        self._clock = clock
        self.monitor = LatencyMonitor(settings.latency_budget_ms, latency_window_s, source.block_ms)
        self.ladder = OverloadLadder(settings.latency_budget_ms, clock=clock)
        self.perceived = PerceivedLatency()
        self._vad = make_detector(settings.vad, source.block_ms)
        self.gate = SilenceGate(source.block_ms) if settings.silence_gate else None
        self.recycling = Recycling(RecyclePolicy(settings.recycle_growth_mb, settings.recycle_after_s))
        self._recycle = recycle
        self._warm_builds = settings.warmup
        self._device = DeviceWatch()
        self.state = State.STARTING
        self.model_name = transcriber.name
        self._notify: Notify = notify if notify is not None else (lambda name, value: None)
        self._commands: queue.SimpleQueue[cmd.Command] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="stt-worker", daemon=True)
        self.blocks_consumed = 0  # blocks read from the source, decoded or gated: stream position
        self.last_dequeued_ns = 0
        self._last_captured_ns = 0
        self._unvouched_ms = 0  # audio since the speech detector last heard speech
        self._words_trusted = True  # as speech, until a spot check finds none in this utterance
        self._counting_silence = False  # the detector's last answer: no speech
        self._ended = False
        self._reported_drops = 0
        self.failed: BaseException | None = None
        self.fatal: CaptureImpossible | None = None  # a user error that ended the worker
        self.progress_ns = clock()  # the last time the loop went round; for the watchdog

    # -- the outside: other threads use only these ----------------------------------------

    @property
    def source(self) -> AudioSource:
        return self._source

    @property
    def session(self) -> StreamingSession:
        return self._tracker.session

    @property
    def utterances(self) -> int:
        return self._tracker.utterances

    def start(self, state: State = State.LISTENING) -> None:
        if state is State.WAITING_FOR_DEVICE:
            self._device.lost(self._clock())
        self.state = state
        self._thread.start()

    def submit(self, command: cmd.Command) -> cmd.Command:
        self._commands.put(command)
        return command

    def join(self, timeout_s: float | None = None) -> bool:
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    # -- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug: report it, but still flush what we heard
            self.failed = exc
            _LOGGER.exception("the recognition worker failed")
        finally:
            try:
                self._finish()
            except Exception:
                _LOGGER.exception("flushing the last utterance failed")
            while not self._commands.empty():  # nobody will apply them now; release the waiters
                self._commands.get_nowait().done.set()

    def _loop(self) -> None:
        while not self._ended:
            self.progress_ns = self._clock()
            while not self._commands.empty():
                self._apply(self._commands.get_nowait())
            if not self._tracker.in_utterance:
                self._between_utterances()
            self._watch_device()
            try:
                block = self._source.read(_READ_TIMEOUT_S)
            except EndOfStream:
                return
            if block is not None:
                self._take(block)

    def _take(self, block: Block) -> None:
        dequeued_ns = self.last_dequeued_ns = self._clock()
        level = self.ladder.level
        blocks = self._catch_up(block) if level >= Level.CATCH_UP else [block]
        self.blocks_consumed += len(blocks)
        self._tracker.partials_enabled = (
            level < Level.FEWER_PARTIALS
            or self.blocks_consumed % _PARTIAL_EVERY_BLOCKS_WHEN_BEHIND < len(blocks))
        speech = self._hear(blocks)
        feed = blocks
        if self.gate is not None:
            feed, skipped = self.gate.offer(blocks, speech, self._tracker.in_utterance,
                                            self._vad.trailing_silence_ms)
            if skipped:
                self._tracker.skip(skipped)
            if not feed:
                self.perceived.block(self._tracker.position_s, blocks[-1].captured_ns)
                return
        self._decode(feed, blocks, dequeued_ns)
        if self._tracker.in_utterance and self._endpointing.due(self._vad.trailing_silence_ms,
                                                                 self._tracker.last_partial):
            self._finish(blocks[-1].captured_ns)

    def _hear(self, blocks: list[Block]) -> bool:
        """Speech or not. Silero takes a tenth of the worker's time, and within an utterance its
        answer only feeds the 2 s backstop: while words still come it is not asked."""
        step_ms = self._source.block_ms * len(blocks)
        if not self._tracker.in_utterance:
            self._words_trusted = True
        elif self._may_skip(step_ms, len(blocks)):
            for b in blocks:
                self._vad.skip(b.pcm)
            self._unvouched_ms += step_ms
            return True
        speech = any([self._vad.update(b.pcm) for b in blocks])
        # From the detector's own count: after a catch-up it is the recounted silence, and
        # after a batch whose first blocks were speech, the silence at its end.
        self._unvouched_ms = self._vad.trailing_silence_ms
        self._counting_silence = self._unvouched_ms > 0
        return speech

    def _may_skip(self, step_ms: int, n_blocks: int) -> bool:
        """May the detector go unasked? While the engine's words still change, the detector's
        last answer was speech, and it has heard speech lately. Once a spot check finds none,
        not for the rest of the utterance: caught up, the detector stays so, and a lone window
        of noise it takes for speech cannot start the wait over."""
        tracker = self._tracker
        if not (self._words_trusted and self._endpointing.can_wait and not self._counting_silence
                and tracker.position_s - tracker.words_changed_s < _WORDS_STOPPED_S):
            return False
        if self._unvouched_ms + step_ms <= _RECHECK_MS:
            return True
        if n_blocks > 1:  # a catch-up batch past the mark: ask (the spot check cannot hear it)
            return False
        if self._vad.speech_within(_SPOT_MS):
            self._unvouched_ms = 0
            return True
        self._words_trusted = False
        return False

    def _catch_up(self, first: Block) -> list[Block]:
        """Everything already queued, to be decoded in one call."""
        blocks = [first]
        while len(blocks) < _MAX_CATCH_UP_BLOCKS:
            try:
                more = self._source.read(0)
            except EndOfStream:
                self._ended = True
                break
            if more is None:
                break
            blocks.append(more)
        return blocks

    def _decode(self, blocks: list[Block], measured: list[Block], dequeued_ns: int) -> None:
        """Decode ``blocks`` in one call; record latency for ``measured`` (not a replayed pre-roll)."""
        newest = blocks[-1]
        self._last_captured_ns = newest.captured_ns
        batch = newest if len(blocks) == 1 else Block(newest.captured_ns, b"".join(b.pcm for b in blocks))
        events = self._tracker.accept(batch)
        self.perceived.block(self._tracker.position_s, newest.captured_ns)
        recognized_ns = self._clock()
        for event in events:
            self._publish(event, newest.captured_ns)
        published_ns = self._clock()
        worst_ns = max(self.monitor.record(b.captured_ns, dequeued_ns, recognized_ns, published_ns)
                       for b in measured)
        if self._source.realtime:  # a file read flat out queues on purpose: no overload there
            stats = self._source.stats()
            self.ladder.update(worst_ns, stats.queue_depth)
            if self.ladder.should_warn(urgent=stats.drops > self._reported_drops):
                self._warn(stats.drops)

    def _publish(self, event: Event, captured_ns: int | None = None) -> None:
        """``captured_ns``: the newest block behind an event the audio produced (not one a
        command or the end of the stream forced), for the event latency."""
        self._publisher.publish(self._formatter.apply(event))
        shown_ns = self._clock()
        if captured_ns is not None:
            self.monitor.record_event(captured_ns, shown_ns)
        if isinstance(event, Partial):
            self.perceived.partial(tuple(event.raw.split()), shown_ns)
        else:
            self.perceived.final(event, shown_ns)

    def _finish(self, captured_ns: int | None = None) -> None:
        final = self._tracker.finish(self._last_captured_ns or self._clock())
        if final is not None:
            self._publish(final, captured_ns)

    def _warn(self, drops: int) -> None:
        summary = self.monitor.summary()
        new_drops, self._reported_drops = drops - self._reported_drops, drops
        _LOGGER.warning("falling behind: p99 %.0f ms over the last %d blocks (budget %.0f ms), "
                        "overload level %d, %d blocks dropped (%d new)", summary.p99_ms,
                        summary.window_blocks, self.monitor.budget_ms, self.ladder.level, drops, new_drops)

    def _set_state(self, state: State) -> None:
        if state is not self.state:
            self.state = state
            _LOGGER.debug("state: %s", state.value)
            self._notify("State", state.value)

    # -- between utterances: the only moment a recognizer may be replaced -------------------

    def _between_utterances(self) -> None:
        recycling = self.recycling
        if recycling.pending is not None:
            old = self._tracker.swap_session(recycling.pending)
            del old
            changed = self._transcriber.name != self.model_name
            self.model_name = self._transcriber.name
            recycling.swapped()
            if changed:
                self._notify("Model", self.model_name)
        elif self._recycle and recycling.due(self._tracker.session_audio_s):
            _LOGGER.info("recognizer due for recycling (%.0f s of audio); building a new one",
                         self._tracker.session_audio_s)
            self._build()

    def _build(self) -> None:
        generation = self.recycling.next_generation()
        build_in_background(self._transcriber, generation, self._warm_builds,
                            lambda session, gen: self._commands.put(cmd.SessionReady(session, gen)))

    # -- the device: lost, waited for, back ---------------------------------------------------

    def _watch_device(self) -> None:
        now = self._clock()
        if self.state is State.LISTENING and not self._source.delivering():
            _LOGGER.warning("%s stopped delivering audio; waiting for it to come back",
                            self._source.description)
            self._finish()
            self._source.pause()
            self._device.lost(now)
            self._set_state(State.WAITING_FOR_DEVICE)
        elif self.state is State.WAITING_FOR_DEVICE and self._device.due(now):
            try:
                self._source.reopen()
            except CaptureImpossible as exc:
                self._give_up(exc)
                return
            except DeviceError as exc:
                delay_s = self._device.failed(now)
                _LOGGER.debug("device not back yet (%s); next try in %.2f s", exc, delay_s)
                return
            self._device.back()
            _LOGGER.info("%s is back", self._source.description)
            self._notify("Device", self._source.description)
            self._set_state(State.LISTENING)

    # -- commands -----------------------------------------------------------------------------

    def _apply(self, command: cmd.Command) -> None:
        try:
            self._dispatch(command)
        except CaptureImpossible as exc:
            self._give_up(exc)
        finally:
            command.done.set()

    def _give_up(self, exc: CaptureImpossible) -> None:
        _LOGGER.error("%s", exc)
        self.fatal, self._ended = exc, True

    def _dispatch(self, command: cmd.Command) -> None:
        match command:
            case cmd.Finalize():
                self._finish()
            case cmd.Reset():
                self._tracker.reset()
                self.perceived.forget_utterance()
            case cmd.Pause():
                self._pause()
            case cmd.Resume():
                if self.state is State.PAUSED:
                    self._resume()
            case cmd.Toggle():
                if self.state is State.PAUSED:
                    self._resume()
                else:
                    self._pause()
            case cmd.Release():
                if self.state in (State.LISTENING, State.WAITING_FOR_DEVICE):
                    self._source.pause()  # nothing after the key came up...
                    self._drain()  # ...but all that came before it
                    self._pause()
            case cmd.Stop():
                self._set_state(State.STOPPING)
                self._source.stop()
            case cmd.SwitchSource(source=new):
                self._switch_source(new)
            case cmd.UseTranscriber(transcriber=transcriber):
                self._transcriber = transcriber
                self._build()
            case cmd.SessionReady(session=session, generation=generation):
                self.recycling.arrived(session, generation)
            case cmd.Configure():
                self.monitor.set_budget_ms(command.latency_budget_ms)
                self.ladder.set_budget_ms(command.latency_budget_ms)
                self.recycling.policy = RecyclePolicy(command.recycle_growth_mb, command.recycle_after_s)
                self._endpointing = command.endpointing
                self._formatter = command.formatter

    def _pause(self) -> None:
        if self.state in (State.LISTENING, State.WAITING_FOR_DEVICE):
            self._finish()  # the flushed final goes out before the state change
            self._source.pause()
            self._set_state(State.PAUSED)

    def _drain(self) -> None:
        """Decode every block the source has queued."""
        try:
            while (block := self._source.read(0)) is not None:
                self._take(block)
        except EndOfStream:
            self._ended = True

    def _resume(self) -> None:
        """Reopen the stream; a device that is away now is waited for (and looked up afresh)."""
        try:
            self._source.resume()
        except DeviceError as exc:
            _LOGGER.warning("cannot resume yet (%s); waiting for the device", exc)
            self._device.lost(self._clock())
            self._set_state(State.WAITING_FOR_DEVICE)
            return
        self._set_state(State.LISTENING)

    def _switch_source(self, new: AudioSource) -> None:
        """Open the new source first, then decode what the old one queued: no gap."""
        old = self._source
        if self.state is not State.PAUSED:
            try:
                new.start()
            except DeviceError as exc:
                _LOGGER.warning("keeping %s: %s", old.description, exc)
                return
            old.pause()
            try:
                while (block := old.read(0)) is not None:
                    self._decode([block], [block], self._clock())
            except EndOfStream:
                pass  # the old source ends here; the new one goes on
        self._source = new
        old.stop()
        _LOGGER.info("now listening to %s", new.description)
        self._notify("Device", new.description)
        if self.state is State.WAITING_FOR_DEVICE:
            self._set_state(State.LISTENING)
