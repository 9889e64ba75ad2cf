"""Per-block latency, daemon against bare Vosk, measured the same way on both sides.

Each side reads the same audio from the same kind of source (a file paced like a
microphone, or the virtual microphone), is warmed with the same clip before the
audio starts, and stamps a block when the source queues it. The daemon runs with
its real sinks (harness.py). Blocks the daemon's silence gate holds back are not
decoded, so they have no latency: they are counted apart, and the two counts
(decoded + gated on one side, decoded on the other) cover the same audio.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from devkit import bare
from scripts.benchmarks.common import corpus_wav, percentiles, ratio, trimmed
from scripts.benchmarks.harness import DaemonSide
from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.mic import MicSource
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.settings import Settings


def _pair(daemon_ms: list[float], gated: int, bare_ms: list[float]) -> dict[str, Any]:
    ours, theirs = percentiles(daemon_ms), percentiles(bare_ms)
    return {"daemon_ms": ours, "daemon_gated_blocks": gated, "bare_ms": theirs,
            "ratio_p50": ratio(ours.get("p50", 0), theirs.get("p50", 0)),
            "ratio_p99": ratio(ours.get("p99", 0), theirs.get("p99", 0))}


def file_paced(transcriber: Transcriber, model: Any, folder: Path, seconds: float) -> dict[str, Any]:
    """A file paced in real time, with and without the daemon's warm-up."""
    wav = trimmed(corpus_wav(seconds, folder), seconds, folder)
    warm = DaemonSide(transcriber, WavSource.open(wav, realtime=True), Settings()).run()
    cold = DaemonSide(transcriber, WavSource.open(wav, realtime=True), Settings(warmup=False)).run()
    rec = bare.recognizer(model)
    bare.warm(rec)
    source = WavSource.open(wav, realtime=True)
    source.start()
    theirs = bare.run_source(rec, source)
    result = _pair(warm.latencies_ms, int(warm.stats["gated_blocks"]), theirs.latencies_ms)
    result["daemon_drops"] = warm.stats["drops"]
    result["daemon_without_warmup_ms"] = percentiles(cold.latencies_ms)
    result["audio_s"] = seconds
    return result


def _play(clip: Path, pulse: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["pacat", "--playback", "--file-format=wav", "--latency-msec=20", "-d", "vmic_out",
                             str(clip)], env={**os.environ, **pulse})


def virtual_mic(transcriber: Transcriber, model: Any, folder: Path, seconds: float,
                pulse: dict[str, str]) -> dict[str, Any]:
    """The virtual microphone; playback starts only once the side under test is warm and
    listening, so both hear the same stretch of audio from its first sample."""
    wav = trimmed(corpus_wav(seconds, folder), seconds, folder)
    players: list[subprocess.Popen[bytes]] = []

    def done() -> bool:
        return bool(players) and players[0].poll() is not None

    side = DaemonSide(transcriber, MicSource("pulse"), Settings())
    ours = side.run(until=done, started=lambda: players.append(_play(wav, pulse)))
    rec = bare.recognizer(model)
    bare.warm(rec)
    source = MicSource("pulse")
    source.start()
    player = _play(wav, pulse)
    theirs = bare.run_source(rec, source, until=lambda: player.poll() is not None)
    source.stop()
    result = _pair(ours.latencies_ms, int(ours.stats["gated_blocks"]), theirs.latencies_ms)
    result["daemon_drops"] = ours.stats["drops"]
    result["audio_s"] = seconds
    return result


class _Window:
    """Plays a clip once the side under test is ready; measures process CPU over ``seconds``
    after ``settle_s`` (the gate closing), then says stop."""

    def __init__(self, clip: Path, pulse: dict[str, str], seconds: float, settle_s: float) -> None:
        self._clip, self._pulse, self._seconds, self._settle_s = clip, pulse, seconds, settle_s
        self._t0: float | None = None
        self._cpu0: float | None = None
        self.cpu_percent = 0.0
        self._player: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._player = _play(self._clip, self._pulse)
        self._t0 = time.monotonic()

    def until(self) -> bool:
        if self._t0 is None:
            return False
        elapsed = time.monotonic() - self._t0
        if self._cpu0 is None and elapsed >= self._settle_s:
            self._cpu0 = time.process_time()
        if elapsed < self._settle_s + self._seconds or self._cpu0 is None:
            return False
        self.cpu_percent = round(100 * (time.process_time() - self._cpu0) / (elapsed - self._settle_s), 2)
        if self._player is not None:
            self._player.kill()
        return True


def idle(transcriber: Transcriber, model: Any, inputs: dict[str, Path], seconds: float,
         pulse: dict[str, str]) -> dict[str, Any]:
    """CPU while nobody speaks: digital silence, real room noise and generated noise, played
    into the virtual microphone; the first 2 s (the gate closing) are left out on every side.
    The daemon runs as shipped (real sinks, the default speech detector) and with the energy
    detector, against a bare loop that decodes everything."""
    out: dict[str, Any] = {"seconds": seconds, "settle_s": 2.0}
    for name, clip in inputs.items():
        ours = _Window(clip, pulse, seconds, 2.0)
        DaemonSide(transcriber, MicSource("pulse"), Settings()).run(ours.until, ours.start)
        # The same daemon deciding on loudness alone (--vad energy): what the speech detector buys.
        energy = _Window(clip, pulse, seconds, 2.0)
        DaemonSide(transcriber, MicSource("pulse"), Settings(vad="energy")).run(energy.until, energy.start)
        theirs = _Window(clip, pulse, seconds, 2.0)
        rec = bare.recognizer(model)
        source = MicSource("pulse")
        source.start()
        theirs.start()
        bare.run_source(rec, source, until=theirs.until)
        source.stop()
        out[name] = {"daemon_cpu_percent_of_a_core": ours.cpu_percent,
                     "daemon_energy_vad_cpu_percent_of_a_core": energy.cpu_percent,
                     "bare_cpu_percent_of_a_core": theirs.cpu_percent,
                     "ratio": ratio(ours.cpu_percent, theirs.cpu_percent)}
    return out
