"""The worker thread: blocks in, recognizer, events out to the publisher.

It is the only thread that touches the recognizer; control requests
(finalize, reset) are queued to it and run between blocks. When blocks miss
the latency budget it climbs the overload ladder (overload.py).
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time

from stt_daemon.audio import AudioSource, Block, EndOfStream
from stt_daemon.events import Final
from stt_daemon.latency import LatencyMonitor
from stt_daemon.overload import Level, OverloadLadder
from stt_daemon.publish import Publisher
from stt_daemon.recognizer import Recognizer
from stt_daemon.recycle import Recycler
from stt_daemon.vad import SilenceGate, VoiceActivity

_LOGGER = logging.getLogger(__name__)

_READ_TIMEOUT_S = 0.05
_PARTIAL_EVERY_BLOCKS_WHEN_BEHIND = 12  # 240 ms of 20 ms blocks: Vosk's default chunk
_MAX_CATCH_UP_BLOCKS = 100  # 2 s of audio in one AcceptWaveform call at most


class Command(enum.Enum):
    FINALIZE = "finalize"  # end the utterance now and publish its final
    RESET = "reset"  # drop the utterance in progress
    SWITCH_SOURCE = "switch"  # decode what the old source queued, then read the new one


class Engine:
    """Runs one source through the recognizer until the source ends or is stopped."""

    def __init__(self, source: AudioSource, recognizer: Recognizer, publisher: Publisher,
                 monitor: LatencyMonitor | None = None, ladder: OverloadLadder | None = None,
                 recycler: Recycler | None = None, gate: SilenceGate | None = None,
                 endpoint_silence_ms: int | None = None) -> None:
        self.source = source
        self._recognizer = recognizer
        self._publisher = publisher
        self.monitor = monitor if monitor is not None else LatencyMonitor()
        self.ladder = ladder if ladder is not None else OverloadLadder(self.monitor.budget_ms)
        self._recycler = recycler
        self._vad = VoiceActivity(source.block_ms)
        self.gate = gate
        self._endpoint_silence_ms = endpoint_silence_ms
        self._commands: queue.SimpleQueue[tuple[Command, AudioSource | None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="stt-engine", daemon=True)
        self._last_captured_ns = 0
        self.blocks_consumed = 0  # blocks read from the source, decoded or gated: stream position
        self.last_dequeued_ns = 0
        self._ended = False
        self._reported_drops = 0
        self.failed: BaseException | None = None
        self.progress_ns = time.monotonic_ns()  # last time the loop went round; for a watchdog

    def start(self) -> None:
        self._thread.start()

    def request(self, command: Command, source: AudioSource | None = None) -> None:
        self._commands.put((command, source))

    def set_endpoint_silence_ms(self, ms: int | None) -> None:
        self._endpoint_silence_ms = ms

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the source; queued blocks are still decoded and the utterance flushed."""
        self.source.stop()
        self.join(timeout_s)

    def join(self, timeout_s: float | None = None) -> bool:
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

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

    def _loop(self) -> None:
        while not self._ended:
            self.progress_ns = time.monotonic_ns()
            if not self._commands.empty():
                self._run_commands()
            if self._recycler is not None and self._recycler.pending and not self._recognizer.in_utterance:
                self._recycler.between_utterances(self._recognizer)
            try:
                block = self.source.read(_READ_TIMEOUT_S)
            except EndOfStream:
                return
            if block is None:
                continue
            dequeued_ns = self.last_dequeued_ns = time.monotonic_ns()
            level = self.ladder.level
            blocks = self._catch_up(block) if level >= Level.CATCH_UP else [block]
            self.blocks_consumed += len(blocks)
            self._recognizer.partials_enabled = (
                level < Level.FEWER_PARTIALS
                or self.blocks_consumed % _PARTIAL_EVERY_BLOCKS_WHEN_BEHIND < len(blocks))
            speech = any([self._vad.update(b.pcm) for b in blocks])
            feed = blocks
            if self.gate is not None:
                feed, skipped = self.gate.offer(blocks, speech, self._recognizer.in_utterance)
                if skipped:
                    self._recognizer.skip(skipped)
                if not feed:
                    continue
            self._decode(feed, blocks, dequeued_ns)
            if (self._endpoint_silence_ms is not None and self._recognizer.in_utterance
                    and self._vad.trailing_silence_ms >= self._endpoint_silence_ms):
                self._finish()

    def _catch_up(self, first: Block) -> list[Block]:
        """Everything already queued, to be decoded in one call."""
        blocks = [first]
        while len(blocks) < _MAX_CATCH_UP_BLOCKS:
            try:
                more = self.source.read(0)
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
        events = self._recognizer.accept(batch)
        recognized_ns = time.monotonic_ns()
        for event in events:
            self._publisher.publish(event)
        published_ns = time.monotonic_ns()
        worst_ns = max(self.monitor.record(b.captured_ns, dequeued_ns, recognized_ns, published_ns)
                       for b in measured)
        if self.source.realtime:  # a file read flat out queues on purpose: no overload there
            stats = self.source.stats()
            self.ladder.update(worst_ns, stats.queue_depth)
            if self.ladder.should_warn(urgent=stats.drops > self._reported_drops):
                self._warn(stats.drops)
        if any(isinstance(e, Final) for e in events):
            self._after_final()

    def _warn(self, drops: int) -> None:
        summary = self.monitor.summary()
        new_drops, self._reported_drops = drops - self._reported_drops, drops
        _LOGGER.warning("falling behind: p99 %.0f ms over the last %d blocks (budget %.0f ms), "
                        "overload level %d, %d blocks dropped (%d new)", summary.p99_ms,
                        summary.window_blocks, self.monitor.budget_ms, self.ladder.level, drops, new_drops)

    def _run_commands(self) -> None:
        while not self._commands.empty():
            command, source = self._commands.get_nowait()
            if command is Command.FINALIZE:
                self._finish()
            elif command is Command.RESET:
                self._recognizer.reset()
            elif command is Command.SWITCH_SOURCE and source is not None:
                self._switch_source(source)

    def _switch_source(self, new: AudioSource) -> None:
        """The new source is already capturing into its own queue, so nothing falls between."""
        old = self.source
        old.pause()
        try:
            while (block := old.read(0)) is not None:
                self._decode([block], [block], time.monotonic_ns())
        except EndOfStream:
            pass
        self.source = new
        old.stop()
        _LOGGER.info("now listening to %s", new.description)

    def _finish(self) -> None:
        final = self._recognizer.finish(self._last_captured_ns or time.monotonic_ns())
        if final is not None:
            self._publisher.publish(final)
            self._after_final()

    def _after_final(self) -> None:
        """An utterance boundary: the one moment a worn recognizer may be replaced."""
        if self._recycler is not None:
            self._recycler.between_utterances(self._recognizer)
