"""Speech in noise: CER and end of speech -> final for the daemon (--vad silero, --vad energy)
and a bare Vosk loop, at 20, 10 and 5 dB SNR; and the capture floor under the idle figures.

Mixes. Every ko-dev clip is scaled so that its speech frames are at SPEECH_DBFS; speech
frames are the clean clip's 20 ms frames above 1/30 of its 95th-percentile frame RMS (the
rule of endpointing.speech_bounds_s). SNR = that speech level over the RMS of the noise
track, so at 5 dB SNR the noise is at SPEECH_DBFS - 5 dBFS, under pauses too. Noises: the
four real room noises of shared/audio/noise (converted with sox to 16 kHz mono s16, their
first 0.5 s left out, looped when short), pink and brown noise from `sox synth`, and babble:
five talkers, each a chain of ko-dev clips that are not among the measured ones, summed.

Per SNR, each side reads one stream flat out: for every noise, LEAD_S of noise, then each
clip followed by PAD_S of the same noise (not silence: the end must be found in noise).
One stream per side and SNR rather than a file per clip: every daemon run warms a new
recognizer (seconds of CPU), which per clip would triple the time; and a room's
noise is continuous anyway. Event times are endpointing.py's: the stream position of the
block that produced the final plus its call time. A clip's speech ends where its clean
version's energy ends; its final is the first non-empty final emitted in [end, end + PAD_S
- 0.1 s) (with silence, as in endpointing.py, that is also the last; in noise a later one
holds words made up from the noise). Clips with none there are counted. CER: the raw text
(Final.raw; formatting stays on, as shipped) of the finals emitted in a noise's stretch
against its clips' references. A clean stream (digital silence) is the baseline.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from devkit import bare
from devkit.servers import SHARED
from devkit.textmetrics import corpus_cer
from scripts.benchmarks.common import ko_files, percentiles, write_wav
from scripts.benchmarks.endpointing import PAD_S, speech_bounds_s
from scripts.benchmarks.latency import _Window
from scripts.benchmarks.tradeoff import run_flat
from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.mic import MicSource
from stt_daemon.control.controller import Controller
from stt_daemon.events import Event, Final
from stt_daemon.settings import Settings

Samples = np.ndarray[Any, np.dtype[np.float64]]
RATE, FRAME = 16000, 320  # 20 ms frames
SPEECH_DBFS = -26.0
LEAD_S = 2.0
SNRS = (20, 10, 5)
#: The full size. 4 clips: 11.5 CPU-minutes, 18 min of wall time on 2 cores shared with other
#: work (load 4); 5 clips took 15 min (load 3.7), 8 took 18 (load 2).
CLIPS = 4
ROOM = ("doing_the_dishes", "dude_miaowing", "exercise_bike", "running_tap")
NOISES = (*ROOM, "pink", "brown", "babble")
SIDES: dict[str, Settings | None] = {"daemon_silero": Settings(vad="silero"),
                                     "daemon_energy": Settings(vad="energy"), "bare": None}


def _read(path: Path) -> Samples:
    return np.frombuffer(path.read_bytes()[44:], "<i2").astype(np.float64) / 32768


def speech_mask(x: Samples) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """The clean clip's speech frames, per 20 ms: RMS above 1/30 of the 95th percentile."""
    rms = np.sqrt((x[: len(x) // FRAME * FRAME].reshape(-1, FRAME) ** 2).mean(axis=1))
    return np.asarray(rms > np.percentile(rms, 95) / 30)


def _level(x: Samples, dbfs: float) -> Samples:
    frames = x[: len(x) // FRAME * FRAME].reshape(-1, FRAME)
    power = float((frames[speech_mask(x)] ** 2).mean())
    return np.asarray(x * 10 ** (dbfs / 20) / np.sqrt(power))


def pick_clips(n: int) -> list[Path]:
    """``n`` clips spread over the sorted list, so over the speakers."""
    every = ko_files()
    return [every[i * len(every) // n] for i in range(n)]


def _sox_track(name: str, folder: Path) -> Samples:
    out = folder / f"noise_{name}.wav"
    if not out.exists():
        source = ["-n"] if name in ("pink", "brown") else [str(SHARED / "audio" / "noise" / f"{name}.wav")]
        synth = ["synth", "120", f"{name}noise"] if name in ("pink", "brown") else []
        subprocess.run(["sox", "-R", *source, "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed",
                        str(out), *synth], check=True)
    return _read(out)


def _babble(length: int, avoid: list[Path], seed: int) -> Samples:
    """Five talkers, each a random chain of other ko-dev clips at the speech level, summed."""
    rng = np.random.default_rng(seed)
    pool = [c for c in ko_files() if c not in avoid]
    total = np.zeros(length)
    for _ in range(5):
        talker: list[Samples] = []
        while sum(len(t) for t in talker) < length + RATE * 10:
            talker.append(_level(_read(pool[int(rng.integers(len(pool)))]), SPEECH_DBFS))
        chain = np.concatenate(talker)
        start = int(rng.integers(RATE * 10))
        total += chain[start:start + length]
    return total


def noise_track(name: str, length: int, folder: Path, avoid: list[Path], seed: int = 5) -> Samples:
    """``length`` samples of a noise at RMS 1 (looped when the recording is shorter)."""
    x = _babble(length, avoid, seed) if name == "babble" else _sox_track(name, folder)
    if name in ROOM:
        x = x[RATE // 2:]  # each recording opens with 40 ms of digital silence: not room noise
    x = np.resize(x - x.mean(), length)
    return np.asarray(x / np.sqrt((x ** 2).mean()))


@dataclass(frozen=True)
class Segment:
    noise: str
    clip: Path
    start_s: float  # the clip's first sample in the stream
    onset_s: float  # its speech onset and end (clean clip, 10 ms energy), stream time
    end_s: float
    length_s: float  # clip + pad, a whole number of 20 ms frames


@dataclass(frozen=True)
class Stream:
    wav: Path
    segments: list[Segment]
    spans: dict[str, tuple[float, float]]  # each noise's stretch of the stream

    @property
    def seconds(self) -> float:
        return (self.wav.stat().st_size - 44) / (2 * RATE)


def build_stream(clips: list[Path], noises: tuple[str, ...], snr_db: float | None, folder: Path) -> Stream:
    """The clips under each noise in turn at ``snr_db`` (None: clean, digital silence)."""
    parts: list[Samples] = []
    segments: list[Segment] = []
    spans: dict[str, tuple[float, float]] = {}
    at = 0
    for noise in noises:
        speech = [np.zeros(int(LEAD_S * RATE))]
        for clip in clips:
            x = _level(_read(clip), SPEECH_DBFS)
            pad = int(PAD_S * RATE) + (-(len(x) + int(PAD_S * RATE))) % FRAME
            onset, end = speech_bounds_s(clip.read_bytes()[44:])
            here = (at + sum(len(p) for p in speech)) / RATE
            segments.append(Segment(noise, clip, here, here + onset, here + end, (len(x) + pad) / RATE))
            speech += [x, np.zeros(pad)]
        block = np.concatenate(speech)
        if snr_db is not None:
            block += noise_track(noise, len(block), folder, clips) * 10 ** ((SPEECH_DBFS - snr_db) / 20)
        spans[noise] = (at / RATE, (at + len(block)) / RATE)
        parts.append(block)
        at += len(block)
    wav = write_wav(folder / f"stream_{'clean' if snr_db is None else f'{snr_db:g}dB'}_{len(clips)}.wav",
                    np.concatenate(parts))
    return Stream(wav, segments, spans)


class _Finals:
    """Each non-empty final's raw text, stamped as endpointing._Timing stamps events."""

    name = "noise-finals"

    def __init__(self) -> None:
        self.controller: Controller | None = None
        self.finals: list[tuple[float, str]] = []

    def publish(self, event: Event) -> None:
        worker = self.controller.worker if self.controller is not None else None
        if worker is not None and isinstance(event, Final) and event.raw:
            when_s = worker.blocks_consumed * 0.02 + (time.monotonic_ns() - worker.last_dequeued_ns) / 1e9
            self.finals.append((when_s, event.raw))


def _daemon(transcriber: Transcriber, wav: Path, settings: Settings) -> tuple[list[tuple[float, str]], float]:
    sink = _Finals()
    cpu = run_flat(transcriber, wav, settings, sink)
    return sink.finals, cpu


def _bare(model: Any, wav: Path) -> tuple[list[tuple[float, str]], float]:
    """endpointing._bare's loop, keeping every final's text; FinalResult at the file's end."""
    rec = bare.recognizer(model)
    bare.warm(rec)
    pcm = wav.read_bytes()[44:]
    finals: list[tuple[float, str]] = []
    cpu = time.process_time()
    for offset in range(0, len(pcm), 640):
        start = time.monotonic()
        if rec.AcceptWaveform(pcm[offset:offset + 640]):
            text = json.loads(rec.Result())["text"]
            if text:
                finals.append(((offset + 640) / 32000 + time.monotonic() - start, text))
        else:
            rec.PartialResult()
    text = json.loads(rec.FinalResult())["text"]
    if text:
        finals.append((len(pcm) / 32000, text))
    return finals, time.process_time() - cpu


def _score(finals: list[tuple[float, str]], segments: list[Segment], span: tuple[float, float],
           references: dict[str, str], last: bool) -> dict[str, Any]:
    eos, missed = [], 0
    for seg in segments:
        closing = [t for t, _ in finals if seg.end_s <= t < seg.end_s + PAD_S - 0.1]
        if closing:
            eos.append((closing[0] - seg.end_s) * 1000)
        else:
            missed += 1
    heard = " ".join(text for t, text in finals if span[0] <= t < span[1] or (last and t >= span[1]))
    reference = " ".join(references[seg.clip.name] for seg in segments)
    return {"cer": round(corpus_cer([(reference, heard)]), 4), "end_of_speech_to_final_ms": percentiles(eos),
            "no_final_before_file_end": missed}


def _sides(stream: Stream, transcribers: dict[str, Transcriber], model: Any, references: dict[str, str],
           sides: dict[str, Settings | None]) -> dict[str, Any]:
    out: dict[str, Any] = {"audio_s": round(stream.seconds, 1)}
    names = list(stream.spans)
    for side, settings in sides.items():
        finals, cpu_s = _bare(model, stream.wav) if settings is None else \
            _daemon(transcribers[side], stream.wav, settings)
        row: dict[str, Any] = {"rtf": round(cpu_s / stream.seconds, 4),
                               "all": _score(finals, stream.segments, (0.0, stream.seconds), references, True)}
        if len(names) > 1:
            row["by_noise"] = {n: _score(finals, [s for s in stream.segments if s.noise == n], stream.spans[n],
                                         references, n == names[-1]) for n in names}
        out[side] = row
    return out


def run(transcriber: Transcriber, model: Any, folder: Path, references: dict[str, str], smoke: bool,
        clips: int = CLIPS, sides: dict[str, Settings | None] = SIDES,
        transcribers: dict[str, Transcriber] | None = None) -> dict[str, Any]:
    """Smoke: one clip under the tap at 10 dB. Full: ``clips`` clips, every noise, every SNR
    and the clean clips, on every side (see CLIPS for the time it takes).
    ``transcribers``: per side, where its settings change the engine's options."""
    engines = {side: (transcribers or {}).get(side, transcriber) for side in sides}
    chosen = pick_clips(1 if smoke else clips)
    noises, snrs = (("running_tap",), (10,)) if smoke else (NOISES, SNRS)
    out: dict[str, Any] = {"clips": [c.name for c in chosen], "noises": list(noises), "speech_dbfs": SPEECH_DBFS,
                           "snr": "speech-frame level of the clean clip over the noise track's RMS",
                           "lead_s": LEAD_S, "pad_s": PAD_S}
    conditions: list[float | None] = [*snrs] if smoke else [None, *snrs]
    for snr in conditions:
        stream = build_stream(chosen, ("clean",) if snr is None else noises, snr, folder)
        out["clean" if snr is None else f"snr_{snr:g}dB"] = _sides(stream, engines, model, references, sides)
    return out


def capture_floor(inputs: dict[str, Path], seconds: float, pulse: dict[str, str],
                  settle_s: float = 2.0) -> dict[str, Any]:
    """CPU % of a core of this process while it only captures 20 ms blocks from the virtual
    mic (MicSource("pulse")), measured like latency.idle's sides (_Window, process_time,
    the first ``settle_s`` left out): the floor under the daemon's idle figure. The process
    must be otherwise idle (the bench's own process, between sections)."""
    out: dict[str, Any] = {"seconds": seconds, "settle_s": settle_s}
    for name, clip in inputs.items():
        window = _Window(clip, pulse, seconds, settle_s)
        source = MicSource("pulse")
        source.start()
        window.start()
        try:
            while not window.until():
                source.read(0.05)  # read and discarded: capture alone
        finally:
            source.stop()
        out[name] = {"capture_only_cpu_percent_of_a_core": window.cpu_percent}
    return out

