"""The command line. ``main`` is the entry point; the click application (stt_daemon.cli.app)
is imported only when needed, so that a hotkey's `stt-daemon hold|release|toggle` is one
D-Bus call from the standard library (stt_daemon.cli.hotkey) and no more.

Only the cli package parses arguments, installs signal handlers or exits.
"""

from __future__ import annotations

import sys
from typing import Any


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr and a code from errors.ExitCode for what a user can fix."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) == 1:
            from stt_daemon.cli.hotkey import METHODS

            if args[0] in METHODS:
                _fast_hotkey(METHODS[args[0]])  # returns only when the ordinary path must do it
        from stt_daemon.cli.app import _leave, _run
    except KeyboardInterrupt:  # Ctrl-C before the command began: nothing to flush, no traceback
        import os

        os._exit(128 + 2)
    _leave(_run(argv))


def _fast_hotkey(method: str) -> None:
    """Call and exit; return when the ordinary path must do it (and nothing reached the daemon)."""
    import os

    from stt_daemon.cli import hotkey

    try:
        reply = hotkey.call(method)
    except (hotkey.Unhandled, OSError):
        return
    except hotkey.CallFailed as exc:
        if "ServiceUnknown" in exc.name or "NameHasNoOwner" in exc.name:
            return  # the ordinary path says what to do about a missing daemon
        priority = "<3>" if os.environ.get("JOURNAL_STREAM") else ""
        message = exc.message.split(": ", 1)[-1].splitlines()[0] if exc.message else exc.name
        sys.stderr.write(f"{priority}stt-daemon: error: {method} failed: {message}\n")
        sys.stderr.flush()
        os._exit(6)  # ExitCode.BUS, as the ordinary path's BusError
    if reply is not None:
        sys.stdout.write(reply + "\n")
    sys.stdout.flush()
    os._exit(0)


def __getattr__(name: str) -> Any:
    """``stt_daemon.cli.cli``, the click group, imported on first use."""
    if name != "cli":  # submodules are found by the import system, not here
        raise AttributeError(f"module 'stt_daemon.cli' has no attribute {name!r}")
    from stt_daemon.cli.app import cli

    return cli
