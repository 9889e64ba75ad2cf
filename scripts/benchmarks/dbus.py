"""D-Bus signal delivery from the real pipeline to subscriber processes.

The daemon side (harness.py) decodes speech flat out, so its Partial and Final
signals come in bursts; each subscriber is a process of its own using stt-daemon's
Subscription. Delivery runs from the moment the daemon's sink emitted a signal to
the moment a subscriber got it (CLOCK_MONOTONIC is shared by processes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from devkit.servers import ROOT
from scripts.benchmarks.common import percentiles
from scripts.benchmarks.harness import DaemonSide
from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.settings import Settings


def _delivery(transcriber: Transcriber, wav: Path, subscribers: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subs = [subprocess.Popen([sys.executable, "-m", "scripts.benchmarks.subscriber"], env=env, cwd=ROOT,
                             text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(subscribers)]
    try:
        for sub in subs:
            assert sub.stdout is not None and sub.stdout.readline().strip() == "ready"
        run = DaemonSide(transcriber, WavSource.open(wav, realtime=False), Settings()).run()
        signals = sum(len(times) for times in run.emitted.values())
        outputs = [sub.communicate(f"{signals}\n", timeout=60)[0] for sub in subs]
    finally:
        for sub in subs:
            sub.kill()
            sub.wait()
    latencies, received = [], []
    for out in outputs:
        got = json.loads(out.strip().splitlines()[-1])
        received.append(len(got))
        pending = {key: list(times) for key, times in run.emitted.items()}
        for kind, utterance, text, at_ns in got:
            times = pending.get((kind, utterance, text))
            if times:  # the same signal, matched in the order they were sent
                latencies.append((at_ns - times.pop(0)) / 1e6)
    return {"subscribers": subscribers, "signals": signals, "received_per_subscriber": received,
            "delivery_ms": percentiles(latencies)}


def run(transcriber: Transcriber, wav: Path, many: int = 10) -> dict[str, Any]:
    """On the session bus $DBUS_SESSION_BUS_ADDRESS names (the bench's private one)."""
    return {"one_subscriber": _delivery(transcriber, wav, 1), "many_subscribers": _delivery(transcriber, wav, many)}
