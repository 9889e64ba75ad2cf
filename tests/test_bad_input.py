"""Each user error: one line on stderr that says what to do, a non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from stt_daemon.errors import ExitCode
from tests.conftest import assert_one_line_error, run_cli


def test_model_path_that_does_not_exist(ko_dev: Path, clean_env: dict[str, str]) -> None:
    done = run_cli(["transcribe", "--model", "/nonexistent/model", str(ko_dev / "etts_kih00023.wav")],
                   clean_env)
    assert_one_line_error(done, ExitCode.MODEL, "does not exist")


def test_folder_that_is_not_a_model(ko_dev: Path, clean_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "README").write_text("not a model")
    done = run_cli(["listen", "--model", str(tmp_path / "junk"), "--input", str(ko_dev / "etts_kih00023.wav")],
                   clean_env)
    assert_one_line_error(done, ExitCode.MODEL, "not a Vosk model")


def test_model_with_a_corrupt_file_reports_vosks_reason(ko_dev: Path, clean_env: dict[str, str],
                                                         tmp_path: Path, model_dir: Path) -> None:
    broken = tmp_path / "broken"
    for item in model_dir.iterdir():
        (broken / item.name).parent.mkdir(parents=True, exist_ok=True)
        (broken / item.name).symlink_to(item)
    (broken / "am").unlink()
    (broken / "am").mkdir()
    (broken / "am" / "final.mdl").write_bytes((model_dir / "am" / "final.mdl").read_bytes()[:4096])
    done = run_cli(["transcribe", "--model", str(broken), str(ko_dev / "etts_kih00023.wav")], clean_env)
    assert_one_line_error(done, ExitCode.MODEL, "cannot load model")


@pytest.mark.parametrize("command", ["transcribe", "listen"])
def test_text_file_passed_as_wav(clean_env: dict[str, str], tmp_path: Path, command: str) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("these are not audio samples\n" * 10)
    args = [command, str(notes)] if command == "transcribe" else [command, "--input", str(notes)]
    assert_one_line_error(run_cli(args, clean_env), ExitCode.AUDIO_FILE, "not a WAV file")


def test_missing_audio_file(clean_env: dict[str, str], tmp_path: Path) -> None:
    assert_one_line_error(run_cli(["transcribe", str(tmp_path / "nope.wav")], clean_env),
                          ExitCode.AUDIO_FILE, "no such file")


def test_unknown_device(clean_env: dict[str, str], virtual_mic: dict[str, str]) -> None:
    done = run_cli(["listen", "--device", "no-such-microphone"], {**clean_env, **virtual_mic})
    assert_one_line_error(done, ExitCode.DEVICE, "stt-daemon devices")


def test_unknown_model_name(clean_env: dict[str, str], ko_dev: Path) -> None:
    done = run_cli(["transcribe", "--model", "no-such-model-name", str(ko_dev / "etts_kih00023.wav")],
                   clean_env)
    assert_one_line_error(done, ExitCode.MODEL, "no model named 'no-such-model-name' is installed")


def test_bad_option_value_is_one_line(clean_env: dict[str, str]) -> None:
    assert_one_line_error(run_cli(["listen", "--block-ms", "7"], clean_env), ExitCode.USAGE, "--block-ms")


@pytest.mark.parametrize(("args", "named"), [(["--fast"], "--fast"), (["--raw"], "--raw")])
def test_an_option_that_needs_input_says_so_and_nothing_opens(clean_env: dict[str, str], args: list[str],
                                                              named: str) -> None:
    """Without --input, --fast was silently ignored and the microphone opened instead."""
    done = run_cli(["listen", *args], clean_env)
    assert_one_line_error(done, ExitCode.USAGE, named)
    assert "--input" in done.stderr and "microphone" not in done.stderr.lower()
