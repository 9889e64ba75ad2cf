"""Dictation into a real X11 text widget: exactly the daemon's finals as displayed, spoken
commands, and "scratch that" taking back exactly the last utterance."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from devkit.servers import private_bus
from stt_daemon.dictate.commands import Action, Commands
from stt_daemon.errors import ExitCode
from tests.conftest import CLI, ROOT, assert_one_line_error, run_cli, wait_for_line
from tests.dbus_helpers import SignalCollector
from tests.desktop import TextWidget
from tests.pipeline_helpers import concat

# Single sentences that the model closes with one final each.
CLIPS = ["etts_kih00012.wav", "etts_kih00023.wav", "etts_kih00033.wav", "etts_kih00098.wav", "etts_kih00055.wav"]


@pytest.fixture(scope="module")
def five(ko_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return concat([ko_dev / clip for clip in CLIPS], tmp_path_factory.mktemp("dictate") / "five.wav", 1.5)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, *args], env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def dictate_one_run(audio: Path, env: dict[str, str], address: str, backend: str = "xdotool",
                    says: str = "typing with xdotool") -> list[str]:
    """`dictate` first (until it ``says`` it is ready), then a daemon that reads ``audio``;
    returns the Formatted texts."""
    env = {**env, "DBUS_SESSION_BUS_ADDRESS": address}
    collector = SignalCollector(address)
    dictate = start(["dictate", "--backend", backend], env)
    try:
        assert dictate.stderr is not None
        wait_for_line(dictate.stderr, says, 60)
        wait_for_line(dictate.stderr, "waiting for the daemon", 60)
        daemon = start(["serve", "--fast", "--input", str(audio)], env)
        _, err = daemon.communicate(timeout=300)
        assert daemon.returncode == 0, err
        return [str(args[1]) for args in collector.wait_for("Formatted", len(CLIPS), 30)]
    finally:
        collector.close()
        dictate.send_signal(signal.SIGINT)
        _, err = dictate.communicate(timeout=30)
        assert dictate.returncode == 0 and "Traceback" not in err, err


def test_dictate_types_the_finals_exactly_then_obeys_spoken_commands(
        five: Path, clean_env: dict[str, str], desktop: tuple[str, TextWidget], tmp_path: Path) -> None:
    display, widget = desktop
    env = {**clean_env, "DISPLAY": display}
    learned = run_cli(["listen", "--no-dbus", "--fast", "--json", "--input", str(five)], clean_env)
    finals = [r["text"] for r in map(json.loads, learned.stdout.splitlines()) if r["type"] == "final"]
    assert len(finals) == len(CLIPS), finals

    with private_bus(tmp_path) as (address, _):
        published = dictate_one_run(five, env, address)
    assert published == finals
    expected = "".join(f"{text} " for text in finals)  # each final, then a space
    assert widget.wait_for(expected) == expected, "every final typed once, nothing lost or doubled"

    # The third sentence spoken becomes a line break, the fifth takes back the fourth.
    config = Path(clean_env["XDG_CONFIG_HOME"]) / "stt-daemon" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[commands]\n"{finals[2]}" = "newline"\n"{finals[4]}" = "scratch"\n')
    with private_bus() as (address, _):
        dictate_one_run(five, env, address)
    expected += f"{finals[0]} {finals[1]} \n"
    assert widget.wait_for(expected) == expected, "the line break typed, the fourth sentence taken back"


@pytest.mark.parametrize("text, actions", [
    ("hello comma world period", [Action("text", "hello, world.")]),
    ("first line new line second", [Action("text", "first line"), Action("newline"), Action("text", "second")]),
    ("done period new paragraph", [Action("text", "done."), Action("newline"), Action("newline")]),
    ("yes period and then", [Action("text", "yes. And then")]),
    ("Scratch that", [Action("scratch")]),
    ("stop listening", [Action("stop")]),
    ("please scratch that", [Action("text", "please scratch that")]),  # only as the whole utterance
])
def test_english_spoken_commands(text: str, actions: list[Action]) -> None:
    assert Commands("en").parse(text) == actions


def test_korean_spoken_commands_ignore_the_models_spacing() -> None:
    commands = Commands("ko", {"웃는 얼굴": ":)"})
    assert commands.parse("줄바꿈") == [Action("newline")]
    assert commands.parse("안녕 하세요 마침표 줄 바꿈") == [Action("text", "안녕 하세요."), Action("newline")]
    assert commands.parse("지워 줘") == [Action("scratch")]
    assert commands.parse("좋아요 웃는얼굴") == [Action("text", "좋아요:)")]


def test_dictate_without_its_tool_or_a_session_says_what_to_do(clean_env: dict[str, str], tmp_path: Path) -> None:
    no_session = run_cli(["dictate"], {**clean_env, "DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert_one_line_error(no_session, ExitCode.TOOL, "no desktop session to type into")
    bin_dir = tmp_path / "bin"  # a PATH with python but without xdotool
    bin_dir.mkdir()
    env = {**clean_env, "DISPLAY": ":99", "PATH": str(bin_dir)}
    missing = subprocess.run([*CLI, "dictate", "--backend", "xdotool"], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert_one_line_error(missing, ExitCode.TOOL, "xdotool is missing: install it with 'sudo apt-get install xdotool'")
    wrong = run_cli(["dictate", "--backend", "wtype"], {**clean_env, "DISPLAY": ":99", "WAYLAND_DISPLAY": ""})
    assert_one_line_error(wrong, ExitCode.TOOL, "$WAYLAND_DISPLAY is unset")


def test_dictate_keeps_typing_when_the_daemon_goes_away_and_comes_back(
        ko_dev: Path, clean_env: dict[str, str], desktop: tuple[str, TextWidget], tmp_path: Path) -> None:
    """One dictate, two daemons one after the other (a restart): the second one's utterance ids
    start again at 1, and its finals are typed all the same."""
    display, widget = desktop
    with private_bus(tmp_path) as (address, _):
        env = {**clean_env, "DISPLAY": display, "DBUS_SESSION_BUS_ADDRESS": address}
        collector = SignalCollector(address)
        dictate = start(["dictate", "--backend", "xdotool"], env)
        seen: list[str] = []
        try:
            assert dictate.stderr is not None
            wait_for_line(dictate.stderr, "waiting for the daemon", 60, seen)
            for run, clip in enumerate(CLIPS[:2], start=1):
                daemon = start(["serve", "--fast", "--input", str(ko_dev / clip)], env)
                _, err = daemon.communicate(timeout=300)
                assert daemon.returncode == 0, err
                texts = [str(args[1]) for args in collector.wait_for("Formatted", run, 30)]
                expected = "".join(f"{text} " for text in texts)
                assert widget.wait_for(expected) == expected, f"daemon {run}'s final typed"
                wait_for_line(dictate.stderr, "waiting for the daemon", 60, seen)  # it saw it go
        finally:
            collector.close()
            dictate.send_signal(signal.SIGINT)
            _, err = dictate.communicate(timeout=30)
    assert dictate.returncode == 0, err
    assert "Traceback" not in "".join(seen) + err


def test_dictate_with_a_bad_commands_table_says_where_in_one_line(clean_env: dict[str, str]) -> None:
    config = Path(clean_env["XDG_CONFIG_HOME"]) / "stt-daemon" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[commands]\n"next line" = 3\n')
    done = run_cli(["dictate", "--backend", "xdotool"], {**clean_env, "DISPLAY": ":99"})
    assert_one_line_error(done, ExitCode.USAGE, "config.toml")
    assert "commands" in done.stderr
