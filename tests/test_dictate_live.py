"""`dictate --live` into a real X11 text widget (Xvfb, Tk, xdotool), fed by a real daemon on a
private bus that reads ko-dev speech paced like a microphone: the stable words are typed
while the utterance goes on, each final then leaves exactly its formatted text and a space,
and an utterance that ends without a final (Reset) takes its live text back."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from devkit.servers import private_bus
from devkit.textmetrics import corpus_cer
from stt_daemon.dictate.commands import Commands
from tests.conftest import CLI, ROOT, run_cli, wait_for_line
from tests.dbus_helpers import SignalCollector
from tests.desktop import TextWidget, text_widget, x_server
from tests.pipeline_helpers import concat, retracted_words

# Single sentences that the model closes with one final each (as in test_dictate.py).
CLIPS = ["etts_kih00012.wav", "etts_kih00023.wav", "etts_kih00033.wav"]
_LIVE = re.compile(r"utterance (\d+) live: (\d+) backspaces, (\d+) characters typed")
_FINAL = re.compile(r"utterance (\d+) final over (\d+) live characters")


@pytest.fixture(scope="module")
def three(ko_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return concat([ko_dev / clip for clip in CLIPS], tmp_path_factory.mktemp("live") / "three.wav", 1.5)


class Watch:
    """Every distinct content the widget shows, with the monotonic time it was first seen."""

    def __init__(self, widget: TextWidget) -> None:
        self.seen: list[tuple[float, str]] = []
        self._widget = widget
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = None
        while not self._done.is_set():
            text = self._widget.text()
            if text != last:
                self.seen.append((time.monotonic(), text))
                last = text
            time.sleep(0.01)

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, *args], env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def run_live(audio: Path, env: dict[str, str], address: str, widget: TextWidget,
             reset_after_live: bool = False) -> tuple[SignalCollector, Watch, str]:
    """`dictate -v --live`, then a daemon reading ``audio`` in real time. With
    ``reset_after_live``, the utterance in progress is discarded (`stt-daemon reset`) as soon as
    the widget shows its live text. Returns the signals, the widget's history and dictate's log."""
    env = {**env, "DBUS_SESSION_BUS_ADDRESS": address}
    collector = SignalCollector(address)
    watch = Watch(widget)
    dictate = start(["dictate", "-v", "--live", "--backend", "xdotool"], env)
    try:
        assert dictate.stderr is not None
        wait_for_line(dictate.stderr, "typing with xdotool", 60)
        wait_for_line(dictate.stderr, "waiting for the daemon", 60)
        daemon = start(["serve", "--input", str(audio)], env)
        if reset_after_live:
            deadline = time.monotonic() + 120
            while not widget.text() and daemon.poll() is None:
                assert time.monotonic() < deadline, "no live text came"
                time.sleep(0.01)
            done = run_cli(["reset"], env, timeout=30)
            assert done.returncode == 0, done.stderr
        _, err = daemon.communicate(timeout=300)
        assert daemon.returncode == 0, err
        time.sleep(1.0)  # the last signals reach dictate
    finally:
        dictate.send_signal(signal.SIGINT)
        _, log = dictate.communicate(timeout=30)
        collector.close()
        watch.stop()
    assert dictate.returncode == 0 and "Traceback" not in log, log
    return collector, watch, log


def finals_of(collector: SignalCollector) -> list[tuple[float, int, str]]:
    return [(t, int(args[0]), str(args[1])) for t, name, args in collector.events if name == "Formatted"]


def test_live_types_stable_words_before_the_final_then_exactly_the_finals(
        three: Path, clean_env: dict[str, str], desktop: tuple[str, TextWidget], tmp_path: Path) -> None:
    display, widget = desktop
    with private_bus(tmp_path) as (address, _):
        collector, watch, log = run_live(three, {**clean_env, "DISPLAY": display}, address, widget)
    finals = finals_of(collector)
    assert len(finals) == len(CLIPS), finals
    expected = "".join(f"{text} " for _, _, text in finals)
    assert widget.wait_for(expected) == expected, "exactly each final's text and a space"

    # The client's own log: live characters typed for an utterance before its final came.
    live = {int(m[1]) for m in _LIVE.finditer(log) if int(m[3]) > 0}
    over = {int(m[1]): int(m[2]) for m in _FINAL.finditer(log)}
    assert live, log
    assert any(over.get(utterance, 0) > 0 for utterance in live), "a final replaced live text"
    # What the widget itself held: for some utterance, text of its own before its final arrived.
    done = ""
    early = 0
    for arrived, _, text in finals:
        held = [shown[len(done):] for at, shown in watch.seen if at < arrived and shown.startswith(done)]
        early += any(held)
        done += text + " "
    print(f"\n{len(live)} of {len(finals)} utterances typed live; {early} seen in the widget before their "
          f"final; live characters the finals replaced: {over}")
    assert early >= 1, watch.seen
    # The stable words typed early were mostly what the final begins with (the widget still
    # holds exactly the finals, checked above), and the transcript never showed up in the log
    # at the default level (-v here: debug only). Three clips through the virtual microphone
    # are too few words for a rate, and on a loaded machine the catch-up decodes several blocks
    # in one call, which changes Vosk's text (4 of 17 once under CI's hog); the rate itself is
    # held by tests/test_stable.py on 30 clips read flat out, where it nearly repeats.
    retracted = stable_total = 0
    for _, utterance, text in finals:
        stables = [str(args[1]) for args in collector.of("Stable") if int(args[0]) == utterance]
        if stables and not Commands("ko").could_be_whole_command(stables[-1]):
            retracted += retracted_words(stables[-1], text)
            stable_total += len(stables[-1].split())
    assert stable_total > 0 and retracted <= stable_total // 3, (retracted, stable_total)
    for _, _, text in finals:
        assert text not in log


def test_live_text_of_an_utterance_that_gets_no_final_is_erased(
        three: Path, clean_env: dict[str, str], desktop: tuple[str, TextWidget], tmp_path: Path) -> None:
    display, widget = desktop
    with private_bus(tmp_path) as (address, _):
        collector, watch, log = run_live(three, {**clean_env, "DISPLAY": display}, address, widget,
                                         reset_after_live=True)
    finals = finals_of(collector)
    reset = min(int(args[0]) for args in collector.of("Stable"))
    assert reset not in {utterance for _, utterance, _ in finals}, "the first utterance was discarded"
    assert any(shown for _, shown in watch.seen[:5]), "its live text was on screen"
    expected = "".join(f"{text} " for _, _, text in finals)
    assert widget.wait_for(expected) == expected, "only the finals' texts: the live text was taken back"
    assert f"utterance {reset} ended without a final" in log


def test_scratch_that_takes_back_exactly_an_utterance_that_was_typed_live(
        three: Path, clean_env: dict[str, str], desktop: tuple[str, TextWidget], tmp_path: Path) -> None:
    """The third sentence is made the "scratch that" phrase: it takes back the second, which was
    typed live and then corrected by its final, and nothing of the first."""
    display, widget = desktop
    learned = run_cli(["listen", "--no-dbus", "--fast", "--json", "--input", str(three)], clean_env)
    texts = [r["text"] for r in map(json.loads, learned.stdout.splitlines()) if r["type"] == "final"]
    assert len(texts) == len(CLIPS), texts
    config = Path(clean_env["XDG_CONFIG_HOME"]) / "stt-daemon" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[commands]\n"{texts[2]}" = "scratch"\n')
    with private_bus(tmp_path) as (address, _):
        collector, watch, log = run_live(three, {**clean_env, "DISPLAY": display}, address, widget)
    # Paced in real time on a loaded machine, Vosk may space a word differently than when the
    # file was read flat out ("에서" / "에 서"); the spoken command ignores Korean spacing.
    heard = [text for _, _, text in finals_of(collector)]
    assert len(heard) == len(texts) and corpus_cer(list(zip(texts, heard))) <= 0.1, (heard, texts)
    if corpus_cer([(texts[2], heard[2])]) > 0:  # heard otherwise this time: no command, all three typed
        expected = "".join(f"{text} " for text in heard)
        assert widget.wait_for(expected) == expected, watch.seen
        return
    assert widget.wait_for(f"{heard[0]} ") == f"{heard[0]} ", watch.seen
    assert any(shown.startswith(f"{heard[0]} ") and len(shown) > len(heard[0]) + 1 for _, shown in watch.seen), \
        "the second sentence was on screen before it was taken back"


def test_an_utterance_whose_window_lost_the_focus_is_typed_no_further(
        three: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    """The focus moves to another window (xdotool windowfocus) as soon as the first utterance's
    live text shows: nothing more of that utterance is typed anywhere, and the next ones go to
    the window that has the focus when they begin."""
    with x_server() as display, text_widget(display, tmp_path, "other", keep_focus=False) as other, \
            text_widget(display, tmp_path, "widget", keep_focus=False) as widget:
        env = {**clean_env, "DISPLAY": display}
        found = subprocess.run(["xdotool", "search", "--name", "^other$"], env=env, capture_output=True,
                               text=True, timeout=30)
        other_id = found.stdout.split()[0]
        moved: list[str] = []

        def move_focus_on_live_text() -> None:
            deadline = time.monotonic() + 120
            while not widget.text() and time.monotonic() < deadline:
                time.sleep(0.005)
            subprocess.run(["xdotool", "windowfocus", "--sync", other_id], env=env, check=True, timeout=30)
            moved.append(widget.text())

        mover = threading.Thread(target=move_focus_on_live_text, daemon=True)
        mover.start()
        with private_bus(tmp_path) as (address, _):
            collector, watch, log = run_live(three, env, address, widget)
        mover.join(5)
        finals = [text for _, _, text in finals_of(collector)]
        assert len(finals) == len(CLIPS), finals
        rest = "".join(f"{text} " for text in finals[1:])
        assert other.wait_for(rest) == rest, "the later utterances, whole, where the focus was"
        assert moved and moved[0], "live text was on screen when the focus moved"
        left = widget.text()
        assert left == moved[0] or finals[0].startswith(left), (left, moved)
        assert left != f"{finals[0]} " and finals[0] not in other.text()
        assert "utterance 1 is no longer typed" in log or "utterance 1 was not typed" in log, log
