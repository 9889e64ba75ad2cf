"""What the daemon says about itself: systemd's STATUS= line and the --stats summary."""

from __future__ import annotations

import logging

from stt_daemon.control.controller import Controller
from stt_daemon.periodic import Periodic
from stt_daemon.pipeline.worker import State

_LOGGER = logging.getLogger(__name__)


def status_text(controller: Controller) -> str:
    """systemd's STATUS= line: what the daemon is doing, in words."""
    state = controller.state
    if state is State.LISTENING:
        return f"listening to {controller.device}"
    if state is State.WAITING_FOR_DEVICE:
        return f"waiting for the device ({controller.device})"
    return str(state.value)


def format_stats(stats: dict[str, float | int]) -> str:
    return ("stats: blocks={blocks} latency p50={latency_p50_ms} p95={latency_p95_ms} "
            "p99={latency_p99_ms} max={latency_max_ms} ms (budget {latency_budget_ms:g}) "
            "over_budget={over_budget_window} events p50={event_latency_p50_ms} p99={event_latency_p99_ms} "
            "max={event_latency_max_ms} ms queue={queue_depth} drops={drops} "
            "overflows={overflows} level={overload_level} utterances={utterances} | "
            "word shown p50={word_latency_p50_ms} p90={word_latency_p90_ms} p99={word_latency_p99_ms} ms, "
            "final after speech p50={end_of_speech_latency_p50_ms} p90={end_of_speech_latency_p90_ms} ms, "
            "first partial p50={onset_latency_p50_ms} ms").format(**stats)


class StatsReporter(Periodic):
    """--stats: one summary line on stderr every ``interval_s`` (window figures, no transcript)."""

    def __init__(self, controller: Controller, interval_s: float) -> None:
        super().__init__("stt-stats", interval_s, self._report)
        self._controller = controller

    def _report(self) -> bool:
        if not self._controller.running():
            return False
        _LOGGER.info("%s", format_stats(self._controller.stats()))
        return True
