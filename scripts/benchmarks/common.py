"""Shared pieces of the benchmarks: percentiles, ratios and the audio they play."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from devkit.servers import KO_DEV, ROOT, SHARED

__all__ = ["KO_DEV", "ROOT", "corpus_wav", "idle_inputs", "ko_files", "padded", "percentiles", "ratio",
           "trimmed"]


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    if len(values_ms) == 0:
        return {"n": 0}
    arr = np.asarray(values_ms, dtype=np.float64)
    p50, p90, p95, p99 = np.percentile(arr, [50, 90, 95, 99])
    return {"n": int(arr.size), "p50": round(float(p50), 2), "p90": round(float(p90), 2),
            "p95": round(float(p95), 2), "p99": round(float(p99), 2), "max": round(float(arr.max()), 2)}


def ratio(ours: float, bare: float) -> float | None:
    return round(ours / bare, 3) if bare > 0 else None


def ko_files(limit: int | None = None) -> list[Path]:
    names = sorted(line.split("\t", 1)[0]
                   for line in (KO_DEV / "transcripts.tsv").read_text("utf-8").splitlines() if "\t" in line)
    return [KO_DEV / n for n in names[:limit]]


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True)


def padded(clip: Path, pad_s: float, folder: Path) -> Path:
    out = folder / f"{clip.stem}.pad{pad_s:g}.wav"
    if not out.exists():
        _sox(str(clip), str(out), "pad", "0", f"{pad_s:g}")
    return out


def corpus_wav(seconds: float, folder: Path) -> Path:
    """ko-dev clips joined with 0.5 s gaps, up to ``seconds`` of audio."""
    out = folder / f"corpus{seconds:g}.wav"
    if out.exists():
        return out
    parts, total = [], 0.0
    for clip in ko_files():
        parts.append(str(padded(clip, 0.5, folder)))
        total += (clip.stat().st_size - 44) / 32000 + 0.5
        if total >= seconds:
            break
    _sox(*parts, str(out))
    return out


def trimmed(wav: Path, seconds: float, folder: Path) -> Path:
    out = folder / f"{wav.stem}.trim{seconds:g}.wav"
    if not out.exists():
        _sox(str(wav), str(out), "trim", "0", f"{seconds:g}")
    return out


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """Float samples in [-1, 1) as a 16 kHz mono s16 WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(samples, -1, 1 - 2**-15) * 32768).astype("<i2").tobytes())
    return path


def colored_noise(color: str, seconds: float, rms: float, seed: int = 7) -> np.ndarray:
    """Pink (1/f power) or brown (1/f^2) noise with the given RMS, shaped in the frequency domain."""
    n = int(seconds * 16000)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / 16000)
    f[0] = f[1]
    spectrum /= np.sqrt(f) if color == "pink" else f
    x = np.fft.irfft(spectrum, n)
    return np.asarray(x * rms / np.sqrt(np.mean(x ** 2)))


def idle_inputs(seconds: float, folder: Path) -> dict[str, Path]:
    """What a microphone hears while nobody speaks: digital silence, the real room noise of
    shared/audio/noise, and pink and brown noise at RMS 0.01 (a fan, a hum)."""
    length = seconds + 3
    made = {"silence": write_wav(folder / "silence.wav", np.zeros(int(length * 16000))),
            "pink_noise": write_wav(folder / "pink.wav", colored_noise("pink", length, 0.01)),
            "brown_noise": write_wav(folder / "brown.wav", colored_noise("brown", length, 0.01))}
    for noise in sorted((SHARED / "audio" / "noise").glob("*.wav")):
        made[noise.stem] = trimmed(noise, length, folder)
    return made
