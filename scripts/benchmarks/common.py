"""Shared pieces of the benchmarks: percentiles, private servers, the corpus."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
KO_DEV = Path(os.environ.get("STT_SHARED", ROOT.parent / "shared")) / "audio" / "ko-dev"


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    if len(values_ms) == 0:
        return {"n": 0}
    arr = np.asarray(values_ms, dtype=np.float64)
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"n": int(arr.size), "p50": round(float(p50), 3), "p95": round(float(p95), 3),
            "p99": round(float(p99), 3), "max": round(float(arr.max()), 3)}


def ratio(ours: float, bare: float) -> float | None:
    return round(ours / bare, 3) if bare > 0 else None


def ko_files(limit: int | None = None) -> list[Path]:
    names = sorted(line.split("\t", 1)[0]
                   for line in (KO_DEV / "transcripts.tsv").read_text("utf-8").splitlines() if "\t" in line)
    return [KO_DEV / n for n in names[:limit]]


@contextmanager
def private_bus() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1",
             f"--address=unix:path={folder}/bus"], capture_output=True, text=True, check=True)
        address, pid = out.stdout.split()[:2]
        try:
            yield address
        finally:
            os.kill(int(pid), 15)


@contextmanager
def virtual_mic() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        script = str(ROOT / "scripts" / "virtual-mic")
        out = subprocess.run([script, "start", folder], capture_output=True, text=True, check=True)
        try:
            yield dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        finally:
            subprocess.run([script, "stop", folder], check=False)


def _vm_hwm_mb(pid: int) -> float | None:
    """Peak RSS since exec; ru_maxrss would include the parent's pages inherited at fork."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_measuring_peak_rss(argv: list[str], env: dict[str, str], until: Callable[[], bool] | None = None
                           ) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run a child to its end (SIGINT once ``until()`` is true); returns (seconds until then or
    the end, its peak RSS in MB, its output)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready_s, peak = None, 0.0
    while proc.poll() is None:
        peak = max(peak, _vm_hwm_mb(proc.pid) or 0.0)
        if until is not None and ready_s is None and until():
            ready_s = time.monotonic() - t0
            proc.send_signal(2)
        time.sleep(0.02)
    out, err = proc.communicate()
    done = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    return (ready_s if ready_s is not None else time.monotonic() - t0), peak, done
