"""Per-block latency, CPU, memory, start-up, end-of-speech and idle cost: daemon vs bare Vosk.

The bare loop is the Vosk example's: AcceptWaveform on each 20 ms block, then
Result() or PartialResult(); same model, audio and block size, no daemon.
Every pair runs one after the other in this process, never at the same time.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from scripts.benchmarks.common import (ko_files, percentiles, private_bus, ratio, run_measuring_peak_rss,
                                      virtual_mic)
from stt_daemon.controller import Controller
from stt_daemon.mic import MicSource
from stt_daemon.models import find_models, load_model
from stt_daemon.publish import Publisher
from stt_daemon.settings import AudioSettings, EngineSettings
from stt_daemon.tuning import Tuning
from stt_daemon.vosk_backend import VoskBackend
from stt_daemon.warmup import warm_up
from stt_daemon.wavfile import WavSource

BLOCK = 640  # bytes: 20 ms of 16 kHz s16


def _corpus_wav(seconds: float, folder: Path) -> Path:
    """ko-dev clips joined (0.5 s gaps) up to ``seconds`` of audio."""
    clips, total = [], 0.0
    for path in ko_files():
        clips.append(str(path))
        total += (path.stat().st_size - 44) / 32000 + 0.5
        if total >= seconds:
            break
    parts = []
    for i, clip in enumerate(clips):
        parts.append(str(folder / f"p{i}.wav"))
        subprocess.run(["sox", clip, parts[-1], "pad", "0", "0.5"], check=True)
    out = folder / "corpus.wav"
    subprocess.run(["sox", *parts, str(out)], check=True)
    return out


def _bare_loop(backend: VoskBackend, blocks: list[bytes], stamps: list[int] | None) -> list[float]:
    """Feed blocks; with ``stamps`` (capture times) return per-block latency in ms."""
    out = []
    for i, pcm in enumerate(blocks):
        if backend.accept(pcm):
            backend.result()
        else:
            backend.partial()
        if stamps is not None:
            out.append((time.monotonic_ns() - stamps[i]) / 1e6)
    return out


def _bare_paced(model: Any, pcm: bytes) -> list[float]:
    """Each block is due when its last sample would have been spoken; latency runs from then."""
    backend = VoskBackend(model)
    warm_up(backend)
    latencies, start = [], time.monotonic_ns()
    for i in range(0, len(pcm), BLOCK):
        due = start + (i // BLOCK + 1) * 20_000_000
        delay = (due - time.monotonic_ns()) / 1e9
        if delay > 0:
            time.sleep(delay)
        latencies += _bare_loop(backend, [pcm[i:i + BLOCK]], [due])
    return latencies


def _daemon_run(model: Any, source: Any, engine: EngineSettings, until_s: float | None = None,
                settle_s: float | None = None) -> dict[str, Any]:
    """Run until the source ends or ``until_s``; CPU also counted from ``settle_s`` on."""
    controller = Controller(model, source, Publisher(), engine)
    cpu0, t0 = time.process_time(), time.monotonic()
    settled: tuple[float, float] | None = None
    controller.start()
    while controller.running() and (until_s is None or time.monotonic() - t0 < until_s):
        time.sleep(0.05)
        if settle_s is not None and settled is None and time.monotonic() - t0 >= settle_s:
            settled = (time.process_time(), time.monotonic())
    cpu1, t1 = time.process_time(), time.monotonic()
    controller.stop()
    summary = controller.monitor.summary()
    return {"p50": summary.p50_ms, "p95": summary.p95_ms, "p99": summary.p99_ms, "max": summary.max_ms,
            "n": summary.window_blocks, "cpu_s": cpu1 - cpu0, "wall_s": t1 - t0,
            "settled_cpu_s": cpu1 - settled[0] if settled else None,
            "settled_wall_s": t1 - settled[1] if settled else None, "drops": controller.stats()["drops"]}


def _bare_mic(model: Any, seconds: float, play: Path, pulse: dict[str, str]) -> list[float]:
    import sounddevice as sd

    backend = VoskBackend(model)
    warm_up(backend)
    blocks: queue.Queue[tuple[int, bytes]] = queue.Queue()

    def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
        blocks.put((time.monotonic_ns(), bytes(indata)))

    latencies: list[float] = []
    with sd.RawInputStream(device="pulse", samplerate=16000, channels=1, dtype="int16", blocksize=320,
                           callback=callback):
        player = subprocess.Popen(["paplay", "--device=vmic_out", str(play)], env={**os.environ, **pulse})
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                stamp, pcm = blocks.get(timeout=0.1)
            except queue.Empty:
                continue
            latencies += _bare_loop(backend, [pcm], [stamp])
        player.kill()
    return latencies


def _pair(daemon: dict[str, Any], bare_ms: list[float]) -> dict[str, Any]:
    bare = percentiles(bare_ms)
    return {"daemon_ms": {k: daemon[k] for k in ("n", "p50", "p95", "p99", "max")}, "bare_ms": bare,
            "ratio_p99": ratio(daemon["p99"], bare.get("p99", 0)), "daemon_drops": daemon["drops"]}


def latency_file(model: Any, wav: Path, seconds: float) -> dict[str, Any]:
    pcm = wav.read_bytes()[44:44 + int(seconds * 32000)]
    trimmed = wav.with_name("trim.wav")
    subprocess.run(["sox", str(wav), str(trimmed), "trim", "0", str(seconds)], check=True)
    settings = AudioSettings(input_file=trimmed, realtime=True)
    with_measures = _daemon_run(model, WavSource.open(trimmed, settings), EngineSettings(latency_window_s=3600))
    without = _daemon_run(model, WavSource.open(trimmed, settings),
                          EngineSettings(latency_window_s=3600, warm_up=False))
    result = _pair(with_measures, _bare_paced(model, pcm))
    result["daemon_without_warmup_ms"] = {k: without[k] for k in ("n", "p50", "p95", "p99", "max")}
    return result


def latency_mic(model: Any, wav: Path, seconds: float, idle_s: float) -> dict[str, Any]:
    with virtual_mic() as pulse:
        os.environ.update(pulse)
        try:
            player = subprocess.Popen(["paplay", "--device=vmic_out", str(wav)], env=os.environ.copy())
            daemon = _daemon_run(model, MicSource(AudioSettings(device="pulse")),
                                 EngineSettings(latency_window_s=3600), until_s=seconds)
            player.kill()
            bare = _bare_mic(model, seconds, wav, pulse)
            silence = _daemon_run(model, MicSource(AudioSettings(device="pulse")),
                                  EngineSettings(latency_window_s=3600), until_s=idle_s + 2, settle_s=2)
        finally:
            for key in pulse:
                os.environ.pop(key, None)
    result = _pair(daemon, bare)
    result["idle"] = {
        "seconds": round(silence["wall_s"], 1),
        "cpu_percent_of_a_core": round(100 * silence["cpu_s"] / silence["wall_s"], 2),
        "after_2s_settle_seconds": round(silence["settled_wall_s"], 1),
        "after_2s_settle_cpu_percent_of_a_core": round(100 * silence["settled_cpu_s"] / silence["settled_wall_s"], 2),
    }
    return result


def cpu_ratio(model: Any, wav: Path, repeats: int) -> dict[str, Any]:
    """CPU seconds per second of audio, decoding flat out with warmed recognizers.

    Bare and daemon runs alternate ``repeats`` times and each side reports its median,
    since one run against one run differs by several percent from noise alone.
    """
    audio_s = (wav.stat().st_size - 44) / 32000
    pcm = wav.read_bytes()[44:]
    blocks = [pcm[i:i + BLOCK] for i in range(0, len(pcm), BLOCK)]
    bare, daemon = [], []
    for _ in range(repeats):
        backend = VoskBackend(model)
        warm_up(backend)
        cpu0 = time.process_time()
        _bare_loop(backend, blocks, None)
        backend.final()
        bare.append((time.process_time() - cpu0) / audio_s)
        run = _daemon_run(model, WavSource.open(wav, AudioSettings(realtime=False)), EngineSettings())
        daemon.append(run["cpu_s"] / audio_s)
    bare_rtf, daemon_rtf = float(np.median(bare)), float(np.median(daemon))
    return {"audio_s": round(audio_s, 1), "repeats": repeats, "daemon_rtf": round(daemon_rtf, 4),
            "bare_rtf": round(bare_rtf, 4), "ratio": ratio(daemon_rtf, bare_rtf),
            "daemon_runs": [round(x, 4) for x in daemon], "bare_runs": [round(x, 4) for x in bare]}


def _speech_bounds_s(pcm: bytes) -> tuple[float, float]:
    """Onset and end of speech from 10 ms frame energy: above 1/30 of the clip's loudest frames."""
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    energy = np.sqrt((frames ** 2).mean(axis=1))
    voiced = np.nonzero(energy > np.percentile(energy, 95) / 30)[0]
    return voiced[0] * 0.01, (voiced[-1] + 1) * 0.01


class _Timing:
    """A sink that places each event in stream time, with the compute time of its call."""

    name = "timing"

    def __init__(self) -> None:
        self.controller: Controller | None = None
        self.first_partial_s: float | None = None
        self.final_s: float | None = None

    def publish(self, event: Any, latency_ms: float) -> None:
        from stt_daemon.events import Final

        engine = self.controller.engine if self.controller is not None else None
        if engine is None:
            return
        when_s = engine.blocks_consumed * 0.02 + (time.monotonic_ns() - engine.last_dequeued_ns) / 1e9
        if isinstance(event, Final):
            if event.text:
                self.final_s = when_s  # the last one closes the speech
        elif self.first_partial_s is None:
            self.first_partial_s = when_s


def _events_in_stream_time(model: Any, clip: Path, engine: EngineSettings) -> _Timing:
    timing = _Timing()
    controller = Controller(model, WavSource.open(clip, AudioSettings(realtime=False)), Publisher([timing]),
                            engine)
    timing.controller = controller
    controller.start()
    while controller.running():
        time.sleep(0.01)
    controller.stop()
    return timing


def endpointing(location: Any, clips: list[Path], folder: Path) -> dict[str, Any]:
    """End of speech to final, and onset to first partial, through the daemon's engine.

    Each clip gets 3 s of silence after it and is read flat out; an event's time is
    the stream position of the block that produced it (when its last sample would
    be spoken, live) plus the time its call took. Speech bounds come from energy.
    """
    out: dict[str, Any] = {}
    padded = []
    for i, clip in enumerate(clips):
        padded.append(folder / f"ep{i}.wav")
        subprocess.run(["sox", str(clip), str(padded[-1]), "pad", "0", "3"], check=True)
    for label, silence_ms in (("default", None), ("endpoint_silence_200ms", 200)):
        model = load_model(location, Tuning(endpoint_silence_ms=silence_ms))
        settings = EngineSettings(warm_up=False, endpoint_silence_ms=silence_ms)
        to_final, to_partial, missed = [], [], 0
        for clip in padded:
            onset_s, end_s = _speech_bounds_s(clip.read_bytes()[44:])
            timing = _events_in_stream_time(model, clip, settings)
            if timing.final_s is None or timing.final_s > end_s + 2.9:
                missed += 1
            else:
                to_final.append((timing.final_s - end_s) * 1000)
            if timing.first_partial_s is not None:
                to_partial.append((timing.first_partial_s - onset_s) * 1000)
        out[label] = {"end_of_speech_to_final_ms": percentiles(to_final), "no_final_before_file_end": missed,
                      "onset_to_first_partial_ms": percentiles(to_partial)}
    return out


_BARE_START = """
import time, resource, sys, json
t0 = time.monotonic()
import vosk
vosk.SetLogLevel(-1)
m = vosk.Model(sys.argv[1]); r = vosk.KaldiRecognizer(m, 16000)
ready = time.monotonic() - t0
pcm = open(sys.argv[2], 'rb').read()[44:]
for i in range(0, len(pcm), 640):
    r.AcceptWaveform(pcm[i:i+640]) or r.PartialResult()
print(json.dumps({"ready_s": ready}))
"""


def startup_and_memory(model_path: Path, clip: Path) -> dict[str, Any]:
    import json

    _, bare_rss, bare = run_measuring_peak_rss([sys.executable, "-c", _BARE_START, str(model_path), str(clip)],
                                               dict(os.environ))
    bare_ready_s = json.loads(bare.stdout.strip().splitlines()[-1])["ready_s"]
    with private_bus() as address:
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address}

        def owned() -> bool:
            done = subprocess.run(["gdbus", "call", "--address", address, "--dest", "org.freedesktop.DBus",
                                   "--object-path", "/org/freedesktop/DBus", "--method",
                                   "org.freedesktop.DBus.NameHasOwner", "org.sttdaemon.SttDaemon"],
                                  capture_output=True, text=True)
            return "true" in done.stdout

        ready_s, _, _ = run_measuring_peak_rss([sys.executable, "-m", "stt_daemon", "-q", "serve", "--input", str(clip)],
                                     env, owned)
    _, daemon_rss, _ = run_measuring_peak_rss([sys.executable, "-m", "stt_daemon", "-q", "listen", "--no-dbus", "--fast",
                                     "--input", str(clip)], dict(os.environ))
    return {"ready_s": {"daemon_incl_warmup": round(ready_s, 2), "bare_model_load": round(bare_ready_s, 2),
                        "ratio": ratio(ready_s, bare_ready_s)},
            "peak_rss_mb": {"daemon": round(daemon_rss, 1), "bare": round(bare_rss, 1),
                            "ratio": ratio(daemon_rss, bare_rss)}}


def run(smoke: bool) -> dict[str, Any]:
    location = find_models()[0]
    model = load_model(location)
    with tempfile.TemporaryDirectory() as folder:
        wav = _corpus_wav(8 if smoke else 60, Path(folder))
        paced_s = 4 if smoke else 20
        clips = ko_files(3 if smoke else 20)
        return {
            "model": str(location.path),
            "block_ms": 20,
            "latency_file_paced": latency_file(model, wav, paced_s),
            "latency_virtual_mic": latency_mic(model, wav, paced_s, 3 if smoke else 30),
            "cpu_real_time_factor": cpu_ratio(model, wav, 1 if smoke else 3),
            "endpointing": endpointing(location, clips, Path(folder)),
            "startup": startup_and_memory(location.path, clips[0]),
        }
