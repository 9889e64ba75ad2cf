"""The outputs: stdout formats, sinks that may block, the formatting stage, the block queue."""

from __future__ import annotations

import fcntl
import io
import json
import os
import time
from pathlib import Path

from stt_daemon.asr.base import Transcriber
from stt_daemon.audio.blocks import BlockQueue, EndOfStream
from stt_daemon.audio.wavfile import WavSource
from stt_daemon.control.controller import Controller
from stt_daemon.events import Final, Partial, Word
from stt_daemon.output.format import Formatter
from stt_daemon.output.publish import Publisher, QueuedSink
from stt_daemon.output.stdout import StdoutFormat, StdoutSink, display_width, fit_tail
from stt_daemon.settings import Settings
from tests.pipeline_helpers import Collect, concat

NOW = 10_000_000_000
FINAL = Final(3, "욕조 에 물을", "욕조 에 물을", 0.39, 1.17,
              (Word("욕조", 0.39, 0.78, 1.0), Word("에", 0.78, 0.9, 0.5), Word("물을", 0.9, 1.17, 0.25)),
              NOW - 20_000_000)


def partial(text: str, latency_ms: float = 1.0) -> Partial:
    return Partial(3, text, text, NOW - int(latency_ms * 1e6))


def test_terminal_redraws_the_partial_in_place_and_the_final_replaces_it() -> None:
    out = io.StringIO()
    sink = StdoutSink(StdoutFormat(partials=True, redraw=True), out)
    sink.publish(partial("욕조"))
    sink.publish(partial("욕조 에"))
    sink.publish(FINAL)
    assert out.getvalue() == "\r\x1b[K욕조\r\x1b[K욕조 에\r\x1b[K욕조 에 물을\n"


def test_pipe_gets_finals_only_unless_asked() -> None:
    out = io.StringIO()
    sink = StdoutSink(StdoutFormat(), out)
    sink.publish(partial("욕조"))
    sink.publish(FINAL)
    assert out.getvalue() == "욕조 에 물을\n"


def test_json_lines_carry_ids_times_words_and_latency() -> None:
    out = io.StringIO()
    sink = StdoutSink(StdoutFormat(json=True, partials=True), out, clock=lambda: NOW)
    sink.publish(partial("욕조", 12.345))
    sink.publish(FINAL)
    first, final = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {"type": "partial", "utterance": 3, "text": "욕조", "stable_words": 0, "latency_ms": 12.35}
    assert final["utterance"] == 3 and final["start"] == 0.39 and final["end"] == 1.17
    assert final["latency_ms"] == 20.0
    assert final["words"][1] == {"word": "에", "start": 0.78, "end": 0.9, "conf": 0.5}


def test_closed_pipe_calls_back_once_and_goes_quiet() -> None:
    calls = []
    out = io.StringIO()
    out.close()
    sink = StdoutSink(StdoutFormat(), out, on_closed=lambda: calls.append(1))
    sink.publish(FINAL)
    sink.publish(FINAL)
    assert calls == [1]


def test_long_partials_keep_their_tail_within_the_terminal_width() -> None:
    text = "가나다라마바사" * 10
    shown = fit_tail(text, 20)
    assert display_width(shown) < 20 and shown.startswith("…") and text.endswith(shown[1:])


def test_full_queue_counts_drops_and_never_blocks() -> None:
    q = BlockQueue(3)
    for i in range(5):
        q.put_nowait(i, b"xx")
    assert (q.blocks, q.drops, q.depth()) == (3, 2, 3)
    q.close()
    assert [q.get(0.1) for _ in range(3)] == [(0, b"xx"), (1, b"xx"), (2, b"xx")]
    try:
        q.get(0.1)
        raise AssertionError("expected EndOfStream")
    except EndOfStream:
        pass


def test_a_stalled_stdout_pipe_never_stalls_the_worker(transcriber: Transcriber, ko_dev: Path,
                                                      tmp_path: Path) -> None:
    """stdout into a real pipe that nobody reads (its buffer shrunk to one page): the worker
    decodes the whole file anyway; what does not fit is dropped and counted."""
    clips = [ko_dev / name for name in ("etts_adc00001.wav", "etts_kih00012.wav", "etts_kih00023.wav")]
    long = concat(clips * 2, tmp_path / "long.wav", 0.5)  # some 40 s: far more JSON than a page
    read_fd, write_fd = os.pipe()
    fcntl.fcntl(write_fd, 1031, 4096)  # F_SETPIPE_SZ
    stalled = QueuedSink(StdoutSink(StdoutFormat(json=True, partials=True), os.fdopen(write_fd, "w")),
                         max_events=4)
    inline = Collect()
    source = WavSource.open(long, realtime=False)
    controller = Controller(source, transcriber, Publisher([stalled, inline]), Settings(warmup=False))
    source.start()
    controller.start()
    finished = controller.worker.join(120)
    try:
        assert finished, "the worker finished the file while stdout was stuck"
        assert inline.finals() and inline.finals()[-1].text, "the other sinks got everything"
        assert stalled.drops > 0 and controller.stats()["sink_drops"] == stalled.drops
    finally:
        os.set_blocking(read_fd, False)
        while True:
            try:
                if not os.read(read_fd, 65536):
                    break
            except BlockingIOError:
                if not stalled.depth():
                    break
                time.sleep(0.01)
        stalled.close()
        os.close(read_fd)


def test_the_formatting_stage_rewrites_the_text_and_keeps_the_raw(transcriber: Transcriber,
                                                                  ko_dev: Path) -> None:
    sink = Collect()
    source = WavSource.open(ko_dev / "etts_kih00012.wav", realtime=False)
    formatter = Formatter([lambda text: text.replace(" ", ""), lambda text: f"<{text}>"])
    controller = Controller(source, transcriber, Publisher([sink]), Settings(warmup=False), formatter=formatter)
    source.start()
    controller.start()
    controller.worker.join(120)
    events = [e for _, e in sink.events]
    assert any(isinstance(e, Partial) for e in events) and sink.finals()
    for event in events:
        assert event.raw and " " in event.raw or isinstance(event, Partial)
        assert event.text == "<" + event.raw.replace(" ", "") + ">"
    final = sink.finals()[-1]
    assert [w.word for w in final.words] == final.raw.split(), "word timings stay the recognizer's"
