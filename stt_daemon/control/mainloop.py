"""The main thread's loop, and signals that can only wake it.

A signal handler runs between two bytecodes of whatever the main thread is doing,
possibly inside ``threading.Event.wait()`` with the Event's lock held; calling
``Event.set()`` there deadlocks (seen once in 46 Ctrl-C presses). So handlers here
take no lock: ``signal.set_wakeup_fd`` has the C-level handler write the signal's
number into a non-blocking pipe, and the Python handler only sets a flag, or
leaves at once on a second SIGINT/SIGTERM. The loop (GLib's, when D-Bus is in
use, else a ``select``) watches the pipe and acts on the main thread.
"""

from __future__ import annotations

import logging
import os
import select
import signal
from collections.abc import Callable
from types import FrameType

_LOGGER = logging.getLogger(__name__)

_WAKE = 0  # a byte other threads write: look at the flags


class MainLoop:
    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.stop_requested = False
        self._stop_signals = 0
        self._reload_requested = False
        self.on_reload: Callable[[], None] | None = None

    # -- from signal handlers and other threads: flags and a byte, nothing that can block --

    def install_signal_handlers(self) -> None:
        """First SIGINT/SIGTERM: a clean stop. A second one: leave at once. SIGHUP: reload."""
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._handler)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload_requested = True
        else:
            self._stop_signals += 1
            if self._stop_signals > 1:
                os._exit(128 + signum)
            self.stop_requested = True
        # PyGObject's loop may take over the wakeup fd while it runs; a byte of our own (a
        # non-blocking write takes no lock) wakes the loop either way.
        self._wake()

    def request_stop(self) -> None:
        """Any thread: end the loop (stdout was closed, say)."""
        self.stop_requested = True
        self._wake()

    def request_reload(self) -> None:
        self._reload_requested = True
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._write_fd, bytes([_WAKE]))
        except BlockingIOError:  # the pipe is full: the loop is awake anyway
            pass

    # -- the main thread ------------------------------------------------------------------

    def _drain(self) -> None:
        try:
            while os.read(self._read_fd, 512):
                pass
        except BlockingIOError:
            pass
        if self._reload_requested and self.on_reload is not None:
            self._reload_requested = False
            self.on_reload()

    def run(self, tick: Callable[[], bool], interval_s: float = 0.1, glib: bool = False) -> None:
        """Until a stop is requested or ``tick()`` (called every ``interval_s``) says no."""
        if glib:
            self._run_glib(tick, interval_s)
            return
        while not self.stop_requested:
            readable, _, _ = select.select([self._read_fd], [], [], interval_s)
            if readable:
                self._drain()
            if self.stop_requested or not tick():
                return

    def _run_glib(self, tick: Callable[[], bool], interval_s: float) -> None:
        """GLib's loop, which also answers D-Bus method calls on this thread."""
        from gi.repository import GLib

        loop = GLib.MainLoop()

        def check() -> bool:
            self._drain()
            if self.stop_requested or not tick():
                loop.quit()
                return False
            return True

        def readable(fd: int, condition: GLib.IOCondition) -> bool:
            self._drain()
            if self.stop_requested:
                loop.quit()
            return True

        watch = GLib.unix_fd_add_full(GLib.PRIORITY_HIGH, self._read_fd, GLib.IOCondition.IN, readable)
        timer = GLib.timeout_add(int(interval_s * 1000), check)
        try:
            if not self.stop_requested:
                loop.run()
        finally:
            for source_id in (watch, timer):
                if GLib.MainContext.default().find_source_by_id(source_id) is not None:
                    GLib.source_remove(source_id)

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        os.close(self._read_fd)
        os.close(self._write_fd)
