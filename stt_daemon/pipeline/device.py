"""When to give up on a microphone and when to look for it again.

USB and Bluetooth microphones vanish; PulseAudio restarts. The worker asks this
after every block or read timeout: a stream that stopped delivering (PortAudio's
finished callback, or no block for a second) is lost; while it is away, the
worker retries with a short backoff until the device, found again by name,
delivers. The worker does the opening and closing itself, so no other thread
ever touches the stream it reads.
"""

from __future__ import annotations

BACKOFF_S = (0.25, 0.5, 1.0)  # then every second: back within about a second of the device


class DeviceWatch:
    def __init__(self) -> None:
        self._attempt = 0
        self._next_try_ns = 0
        self.recoveries = 0

    def lost(self, now_ns: int) -> None:
        """The device went away: try again at once, then back off."""
        self._attempt = 0
        self._next_try_ns = now_ns

    def due(self, now_ns: int) -> bool:
        return now_ns >= self._next_try_ns

    def failed(self, now_ns: int) -> float:
        """Another try failed; returns the delay (s) until the next one."""
        delay_s = BACKOFF_S[min(self._attempt, len(BACKOFF_S) - 1)]
        self._attempt += 1
        self._next_try_ns = now_ns + int(delay_s * 1e9)
        return delay_s

    def back(self) -> None:
        self.recoveries += 1
        self._attempt = 0
