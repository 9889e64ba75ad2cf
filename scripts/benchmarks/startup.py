"""Start-up, memory and stopping, each in a fresh process as a user runs it.

Ready: the daemon (`serve`) is ready when it owns its bus name, after the model load
and the warm-up; the bare program is ready once vosk.Model and a recognizer exist.
Peak RSS: each decodes the same clip. Stop: SIGINT in the middle of an utterance to
the process's exit, with the final flushed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devkit.procs import run_measuring_peak_rss
from devkit.servers import ROOT, private_bus
from scripts.benchmarks.common import percentiles, ratio

DAEMON = [sys.executable, "-m", "stt_daemon"]


def _owned(address: str) -> bool:
    done = subprocess.run(["gdbus", "call", "--address", address, "--dest", "org.freedesktop.DBus",
                           "--object-path", "/org/freedesktop/DBus", "--method",
                           "org.freedesktop.DBus.NameHasOwner", "org.sttdaemon.SttDaemon"],
                          capture_output=True, text=True)
    return "true" in done.stdout


def ready_and_memory(model_path: Path, clip: Path) -> dict[str, Any]:
    _, bare_rss, done = run_measuring_peak_rss([sys.executable, "-m", "devkit.bare", "ready", str(model_path),
                                                str(clip)], dict(os.environ))
    bare_ready_s = json.loads(done.stdout.splitlines()[0])["ready_s"]
    with private_bus() as (address, _):
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address}
        ready_s, _, _ = run_measuring_peak_rss([*DAEMON, "-q", "serve", "--input", str(clip)], env,
                                               lambda: _owned(address))
    _, daemon_rss, _ = run_measuring_peak_rss([*DAEMON, "-q", "listen", "--no-dbus", "--fast", "--input",
                                               str(clip)], dict(os.environ))
    return {"ready_s": {"daemon_incl_warmup": round(ready_s, 2), "bare_model_load": round(bare_ready_s, 2),
                        "ratio": ratio(ready_s, bare_ready_s)},
            "peak_rss_mb": {"daemon": round(daemon_rss, 1), "bare": round(bare_rss, 1),
                            "ratio": ratio(daemon_rss, bare_rss)}}


def stop(clip: Path, runs: int) -> dict[str, Any]:
    """SIGINT at a random moment of a long utterance, to the process's exit."""
    rng = random.Random(20261125)
    seconds, flushed = [], 0
    for _ in range(runs):
        proc = subprocess.Popen([*DAEMON, "listen", "--no-dbus", "--json", "--partials", "--input", str(clip)],
                                cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        while '"partial"' not in proc.stdout.readline():
            pass
        time.sleep(rng.uniform(0.2, 3.0))
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        seconds.append((time.monotonic() - sent) * 1000)
        flushed += proc.returncode == 0 and '"final"' in out.splitlines()[-1]
    return {"runs": runs, "sigint_to_exit_ms": percentiles(seconds), "final_flushed": flushed}
