"""Dictation on Wayland: headless sway, a foot terminal recording every character it receives,
and `dictate --backend wtype` typing the finals of a daemon that serves a ko-dev WAV on a
private bus. The terminal must end up holding exactly the formatted finals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.wayland import Recorder, recording_terminal, sway_session
from devkit.servers import private_bus
from stt_daemon.dictate.backends import Wtype
from tests.conftest import run_cli
from tests.pipeline_helpers import concat
from tests.test_dictate import CLIPS, dictate_one_run


@pytest.fixture(scope="module")
def five(ko_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return concat([ko_dev / clip for clip in CLIPS], tmp_path_factory.mktemp("wayland") / "five.wav", 1.5)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[dict[str, str], Recorder]]:
    with sway_session() as session, recording_terminal(session, tmp_path) as recorder:
        yield session, recorder


def test_dictate_with_wtype_types_the_finals_exactly_into_a_wayland_window(
        five: Path, clean_env: dict[str, str], terminal: tuple[dict[str, str], Recorder]) -> None:
    session, recorder = terminal
    learned = run_cli(["listen", "--no-dbus", "--fast", "--json", "--input", str(five)], clean_env)
    finals = [r["text"] for r in map(json.loads, learned.stdout.splitlines()) if r["type"] == "final"]
    assert len(finals) == len(CLIPS), finals

    env = {**clean_env, **session, "DISPLAY": ""}
    with private_bus() as (address, _):
        published = dictate_one_run(five, env, address, "wtype", "typing with wtype (Wayland session")
    expected = "".join(f"{text} " for text in finals)  # each final, then a space
    assert recorder.wait_for(expected) == expected, "every final typed once, nothing lost or doubled"
    assert published == finals


def test_wtype_backend_types_korean_line_breaks_and_backspaces(terminal: tuple[dict[str, str], Recorder],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend's own calls, each a separate wtype run whose first keystroke must land."""
    session, recorder = terminal
    for key, value in session.items():
        monkeypatch.setenv(key, value)
    typer = Wtype()
    expected = ""
    for i in range(10):
        typer.type_text(f"흐느껴 울었다 {i}.")
        typer.newline()
        expected += f"흐느껴 울었다 {i}.\n"
        assert recorder.wait_for(expected, 10) == expected, f"call {i}"
    typer.backspace(3)
    assert recorder.wait_for(expected + "\x7f" * 3, 10) == expected + "\x7f" * 3, \
        "a raw tty receives each BackSpace as DEL"

