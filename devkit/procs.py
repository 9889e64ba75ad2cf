"""Running a child process while watching its peak memory."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from devkit.servers import ROOT


def vm_hwm_mb(pid: int) -> float | None:
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
        peak = max(peak, vm_hwm_mb(proc.pid) or 0.0)
        if until is not None and ready_s is None and until():
            ready_s = time.monotonic() - t0
            proc.send_signal(2)
        time.sleep(0.02)
    out, err = proc.communicate()
    done = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    return (ready_s if ready_s is not None else time.monotonic() - t0), peak, done
