"""The audio-source contract and the bounded queue every source feeds.

Producers (a PortAudio callback, a file reader thread) only stamp, copy and
enqueue; conversion to 16 kHz mono int16 happens in ``read``, which runs on
the engine's worker thread, so that the real-time callback stays trivial.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from stt_daemon.audio.convert import PcmConverter
from stt_daemon.errors import ExitCode, SttError


class Block(NamedTuple):
    """One block of audio and the moment it was captured."""

    captured_ns: int  # time.monotonic_ns() when the block arrived
    pcm: bytes  # 16 kHz mono int16 once read from a source


@dataclass(frozen=True)
class SourceStats:
    blocks: int
    drops: int
    overflows: int
    queue_depth: int


class AudioSource(Protocol):
    """What the engine needs from any audio source."""

    description: str
    block_ms: int
    realtime: bool  # paced like a microphone; a file read flat out is not, so latency means nothing

    def start(self) -> None: ...

    def read(self, timeout_s: float) -> Block | None:
        """Next block; None on timeout. Raises EndOfStream once the source is done."""
        ...

    def stop(self) -> None: ...

    def pause(self) -> None:
        """Stop delivering audio (a microphone closes its stream) until resume()."""
        ...

    def resume(self) -> None: ...

    def stats(self) -> SourceStats: ...

    def delivering(self) -> bool:
        """Blocks keep coming (a file always does; a microphone may vanish)."""
        ...

    def reopen(self) -> None:
        """Find the device again and reopen it; raises DeviceError while it is away."""
        ...


class CaptureImpossible(SttError):
    """Capture cannot work in this process at all, whatever the device (start, resume and reopen
    may raise it): the daemon stops with the device exit code instead of waiting for a device."""

    exit_code = ExitCode.DEVICE


class EndOfStream(Exception):
    """The source has delivered its last block (file end, or stopped)."""


_EOS = object()


class BlockQueue:
    """A bounded queue that never blocks the producer: a full queue counts a drop."""

    def __init__(self, max_blocks: int) -> None:
        self._queue: queue.Queue[tuple[int, bytes] | object] = queue.Queue(max_blocks + 1)
        self._max_blocks = max_blocks
        self.drops = 0
        self.blocks = 0
        self._closed = threading.Event()
        self._ended = False

    def put_nowait(self, captured_ns: int, pcm: bytes) -> None:
        """Safe in a real-time callback: never waits, counts a drop when full."""
        if self._queue.qsize() >= self._max_blocks:
            self.drops += 1
            return
        try:
            self._queue.put_nowait((captured_ns, pcm))
        except queue.Full:
            self.drops += 1
            return
        self.blocks += 1

    def put(self, captured_ns: int, pcm: bytes, timeout_s: float) -> bool:
        """Blocking put for sources that may wait (a file read as fast as possible)."""
        try:
            self._queue.put((captured_ns, pcm), timeout=timeout_s)
        except queue.Full:
            return False
        self.blocks += 1
        return True

    def close(self) -> None:
        """Mark the end of the stream; readers get EndOfStream after the last block."""
        if not self._closed.is_set():
            self._closed.set()
            # The sentinel always fits: the queue holds one slot beyond max_blocks.
            self._queue.put(_EOS)

    def get(self, timeout_s: float) -> tuple[int, bytes] | None:
        if self._ended:
            raise EndOfStream
        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if item is _EOS:
            self._ended = True
            raise EndOfStream
        assert isinstance(item, tuple)
        return item

    def depth(self) -> int:
        return self._queue.qsize()


class QueueSource:
    """Shared half of every source: drain the queue, convert on the reader's thread."""

    description = "audio"

    def __init__(self, max_blocks: int, converter: PcmConverter, block_ms: int, realtime: bool) -> None:
        self.block_ms = block_ms
        self.realtime = realtime
        self._blocks = BlockQueue(max_blocks)
        self._converter = converter
        self.overflows = 0

    def read(self, timeout_s: float) -> Block | None:
        item = self._blocks.get(timeout_s)
        if item is None:
            return None
        captured_ns, raw = item
        return Block(captured_ns, self._converter.convert(raw))

    def stats(self) -> SourceStats:
        q = self._blocks
        return SourceStats(q.blocks, q.drops, self.overflows, q.depth())

    def delivering(self) -> bool:
        return True

    def reopen(self) -> None:
        """Only a device can go away and come back."""
