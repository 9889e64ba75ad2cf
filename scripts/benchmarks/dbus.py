"""D-Bus signal delivery: Final emission in the daemon's sink to receipt in subscriber processes.

The emitter is the daemon's own DbusSink on a real exported object; each
subscriber is a separate process using stt-daemon's Subscription class. The
emission time travels in the text (CLOCK_MONOTONIC is shared by processes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from scripts.benchmarks.common import ROOT, percentiles, private_bus

_SUBSCRIBER = r"""
import json, sys, threading, time
from stt_daemon.dbus_client import Subscription
from stt_daemon.daemon import run_main_loop
from stt_daemon.events import Final
want = int(sys.argv[1]); got = []; stop = threading.Event()
def on_event(ev):
    if isinstance(ev, Final):
        got.append((time.monotonic_ns() - int(ev.text)) / 1e6)
        if len(got) >= want: stop.set()
sub = Subscription(on_event)
print("ready", flush=True)
timer = threading.Timer(60, stop.set); timer.daemon = True; timer.start()
run_main_loop(stop)
print(json.dumps(got), flush=True)
"""


def _emitter(count: int, interval_s: float) -> None:
    """Runs in a child process: export the object, wait for go, emit ``count`` Finals."""
    from stt_daemon.controller import Controller
    from stt_daemon.dbus_service import DbusSink, Publication, SttDaemonObject, connect_session_bus
    from stt_daemon.events import Final, Word
    from stt_daemon.models import find_models, load_model
    from stt_daemon.publish import Publisher, RecentFinals
    from stt_daemon.settings import AudioSettings
    from stt_daemon.wavfile import WavSource
    from scripts.benchmarks.common import ko_files

    model = load_model(find_models()[0])
    controller = Controller(model, WavSource.open(ko_files(1)[0], AudioSettings()), Publisher())
    obj = SttDaemonObject(controller, RecentFinals())
    publication = Publication(connect_session_bus(), obj)
    publication.own_name()
    sink = DbusSink(obj)
    words = tuple(Word(f"w{i}", i * 0.1, i * 0.1 + 0.1, 1.0) for i in range(8))
    print("ready", flush=True)
    sys.stdin.readline()
    next_s = time.monotonic()
    for i in range(count):
        sink.publish(Final(i + 1, str(time.monotonic_ns()), 0.0, 0.8, words, 0), 0.0)
        next_s += interval_s
        delay = next_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    sys.stdin.readline()
    publication.close()


def _run(address: str, subscribers: int, count: int, interval_s: float) -> dict[str, Any]:
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address, "PYTHONPATH": str(ROOT)}
    emitter = subprocess.Popen([sys.executable, "-c",
                                f"from scripts.benchmarks.dbus import _emitter; _emitter({count}, {interval_s})"],
                               env=env, cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert emitter.stdout is not None and emitter.stdin is not None
    assert emitter.stdout.readline().strip() == "ready"
    subs = [subprocess.Popen([sys.executable, "-c", _SUBSCRIBER, str(count)], env=env, cwd=ROOT, text=True,
                             stdout=subprocess.PIPE) for _ in range(subscribers)]
    for sub in subs:
        assert sub.stdout is not None and sub.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    emitter.stdin.write("go\n")
    emitter.stdin.flush()
    latencies: list[float] = []
    received = []
    for sub in subs:
        out, _ = sub.communicate(timeout=120)
        got = json.loads(out.strip().splitlines()[-1])
        received.append(len(got))
        latencies.extend(got)
    emitter.stdin.write("done\n")
    emitter.stdin.flush()
    emitter.wait(timeout=30)
    return {"subscribers": subscribers, "signals": count, "interval_ms": interval_s * 1000,
            "received_per_subscriber": received, "delivery_ms": percentiles(latencies)}


def run(smoke: bool) -> dict[str, Any]:
    count = 50 if smoke else 2000
    with private_bus() as address:
        return {
            "one_subscriber": _run(address, 1, count, 0.001),
            "ten_subscribers": _run(address, 10, count, 0.001),
        }
