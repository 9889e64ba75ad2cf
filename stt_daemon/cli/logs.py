"""Diagnostics on stderr, one line per event; journald priorities when journald reads it."""

from __future__ import annotations

import logging
import os
import sys


class _JournalFormatter(logging.Formatter):
    """sd-daemon(3) priority prefixes, which journald turns into levels; it adds the time."""

    _PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " | ")
        return f"<{self._PRIORITIES.get(record.levelno, 6)}>{text}"


class _TerminalHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes log lines above the partial that stdout redraws in place on the same terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        from stt_daemon.output.stdout import LIVE_LINE

        with LIVE_LINE.above():
            super().emit(record)


def setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler: logging.Handler = _TerminalHandler(sys.stderr) if sys.stderr.isatty() else \
        logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):  # stderr is connected to journald
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s" if verbose else "%(message)s"))
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "stt-daemon: %(message)s"
        handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
