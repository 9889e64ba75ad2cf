"""Pieces shared by the CLI's modules: signal handling, stdout, shared options."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

import click

from stt_daemon.settings import OutputSettings

def install_stop_handlers(stop: threading.Event, reload: threading.Event | None = None) -> None:
    """First SIGINT/SIGTERM: ask for a clean stop. A second one: leave at once. SIGHUP: reload."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(128 + signum)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    if reload is not None:
        signal.signal(signal.SIGHUP, lambda signum, frame: reload.set())


def stdout_closed(stop: threading.Event) -> Callable[[], None]:
    """A reader that went away (`| head -1`) ends the run cleanly, without a traceback at exit."""

    def closed() -> None:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        stop.set()

    return closed


def output_settings(as_json: bool, partials: bool) -> OutputSettings:
    tty = sys.stdout.isatty()
    return OutputSettings(json=as_json, partials=partials or tty, redraw=tty and not as_json)




json_option = click.option("--json", "as_json", is_flag=True, help="JSON lines instead of text.")
partials_option = click.option("--partials", is_flag=True,
                                help="Also print partials when stdout is not a terminal.")
