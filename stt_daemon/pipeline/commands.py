"""Requests to the worker. Each is queued and applied by the worker between two blocks,
so nothing the worker uses is ever changed from another thread.

A command is done once applied; ``wait`` lets the caller (the D-Bus Pause method,
say) answer only then. Any thread may submit; only the worker completes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from stt_daemon.asr.base import StreamingSession, Transcriber
from stt_daemon.audio.blocks import AudioSource
from stt_daemon.output.format import Formatter
from stt_daemon.pipeline.endpoint import Endpointing


@dataclass
class Command:
    done: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def wait(self, timeout_s: float) -> bool:
        return self.done.wait(timeout_s)


@dataclass
class Finalize(Command):
    """End the utterance in progress now and publish its final."""


@dataclass
class Reset(Command):
    """Discard the utterance in progress: it gets no final."""


@dataclass
class Pause(Command):
    """Publish the utterance in progress as a final, then close the audio stream."""


@dataclass
class Resume(Command):
    """Reopen the audio stream (or wait for the device, when it is away)."""


@dataclass
class Release(Command):
    """Push-to-talk's key came up: close the stream, decode what it already captured, publish
    the final at once, stay paused."""


@dataclass
class Toggle(Command):
    """Pause when listening (or waiting for the device), resume when paused."""


@dataclass
class Stop(Command):
    """Close the source, decode what it queued, flush the last utterance, end the worker."""


@dataclass
class SwitchSource(Command):
    """Read ``source`` from now on; what the old one queued is decoded first."""

    source: AudioSource


@dataclass
class UseTranscriber(Command):
    """Serve from a newly loaded model (or the same one with other engine options): a session
    is built and warmed aside, then swapped in between utterances."""

    transcriber: Transcriber


@dataclass
class SessionReady(Command):
    """A session built off the worker (``None``: the build failed). Only the newest
    generation is used; an older build that finishes late is dropped."""

    session: StreamingSession | None
    generation: int


@dataclass
class Configure(Command):
    """Settings the worker applies between blocks, at once."""

    latency_budget_ms: float
    recycle_after_s: float
    recycle_growth_mb: float
    endpointing: Endpointing  # the daemon's own rules; the engine's come with a swap
    formatter: Formatter
