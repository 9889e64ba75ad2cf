"""Turn any PCM layout into 16 kHz mono int16, block by block.

Runs on the engine's worker thread, never in the audio callback. Keeps state
across blocks so that resampling has no seams at block boundaries.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stt_daemon.settings import SAMPLE_RATE

FloatArray = npt.NDArray[np.float32]

#: sample format name -> (bytes per sample, numpy dtype, scale to [-1, 1))
FORMATS: dict[str, tuple[int, str, float]] = {
    "u8": (1, "u1", 1 / 128),
    "s16": (2, "<i2", 1 / 32768),
    "s24": (3, "", 1 / 8388608),
    "s32": (4, "<i4", 1 / 2147483648),
    "f32": (4, "<f4", 1.0),
    "f64": (8, "<f8", 1.0),
}


def _lowpass_taps(cutoff: float, half_width: int) -> FloatArray:
    """A Hamming-windowed sinc; ``cutoff`` in cycles per input sample."""
    n = np.arange(-half_width, half_width + 1, dtype=np.float64)
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(len(n))
    result: FloatArray = (taps / taps.sum()).astype(np.float32)
    return result


class StreamResampler:
    """Anti-aliased linear-interpolation resampler that carries state across blocks.

    Good enough for speech recognition, which only looks below 8 kHz; a
    windowed-sinc low-pass in front removes what would alias on downsampling.
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self._step = in_rate / out_rate
        if in_rate > out_rate:
            half_width = 8 * int(np.ceil(self._step))
            self._taps: FloatArray | None = _lowpass_taps(0.45 / self._step, half_width)
            self._fir_tail = np.zeros(2 * half_width, dtype=np.float32)
        else:
            self._taps = None
            half_width = 0
        self._buf = np.zeros(0, dtype=np.float32)
        # Position of the next output sample in _buf; starting past the filter's group
        # delay keeps output aligned with input, so word times stay exact.
        self._pos = float(half_width)

    def process(self, x: FloatArray) -> FloatArray:
        if self._taps is not None:
            padded = np.concatenate((self._fir_tail, x))
            self._fir_tail = padded[len(padded) - len(self._fir_tail):]
            x = np.convolve(padded, self._taps, mode="valid").astype(np.float32)
        buf = np.concatenate((self._buf, x))
        n_out = int(np.ceil((len(buf) - 1 - self._pos) / self._step))
        if n_out <= 0:
            self._buf = buf
            return np.zeros(0, dtype=np.float32)
        positions = self._pos + self._step * np.arange(n_out)
        index = positions.astype(np.int64)
        frac = (positions - index).astype(np.float32)
        out = buf[index] * (1 - frac) + buf[index + 1] * frac
        next_pos = self._pos + self._step * n_out
        consumed = int(next_pos)
        self._buf = buf[consumed:]
        self._pos = next_pos - consumed
        return out


class PcmConverter:
    """Raw interleaved PCM in some layout -> 16 kHz mono int16 bytes."""

    def __init__(self, sample_format: str, channels: int, rate: int) -> None:
        if sample_format not in FORMATS:
            raise ValueError(f"unsupported sample format {sample_format!r}")
        self.sample_format = sample_format
        self.channels = channels
        self.rate = rate
        self._width = FORMATS[sample_format][0]
        self._passthrough = sample_format == "s16" and channels == 1 and rate == SAMPLE_RATE
        self._resampler = StreamResampler(rate, SAMPLE_RATE) if rate != SAMPLE_RATE else None
        self._partial = b""  # bytes of an incomplete frame carried to the next block

    @property
    def frame_bytes(self) -> int:
        return self._width * self.channels

    def convert(self, raw: bytes) -> bytes:
        if self._passthrough and not self._partial and len(raw) % 2 == 0:
            return raw
        data = self._partial + raw
        usable = len(data) - len(data) % self.frame_bytes
        self._partial = data[usable:]
        samples = self._to_float(data[:usable])
        if self.channels > 1:
            samples = samples.reshape(-1, self.channels).mean(axis=1, dtype=np.float32)
        if self._resampler is not None:
            samples = self._resampler.process(samples)
        return _float_to_s16(samples)

    def _to_float(self, data: bytes) -> FloatArray:
        width, dtype, scale = FORMATS[self.sample_format]
        if self.sample_format == "s24":
            b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
            as_int = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8)
                      | (b[:, 2].astype(np.int32) << 16))
            as_int = np.where(as_int >= 1 << 23, as_int - (1 << 24), as_int)
            return (as_int * scale).astype(np.float32)
        values = np.frombuffer(data, dtype=dtype)
        if self.sample_format == "u8":
            return ((values.astype(np.float32) - 128) * scale).astype(np.float32)
        return (values * scale).astype(np.float32)


def _float_to_s16(samples: FloatArray) -> bytes:
    scaled = np.clip(np.nan_to_num(samples) * 32768.0, -32768, 32767)
    return bytes(np.rint(scaled).astype("<i2").tobytes())
