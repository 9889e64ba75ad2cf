"""Event latency under load: capture of the newest block -> partial or final published.

`stt-daemon listen --input` reads ko-dev speech paced in real time, as a real process on
the bench's private bus, and reports its own event figures at exit (--stats: the ring of
the last 2048 events, pipeline/latency.py). Four conditions: alone; beside a CPU hog on
one of the two cores (CI's hog); while D-Bus clients flood it with GetStats (bus/throttle.py
budgets them per client: four clients one call at a time, plus one sending thousands at
once); and both. The bare side is a Vosk loop on the same file, paced the same way, at
Vosk's default decode chunk, with and without the hog: its event latency (the block whose result
changed the partial, or made a final) is the floor the engine sets.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devkit import bare
from devkit.servers import ROOT
from scripts.benchmarks.common import percentiles
from stt_daemon.audio.blocks import AudioSource, Block
from stt_daemon.audio.wavfile import WavSource

CONFIGS: dict[str, list[str]] = {
    "default": [],
    "vosk_chunk_and_rules": ["--partial-interval-ms", "240", "--no-tuned-endpoints"],
}
_STATS = re.compile(r"latency p50=(?P<block_p50>[\d.]+) p95=[\d.]+ p99=(?P<block_p99>[\d.]+) .*?"
                    r"events p50=(?P<event_p50>[\d.]+) p99=(?P<event_p99>[\d.]+) max=(?P<event_max>[\d.]+)")


@contextmanager
def _hog(on: bool) -> Iterator[None]:
    proc = subprocess.Popen(["sh", "-c", "while :; do :; done"]) if on else None
    try:
        yield
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


def _daemon(wav: Path, flags: list[str], flood: bool) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "stt_daemon", "listen", "--input", str(wav), "--json", "--partials",
           "--stats", "3600", *flags]
    proc = subprocess.Popen(cmd, cwd=ROOT, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    floods: list[subprocess.Popen[str]] = []
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "on D-Bus as" in line:
                if flood:
                    flooder = [sys.executable, "-m", "devkit.flood"]
                    floods = [subprocess.Popen([*flooder, "sync", "3600"], cwd=ROOT, text=True,
                                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(4)]
                    floods.append(subprocess.Popen([*flooder, "async", "3000"], cwd=ROOT, text=True,
                                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
                break
        lines.extend(proc.stderr)
        proc.wait(60)
    finally:
        for f in floods:
            f.kill()
            f.wait()
        proc.kill()
        proc.wait()
    found = [m for m in map(_STATS.search, lines) if m]
    if not found:
        raise RuntimeError("listen printed no stats:\n" + "".join(lines[-5:]))
    return {k: float(v) for k, v in found[-1].groupdict().items()}


class _Stamped:
    """The source, remembering the capture stamp of the block just read."""

    def __init__(self, inner: AudioSource) -> None:
        self.inner = inner
        self.captured_ns = 0

    def read(self, timeout_s: float) -> Block | None:
        block = self.inner.read(timeout_s)
        if block is not None:
            self.captured_ns = block.captured_ns
        return block

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _bare(model: Any, wav: Path) -> dict[str, Any]:
    rec = bare.recognizer(model)
    bare.warm(rec)
    source = _Stamped(WavSource.open(wav, realtime=True))
    source.inner.start()
    events: list[float] = []
    last = [""]

    def on_result(kind: str, text: str, at_ns: int) -> None:
        if kind == "final" or text != last[0]:
            events.append((at_ns - source.captured_ns) / 1e6)
        last[0] = "" if kind == "final" else text

    bare.run_source(rec, source, on_result=on_result)
    return percentiles(events)


def run(bare_model: Any, wav: Path, smoke: bool) -> dict[str, Any]:
    configs = {"default": CONFIGS["default"]} if smoke else CONFIGS
    conditions = {"alone": (False, False), "hog": (True, False)} if smoke else \
        {"alone": (False, False), "hog": (True, False), "dbus_flood": (False, True), "hog_and_flood": (True, True)}
    out: dict[str, Any] = {"audio_s": round((wav.stat().st_size - 44) / 32000, 1), "budget_ms": 50}
    for name, flags in configs.items():
        rows: dict[str, Any] = {}
        for condition, (hog, flood) in conditions.items():
            with _hog(hog):
                rows[condition] = _daemon(wav, flags, flood)
        out[name] = rows
    out["bare_alone_event_ms"] = _bare(bare_model, wav)
    with _hog(True):
        out["bare_hog_event_ms"] = _bare(bare_model, wav)
    return out
