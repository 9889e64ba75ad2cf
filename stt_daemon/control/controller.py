"""One place for control: pause, resume, finalize, reset, reloads, stats, stop.

The D-Bus methods, the reloader and the signal handling all end up here, and
every request becomes a command on the worker's queue (pipeline/commands.py).
The controller holds no state of the pipeline's own: it reads what the worker
publishes and relays its change notices to listeners, outside any lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.blocks import AudioSource
from stt_daemon.errors import BusError
from stt_daemon.output.format import Formatter, build_formatter, language_of
from stt_daemon.output.publish import Publisher
from stt_daemon.pipeline import commands as cmd
from stt_daemon.pipeline.endpoint import build_endpointing
from stt_daemon.pipeline.utterances import UtteranceTracker
from stt_daemon.pipeline.warmup import warm_up
from stt_daemon.pipeline.worker import State, Worker
from stt_daemon.settings import Settings

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[str, str], None]  # ("State" | "Device" | "Model", new value)


class NotRunning(BusError):
    """A control request that needs a running pipeline."""


class Busy(BusError):
    """The worker did not apply a request in time (a stalled recognizer, say)."""


class Controller:
    """Owns the running pipeline of `listen` and `serve` (and of tests and benchmarks)."""

    APPLY_TIMEOUT_S = 5.0  # a command the worker has not applied by then gets an error

    def __init__(self, source: AudioSource, transcriber: Transcriber, publisher: Publisher,
                 settings: Settings, *, formatter: Formatter | None = None,
                 clock: Callable[[], int] = time.monotonic_ns, latency_window_s: float = 30.0,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        """Builds the first recognizer session (warmed when the settings say so, unless
        ``should_stop`` cuts it short) and the worker; nothing runs until ``start``."""
        session = transcriber.session()
        if settings.warmup:
            _LOGGER.info("recognizer warmed up in %.1f s", warm_up(session, should_stop))
        self._listeners: list[Listener] = []
        self.publisher = publisher
        self._tracker = UtteranceTracker(session)
        self.worker = Worker(source, transcriber, self._tracker, publisher, settings,
                             formatter=formatter, notify=self._notify, clock=clock,
                             latency_window_s=latency_window_s)
        self._started_s = time.monotonic()

    # -- what other parts read ----------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.worker.state

    @property
    def device(self) -> str:
        return self.worker.source.description

    @property
    def model_name(self) -> str:
        return self.worker.model_name

    def add_listener(self, listener: Listener) -> None:
        """Called from the worker thread on every State/Device/Model change."""
        self._listeners = [*self._listeners, listener]

    def _notify(self, name: str, value: str) -> None:
        for listener in self._listeners:
            try:
                listener(name, value)
            except Exception:
                _LOGGER.exception("a %s listener failed", name)

    # -- requests -----------------------------------------------------------------------------

    def start(self, state: State = State.LISTENING) -> None:
        """Start the worker; ``state`` says whether the source is open (listening), closed
        (paused) or not there yet (waiting-for-device)."""
        self.worker.start(state)

    def _apply(self, command: cmd.Command, timeout_s: float = APPLY_TIMEOUT_S) -> None:
        if not self.worker.is_alive():
            raise NotRunning("the daemon is not running a pipeline")
        if not self.worker.submit(command).wait(timeout_s):
            raise Busy("the recognition worker is busy and did not act in time; try again")

    def pause(self) -> None:
        """The utterance in progress becomes a final, then the audio stream closes."""
        self._apply(cmd.Pause())

    def resume(self) -> None:
        self._apply(cmd.Resume())

    def toggle(self) -> State:
        """Pause when listening, resume when paused; returns the state it led to."""
        self._apply(cmd.Toggle())
        return self.state

    def hold(self) -> None:
        """Push-to-talk's key went down: listen."""
        self._apply(cmd.Resume())

    def release(self) -> None:
        """Push-to-talk's key came up: the final of what was said, at once, then quiet."""
        self._apply(cmd.Release())

    def finalize(self) -> None:
        self._apply(cmd.Finalize())

    def reset(self) -> None:
        self._apply(cmd.Reset())

    def switch_source(self, source: AudioSource) -> None:
        """Move to another device without a gap: the worker opens it, then hands over."""
        self._apply(cmd.SwitchSource(source))

    def use_transcriber(self, transcriber: Transcriber) -> None:
        """Serve from a newly loaded model: built and warmed aside, swapped between utterances."""
        self._apply(cmd.UseTranscriber(transcriber))

    def configure(self, settings: Settings, model_name: str | None = None) -> None:
        """What the worker applies at once: budgets, recycling, its own endpointer, formatting
        (for the language of ``model_name``, default the model in use)."""
        model_name = model_name or self.model_name
        formatter = build_formatter(settings, model_name)
        endpointing = build_endpointing(settings.endpoint_silence_ms, settings.sentence_end_silence_ms,
                                        settings.language or language_of(model_name))
        self._apply(cmd.Configure(settings.latency_budget_ms, settings.recycle_after_s,
                                  settings.recycle_growth_mb, endpointing, formatter))

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the source, decode what is queued, flush the last utterance as a final."""
        if self.worker.is_alive():
            self.worker.submit(cmd.Stop())
            if not self.worker.join(timeout_s):
                _LOGGER.warning("the recognition worker did not stop within %.0f s", timeout_s)
        else:
            self.worker.source.stop()

    # -- health and figures --------------------------------------------------------------------

    def running(self) -> bool:
        """False once a file source has ended or the worker died."""
        return self.worker.is_alive()

    def healthy(self, stall_s: float = 2.0) -> bool:
        """The worker is alive and went round its loop lately (it wakes at least every 50 ms)."""
        return self.worker.is_alive() and time.monotonic_ns() - self.worker.progress_ns < stall_s * 1e9

    def stats(self) -> dict[str, float | int]:
        worker = self.worker
        source = worker.source.stats()
        latency = worker.monitor.summary()
        events = worker.monitor.event_summary()
        return {
            "blocks": source.blocks, "drops": source.drops, "overflows": source.overflows,
            "queue_depth": source.queue_depth, "utterances": worker.utterances,
            "uptime_s": round(time.monotonic() - self._started_s, 3),
            "latency_p50_ms": latency.p50_ms, "latency_p95_ms": latency.p95_ms,
            "latency_p99_ms": latency.p99_ms, "latency_max_ms": latency.max_ms,
            "latency_budget_ms": worker.monitor.budget_ms, "over_budget": latency.over_budget,
            "over_budget_window": latency.over_budget_window,
            "event_latency_n": events.n, "event_latency_p50_ms": events.p50_ms,
            "event_latency_p90_ms": events.p90_ms, "event_latency_p99_ms": events.p99_ms,
            "event_latency_max_ms": events.max_ms, "overload_level": int(worker.ladder.level),
            "overload_escalations": worker.ladder.escalations, "recycled": worker.recycling.recycled,
            "stale_builds": worker.recycling.stale,
            "gated_blocks": worker.gate.gated_blocks if worker.gate is not None else 0,
            "sink_drops": self.publisher.drops(),
            **self._tracker.stable.stats(),  # stable_words, retractions, retraction_rate
            **self.perceived_stats(),
        }

    def perceived_stats(self) -> dict[str, float | int]:
        """What the user sees: word on screen after it was spoken, final after speech ended, first
        partial after speech began; p50/p90/p99 in ms over the last words and utterances."""
        out: dict[str, float | int] = {}
        for name, figures in self.worker.perceived.summary().items():
            out[f"{name}_latency_n"] = figures.n
            out[f"{name}_latency_p50_ms"] = figures.p50_ms
            out[f"{name}_latency_p90_ms"] = figures.p90_ms
            out[f"{name}_latency_p99_ms"] = figures.p99_ms
        return out
