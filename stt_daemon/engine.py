"""The worker thread: blocks in, recognizer, events out to the publisher.

It is the only thread that touches the recognizer; control requests
(finalize, reset) are queued to it and run between blocks.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time

from stt_daemon.audio import AudioSource, EndOfStream
from stt_daemon.latency import LatencyMonitor
from stt_daemon.publish import Publisher
from stt_daemon.recognizer import Recognizer

_LOGGER = logging.getLogger(__name__)

_READ_TIMEOUT_S = 0.05


class Command(enum.Enum):
    FINALIZE = "finalize"  # end the utterance now and publish its final
    RESET = "reset"  # drop the utterance in progress


class Engine:
    """Runs one source through the recognizer until the source ends or is stopped."""

    def __init__(self, source: AudioSource, recognizer: Recognizer, publisher: Publisher,
                 monitor: LatencyMonitor | None = None) -> None:
        self.source = source
        self._recognizer = recognizer
        self._publisher = publisher
        self.monitor = monitor if monitor is not None else LatencyMonitor()
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="stt-engine", daemon=True)
        self._last_captured_ns = 0
        self.failed: BaseException | None = None
        self.progress_ns = time.monotonic_ns()  # last time the loop went round; for the watchdog

    def start(self) -> None:
        self._thread.start()

    def request(self, command: Command) -> None:
        self._commands.put(command)

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
        read = self.source.read
        monitor = self.monitor
        while True:
            self.progress_ns = time.monotonic_ns()
            if not self._commands.empty():
                self._run_commands()
            try:
                block = read(_READ_TIMEOUT_S)
            except EndOfStream:
                return
            if block is None:
                continue
            dequeued_ns = time.monotonic_ns()
            self._last_captured_ns = block.captured_ns
            events = self._recognizer.accept(block)
            recognized_ns = time.monotonic_ns()
            for event in events:
                self._publisher.publish(event)
            monitor.record(block.captured_ns, dequeued_ns, recognized_ns, time.monotonic_ns())

    def _run_commands(self) -> None:
        while not self._commands.empty():
            command = self._commands.get_nowait()
            if command is Command.FINALIZE:
                self._finish()
            elif command is Command.RESET:
                self._recognizer.reset()

    def _finish(self) -> None:
        final = self._recognizer.finish(self._last_captured_ns or time.monotonic_ns())
        if final is not None:
            self._publisher.publish(final)
