"""Runs `stt-daemon listen` many times and interrupts each run at a random moment.

    python -m tests.signal_zygote COUNT SEED CLIP OUTDIR [BUS_ADDRESS]

The model takes seconds to load, so 120 runs would take many minutes. This
process loads it once and then forks each run: the child calls the real CLI entry
point with the real arguments, and only its model load is answered from the
already loaded model (shared copy-on-write). Everything else is the real command:
argument parsing, signal handlers, start-up, the worker, the main loop, the
shutdown. The parent sends SIGINT after a random delay and waits; it prints one
JSON line per run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any


def main() -> None:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # numpy's BLAS pool would be a thread at fork
    count, seed, clip, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    bus = sys.argv[5] if len(sys.argv) > 5 else ""
    from gi.repository import Gio  # noqa: F401  (imported here once, so that no child pays for it)

    from stt_daemon.cli import app  # noqa: F401  (likewise: the click application, imported lazily by main)
    from stt_daemon.asr.base import EngineOptions
    from stt_daemon.asr.factory import load_transcriber
    from stt_daemon.control import daemon
    from stt_daemon.models.locate import find_models

    location = find_models()[0]
    loaded = load_transcriber(location.path, location.name, EngineOptions())

    def preloaded(*args: Any, **kwargs: Any) -> Any:
        return loaded

    setattr(daemon, "load_transcriber", preloaded)
    threads = len(os.listdir("/proc/self/task"))
    assert threads == 1, f"{threads} threads: none but the main one may exist at fork"
    rng = random.Random(seed)
    for run in range(count):
        # Half the runs are interrupted at a random moment of start-up (model, warm-up, handlers);
        # the other half once the child says it is listening, so that a slow machine still
        # interrupts running pipelines as often as a fast one.
        once_listening = rng.random() < 0.5
        delay_s = rng.uniform(0.0, 0.5) if once_listening else rng.uniform(0.0, 0.8)
        args = ["listen", "--json", "--partials", "--input", clip]
        args += ["--no-warmup"] if rng.random() < 0.5 else []
        with_bus = bool(bus) and rng.random() < 0.5  # half the runs answer D-Bus on GLib's loop
        pid = os.fork()
        if pid == 0:
            _child(args, out / f"{run}", bus if with_bus else "")
        started = time.monotonic()
        if once_listening:
            _wait_for_listening(out / f"{run}.err", timeout_s=30.0)
        time.sleep(delay_s)
        os.kill(pid, signal.SIGINT)
        sent = time.monotonic()
        status, hung = _wait(pid, timeout_s=20.0)
        print(json.dumps({"run": run, "delay_s": round(delay_s, 3), "once_listening": once_listening,
                          "args": args, "bus": with_bus,
                          "code": status, "hung": hung, "stop_s": round(time.monotonic() - sent, 3),
                          "life_s": round(time.monotonic() - started, 3)}), flush=True)


def _child(args: list[str], prefix: Path, bus: str) -> None:
    from stt_daemon import cli

    if bus:
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = bus
    else:
        os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        args = [*args, "--no-dbus"]
    for fd, name in ((1, "out"), (2, "err")):
        target = os.open(f"{prefix}.{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
    try:
        cli.main(args)
    finally:
        os._exit(99)  # never reached: main leaves with the command's own code


def _wait_for_listening(err: Path, timeout_s: float) -> None:
    """Until the child's log says it listens (or it gave up: the test then sees why)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if b"listening to" in err.read_bytes():
                return
        except FileNotFoundError:
            pass
        time.sleep(0.005)


def _wait(pid: int, timeout_s: float) -> tuple[int, bool]:
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status), True
        time.sleep(0.005)


if __name__ == "__main__":
    main()
