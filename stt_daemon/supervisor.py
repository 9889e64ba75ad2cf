"""Keeps the microphone alive: notices when it goes away, waits for it, brings it back.

USB and Bluetooth microphones vanish; PulseAudio restarts. The supervisor sees
a stream that stopped delivering (PortAudio's finished callback, or no block
for a second), has the controller flush the utterance in progress and enter
``waiting-for-device``, then retries with a short backoff until the device,
found again by name, delivers.
"""

from __future__ import annotations

import logging
import threading
import time

from stt_daemon.controller import Controller
from stt_daemon.errors import DeviceError
from stt_daemon.mic import MicSource

_LOGGER = logging.getLogger(__name__)

BACKOFF_S = (0.25, 0.5, 1.0)  # then every second: back within 2 s of the device returning


class DeviceSupervisor:
    def __init__(self, controller: Controller, check_s: float = 0.2) -> None:
        self._controller = controller
        self._check_s = check_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stt-device", daemon=True)
        self._attempt = 0
        self._next_try = 0.0
        self.recoveries = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)

    def _run(self) -> None:
        while not self._stop.wait(self._check_s):
            try:
                self._tick()
            except Exception:
                _LOGGER.exception("device supervision failed; trying again")

    def _tick(self) -> None:
        source = self._controller.source  # follows a device switched by a reload
        if not isinstance(source, MicSource):
            return
        state = self._controller.state
        if state == "listening" and not source.delivering():
            _LOGGER.warning("%s stopped delivering audio; waiting for it to come back", source.description)
            self._controller.device_lost()
            self._attempt, self._next_try = 0, time.monotonic()
        elif state == "waiting-for-device" and time.monotonic() >= self._next_try:
            try:
                source.reopen()
            except DeviceError as exc:
                delay = BACKOFF_S[min(self._attempt, len(BACKOFF_S) - 1)]
                self._attempt += 1
                self._next_try = time.monotonic() + delay
                _LOGGER.debug("device not back yet (%s); next try in %.2f s", exc, delay)
                return
            self.recoveries += 1
            self._controller.device_back()
            _LOGGER.info("%s is back", source.description)
