"""One exception family for everything a user can fix, and the one table of exit codes.

Each message is a single line that says what went wrong and what to do. Library
code only raises; the CLI alone turns an error into its exit code.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The exit codes of every command (the README's table is this one)."""

    OK = 0  # done, or stopped by a signal
    BUG = 1  # not a user error: a traceback was printed for us to fix
    USAGE = 2  # a bad option value, environment variable or config.toml
    MODEL = 3  # no model, an unknown model name, or a model that cannot load or be removed
    AUDIO_FILE = 4  # an audio file or stream that is missing or not audio we can read
    DEVICE = 5  # no such input device, or it cannot be opened
    BUS = 6  # no session bus, the bus name is taken, or no daemon to talk to
    DOWNLOAD = 7  # a download failed, did not match its checksum, or an archive was unsafe
    TOOL = 8  # dictate: a typing tool or the display it needs is missing


class SttError(Exception):
    """Base class: a problem the user can fix; the message says how."""

    exit_code = ExitCode.BUG


class UsageError(SttError):
    """An option value, environment variable or config file that cannot work."""

    exit_code = ExitCode.USAGE


class ModelError(SttError):
    """No model anywhere we looked, an unknown name, or one that cannot load."""

    exit_code = ExitCode.MODEL


class AudioFileError(SttError):
    """An input file that is missing, unreadable or not a WAV we can decode."""

    exit_code = ExitCode.AUDIO_FILE


class DeviceError(SttError):
    """No such input device, or it cannot be opened."""

    exit_code = ExitCode.DEVICE


class BusError(SttError):
    """No session bus, the bus name is taken, or no daemon answers."""

    exit_code = ExitCode.BUS


class DownloadError(SttError):
    """A download that failed, did not verify, or an archive that is unsafe."""

    exit_code = ExitCode.DOWNLOAD


class ToolError(SttError):
    """A typing tool, or the display it types into, is missing."""

    exit_code = ExitCode.TOOL
