"""The stdout publisher's formats, and the bounded queue's drop counting."""

from __future__ import annotations

import io
import json

from stt_daemon.audio import BlockQueue, EndOfStream
from stt_daemon.events import Final, Partial, Word
from stt_daemon.settings import OutputSettings
from stt_daemon.stdout_sink import display_width, fit_tail, StdoutSink

FINAL = Final(3, "욕조 에 물을", 0.39, 1.17, (Word("욕조", 0.39, 0.78, 1.0), Word("에", 0.78, 0.9, 0.5),
                                             Word("물을", 0.9, 1.17, 0.25)), 0)


def test_terminal_redraws_the_partial_in_place_and_the_final_replaces_it() -> None:
    out = io.StringIO()
    sink = StdoutSink(OutputSettings(partials=True, redraw=True), out)
    sink.publish(Partial(3, "욕조", 0), 1.0)
    sink.publish(Partial(3, "욕조 에", 0), 1.0)
    sink.publish(FINAL, 1.0)
    assert out.getvalue() == "\r\x1b[K욕조\r\x1b[K욕조 에\r\x1b[K욕조 에 물을\n"


def test_pipe_gets_finals_only_unless_asked() -> None:
    out = io.StringIO()
    sink = StdoutSink(OutputSettings(), out)
    sink.publish(Partial(3, "욕조", 0), 1.0)
    sink.publish(FINAL, 1.0)
    assert out.getvalue() == "욕조 에 물을\n"


def test_json_lines_carry_ids_times_words_and_latency() -> None:
    out = io.StringIO()
    sink = StdoutSink(OutputSettings(json=True, partials=True), out)
    sink.publish(Partial(3, "욕조", 0), 12.345)
    sink.publish(FINAL, 20.0)
    partial, final = (json.loads(line) for line in out.getvalue().splitlines())
    assert partial == {"type": "partial", "utterance": 3, "text": "욕조", "latency_ms": 12.35}
    assert final["utterance"] == 3 and final["start"] == 0.39 and final["end"] == 1.17
    assert final["words"][1] == {"word": "에", "start": 0.78, "end": 0.9, "conf": 0.5}


def test_closed_pipe_calls_back_once_and_goes_quiet() -> None:
    calls = []
    out = io.StringIO()
    out.close()
    sink = StdoutSink(OutputSettings(), out, on_closed=lambda: calls.append(1))
    sink.publish(FINAL, 1.0)
    sink.publish(FINAL, 1.0)
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
