"""One exception family for everything a user can fix.

Each message is a single line that says what went wrong and what to do.
Only the CLI turns these into exit codes; library code just raises them.
"""


class SttError(Exception):
    """Base class: a problem the user can fix; the message says how."""

    exit_code = 1


class ModelNotFound(SttError):
    """No model anywhere we looked."""

    exit_code = 3


class ModelLoadError(SttError):
    """A model path exists but is not a loadable Vosk model."""

    exit_code = 3


class AudioFileError(SttError):
    """An input file that is missing, unreadable or not a WAV we can decode."""

    exit_code = 4


class DeviceError(SttError):
    """No such input device, or it cannot be opened."""

    exit_code = 5


class UsageError(SttError):
    """An option value that cannot work."""

    exit_code = 2


class BusError(SttError):
    """No session bus, or the bus name is taken."""

    exit_code = 6
