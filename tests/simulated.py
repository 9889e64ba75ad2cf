"""Simulated time for tests of real-time behaviour that must not depend on the machine.

A CPU overload cannot be produced on cue, and a test that measures how fast this
machine decodes measures the machine, not the code. So these tests drive the
real pipeline (real Vosk, real audio) with a simulated clock: a microphone whose
blocks arrive every 20 ms of simulated time, a recognizer whose slowness is
injected as simulated milliseconds, and the worker stamping everything with the
same clock. The real decoding time does not count, so the outcome is the same on
an idle machine and on a loaded one.
"""

from __future__ import annotations

import collections
from pathlib import Path

from stt_daemon.asr.base import StreamingSession
from stt_daemon.audio.blocks import Block, EndOfStream, SourceStats
from stt_daemon.audio.wavfile import read_wav_info
from tests.pipeline_helpers import DelegatingSession

BLOCK_NS = 20_000_000


class SimClock:
    def __init__(self) -> None:
        self.now_ns = 1_000_000_000

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, ns: int) -> None:
        self.now_ns += ns


class SimulatedMic:
    """A 16 kHz mono WAV file delivered as a microphone would deliver it, in simulated time:
    block i arrives at (i + 1) x 20 ms into a bounded queue that drops what does not fit.
    When the queue is empty, reading waits (the clock jumps to the next arrival)."""

    description = "simulated microphone"
    block_ms = 20
    realtime = True

    def __init__(self, path: Path, clock: SimClock, queue_ms: int = 2000) -> None:
        info = read_wav_info(path)
        assert (info.sample_format, info.channels, info.rate) == ("s16", 1, 16000), info
        with path.open("rb") as f:
            f.seek(info.data_offset)
            pcm = f.read(info.data_bytes)
        self._blocks = [pcm[i:i + 640] for i in range(0, len(pcm), 640)]
        self._clock = clock
        self._start_ns = clock()
        self._capacity = queue_ms // 20
        self._queue: collections.deque[Block] = collections.deque()
        self._arrived = 0
        self.drops = 0
        self._stopped = False

    def _due_ns(self, index: int) -> int:
        return self._start_ns + (index + 1) * BLOCK_NS

    def _arrive(self) -> None:
        while self._arrived < len(self._blocks) and self._due_ns(self._arrived) <= self._clock():
            if len(self._queue) < self._capacity:
                self._queue.append(Block(self._due_ns(self._arrived), self._blocks[self._arrived]))
            else:
                self.drops += 1
            self._arrived += 1

    def read(self, timeout_s: float) -> Block | None:
        """Like a real queue: the next block, waiting up to ``timeout_s`` for it to arrive."""
        self._arrive()
        if not self._queue:
            if self._stopped or self._arrived >= len(self._blocks):
                raise EndOfStream
            next_due = self._due_ns(self._arrived)
            if next_due > self._clock() + timeout_s * 1e9:
                self._clock.advance(int(timeout_s * 1e9))
                return None
            self._clock.now_ns = next_due
            self._arrive()
        return self._queue.popleft()

    def stats(self) -> SourceStats:
        self._arrive()
        return SourceStats(self._arrived - self.drops, self.drops, 0, len(self._queue))

    def start(self) -> None:
        self._start_ns = self._clock()

    def stop(self) -> None:
        self._stopped = True

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def delivering(self) -> bool:
        return True

    def reopen(self) -> None:
        pass


class SlowSession(DelegatingSession):
    """Fault injector: each accept() while the stream is inside [from_s, to_s) costs
    ``delay_ms`` of simulated time, as an overloaded CPU would."""

    def __init__(self, inner: StreamingSession, clock: SimClock, delay_ms: float,
                 from_s: float, to_s: float) -> None:
        super().__init__(inner)
        self._clock = clock
        self._delay_ns = int(delay_ms * 1e6)
        self._window = (int(from_s * 16000), int(to_s * 16000))
        self.slow_calls = 0

    def accept(self, pcm: bytes) -> bool:
        if self._window[0] <= self.samples_fed < self._window[1]:
            self.slow_calls += 1
            self._clock.advance(self._delay_ns)
        return super().accept(pcm)
