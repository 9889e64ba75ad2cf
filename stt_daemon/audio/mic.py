"""The microphone as an audio source, through PortAudio (python-sounddevice).

The callback runs on PortAudio's real-time thread. It only stamps the time,
copies the block into the bounded queue and counts overflows and drops; no
logging, no recognizer, no I/O (python-sounddevice's own rule).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from stt_daemon.audio.blocks import CaptureImpossible, QueueSource
from stt_daemon.audio.convert import PcmConverter
from stt_daemon.errors import DeviceError
from stt_daemon.settings import SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)


def _sounddevice() -> ModuleType:
    """Import lazily, so a machine without PortAudio still runs files."""
    try:
        import sounddevice
    except OSError:
        raise DeviceError(
            "PortAudio is not installed: run 'sudo apt-get install libportaudio2', "
            "or transcribe a file with --input FILE") from None
    module: ModuleType = sounddevice
    return module


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    host_api: str
    default_rate: float
    max_input_channels: int
    is_default: bool


def list_input_devices() -> list[DeviceInfo]:
    sd = _sounddevice()
    try:
        default_in = sd.default.device[0]
        devices = sd.query_devices()
        host_apis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices: {exc}") from None
    return [
        DeviceInfo(i, d["name"], host_apis[d["hostapi"]]["name"], float(d["default_samplerate"]),
                   int(d["max_input_channels"]), i == default_in)
        for i, d in enumerate(devices) if d["max_input_channels"] > 0
    ]


def find_device(wanted: str | None) -> DeviceInfo:
    """By index, exact name, or case-insensitive substring; None means the default."""
    devices = list_input_devices()
    if not devices:
        raise DeviceError("no audio input device found; plug in a microphone, "
                          "or transcribe a file with --input FILE")
    if wanted is None or wanted == "":
        for d in devices:
            if d.is_default:
                return d
        return devices[0]
    if wanted.isdigit():
        for d in devices:
            if d.index == int(wanted):
                return d
    else:
        needle = wanted.casefold()
        exact = [d for d in devices if d.name.casefold() == needle]
        matches = exact or [d for d in devices if needle in d.name.casefold()]
        if matches:
            return matches[0]
    raise DeviceError(f"no input device matches {wanted!r}; run 'stt-daemon devices' to list them")


def refresh_portaudio(sd: ModuleType) -> None:
    """PortAudio caches its device list at initialization; a device that came back (or
    moved to another index) is only seen after a fresh one. No stream may be open."""
    sd._terminate()
    sd._initialize()


class MicSource(QueueSource):
    """Captures from an input device; opens it at 16 kHz mono when it can, else resamples.

    It remembers the device by name, so that after the device goes away and comes
    back, possibly under another index, ``reopen`` finds it again.
    """

    def __init__(self, device: str | None, block_ms: int = 20, queue_ms: int = 2000,
                 wait_for_device: bool = False) -> None:
        self._sd = _sounddevice()
        self._wanted = device
        self._block_ms = block_ms
        self.device: DeviceInfo | None = None
        self.rate, self.channels = SAMPLE_RATE, 1
        super().__init__(max(1, queue_ms // block_ms), PcmConverter("s16", 1, SAMPLE_RATE), block_ms,
                         realtime=True)
        self._stream: Any = None
        self.lost = threading.Event()  # set by PortAudio's finished callback when the stream dies
        self.last_callback_ns = 0
        self.opened_ns = 0
        self.description = f"device {device or '(default)'}"
        try:
            self._resolve()
        except DeviceError:
            if not wait_for_device:
                raise
            _LOGGER.warning("no input device %syet; waiting for it", f"{device!r} " if device else "")

    def _resolve(self) -> None:
        self.device = find_device(self._wanted)
        self._wanted = self.device.name  # from now on, by name: indexes move
        self.rate, self.channels = self._pick_format(self.device)
        self._converter = PcmConverter("s16", self.channels, self.rate)
        self._block_frames = self.rate * self._block_ms // 1000
        self.description = f"device {self.device.index} {self.device.name!r}"

    def _pick_format(self, device: DeviceInfo) -> tuple[int, int]:
        for rate, channels in ((SAMPLE_RATE, 1), (int(device.default_rate), 1),
                               (int(device.default_rate), min(2, device.max_input_channels))):
            try:
                self._sd.check_input_settings(device=device.index, samplerate=rate,
                                              channels=channels, dtype="int16")
                if (rate, channels) != (SAMPLE_RATE, 1):
                    _LOGGER.info("%s cannot do 16 kHz mono; capturing %d Hz x%d and converting",
                                 device.name, rate, channels)
                return rate, channels
            except (self._sd.PortAudioError, ValueError):
                continue
        raise DeviceError(f"input device {device.name!r} accepts no usable format; "
                          "pick another with --device (see 'stt-daemon devices')")

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        captured_ns = time.monotonic_ns()
        self.last_callback_ns = captured_ns
        if status and status.input_overflow:
            self.overflows += 1
        self._blocks.put_nowait(captured_ns, bytes(indata))

    def _finished(self) -> None:
        if self._stream is not None:  # not closed by us: the device went away
            self.lost.set()

    def start(self) -> None:
        if self.device is None:
            self._resolve()
        assert self.device is not None
        self.lost.clear()
        try:
            self.opened_ns = time.monotonic_ns()
            self._stream = self._sd.RawInputStream(
                device=self.device.index, samplerate=self.rate, channels=self.channels,
                dtype="int16", blocksize=self._block_frames, callback=self._callback,
                finished_callback=self._finished)
            self._stream.start()
        except MemoryError:
            # cffi could not make PortAudio's callback: writable and executable memory is refused
            # (MemoryDenyWriteExecute=yes). No device will ever work, so no waiting for one.
            self._stream = None
            raise CaptureImpossible("cannot capture audio: this process may not create executable memory, "
                                    "which the audio callback needs; remove MemoryDenyWriteExecute= from "
                                    "the service's unit") from None
        except (self._sd.PortAudioError, OSError) as exc:
            self._stream = None
            raise DeviceError(f"cannot open input device {self.device.name!r}: {exc}; "
                              "pick another with --device (see 'stt-daemon devices')") from None
        _LOGGER.info("capturing from %s at %d Hz", self.description, self.rate)

    def close_stream(self) -> None:
        """Abort, not stop: stop() can hang on a source that delivers nothing."""
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except self._sd.PortAudioError as exc:
                _LOGGER.warning("closing %s: %s", self.description, exc)

    def delivering(self, stall_s: float = 1.0, first_block_grace_s: float = 4.0) -> bool:
        """Blocks keep coming. An idle PulseAudio null sink may take ~2 s for the first one."""
        if self._stream is None or self.lost.is_set():
            return False
        now = time.monotonic_ns()
        if self.last_callback_ns < self.opened_ns:
            return now - self.opened_ns < first_block_grace_s * 1e9
        return now - self.last_callback_ns < stall_s * 1e9

    def reopen(self) -> None:
        """Close, refresh PortAudio's device list, find the device by name, open it again."""
        self.close_stream()
        refresh_portaudio(self._sd)
        self.device = None
        self.start()

    def pause(self) -> None:
        self.close_stream()

    def resume(self) -> None:
        if self._stream is None:
            self.start()

    def stop(self) -> None:
        self.close_stream()
        self._blocks.close()
