"""stt-daemon: offline, real-time speech-to-text for the Linux desktop."""

__version__ = "0.1.0"
