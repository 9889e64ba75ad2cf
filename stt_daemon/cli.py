"""Command line: parse arguments, build frozen settings, map errors to exit codes.

Only the cli*.py modules parse arguments, install signal handlers or exit.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from stt_daemon import __version__
from stt_daemon.cli_clients import client_commands
from stt_daemon.cli_common import install_stop_handlers, json_option, output_settings, stdout_closed
from stt_daemon.cli_models import models
from stt_daemon.daemon import DaemonSettings
from stt_daemon.errors import SttError
from stt_daemon.settings import AudioSettings, EngineSettings, OutputSettings
from stt_daemon.tuning import Tuning

_LOGGER = logging.getLogger(__name__)


class _JournalFormatter(logging.Formatter):
    """One line per event with sd-daemon(3) priority prefixes, which journald turns into
    levels; journald adds time and name itself."""

    _PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " | ")
        return f"<{self._PRIORITIES.get(record.levelno, 6)}>{text}"


def _setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "stt-daemon: %(message)s"
    if os.environ.get("JOURNAL_STREAM"):  # stderr is connected to journald
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s" if verbose else "%(message)s"))
    else:
        handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    from stt_daemon.vosk_backend import set_vosk_log_level

    set_vosk_log_level(verbose)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stt-daemon")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def cli(verbose: bool, quiet: bool) -> None:
    """Offline, real-time speech-to-text (Vosk). Transcripts on stdout, diagnostics on stderr."""
    _setup_logging(verbose, quiet)


_model_option = click.option("--model", "model_arg", metavar="PATH|NAME",
                             help="Vosk model folder, or the name of an installed model.")
_block_option = click.option("--block-ms", type=click.IntRange(10, 500), default=20, show_default=True,
                             help="Audio block length.")


_device_option = click.option("--device", "-d", help="Input device: index or part of its name (see 'devices').")
_input_option = click.option("--input", "-i", "input_file", type=click.Path(path_type=Path),
                             help="Read a WAV file instead of the microphone, paced in real time.")
_fast_option = click.option("--fast", is_flag=True, help="With --input: decode as fast as possible.")


def _live_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by listen and serve. Config-file keys default to None here, so that
    what the command line did not say can come from the environment or config.toml."""
    options = [
        _device_option, _model_option, _input_option, _fast_option,
        click.option("--json", "as_json", is_flag=True, default=None, help="JSON lines instead of text."),
        click.option("--partials", is_flag=True, default=None,
                     help="Also print partials when stdout is not a terminal."),
        click.option("--block-ms", type=int, default=None, help="Audio block length (default 20)."),
        click.option("--latency-budget-ms", type=int, default=None,
                     help="Per-block budget from capture to published result (default 50)."),
        click.option("--endpoint-silence-ms", type=int, default=None,
                     help="Trailing silence before a final (model default: 500)."),
        click.option("--partial-interval-ms", type=int, default=None,
                     help="How often Vosk decodes, so how often partials can change (default 240)."),
        click.option("--stats", "stats_interval_s", type=float, default=None, is_flag=False, flag_value=5.0,
                     help="Print a latency summary line on stderr every N seconds (default 5)."),
        click.option("--no-warmup", is_flag=True, help="Skip warming the recognizer (faster start, "
                     "a slow first utterance)."),
        click.option("--recycle-after-s", type=click.FloatRange(1), default=4 * 3600, show_default=True,
                     help="Replace the recognizer after this much audio (it grows in memory)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _settings_builder(mode: str, cli_values: dict[str, Any], extra: dict[str, Any]) -> Callable[[], DaemonSettings]:
    """Config layers -> DaemonSettings; called at start and again on every reload."""
    from stt_daemon.config import load

    def build() -> DaemonSettings:
        config = load(cli_values)
        audio = AudioSettings(device=config["device"], input_file=extra["input_file"],
                              block_ms=config["block_ms"], realtime=not extra["fast"])
        output = output_settings(config["output"] == "json", config["partials"])
        engine = EngineSettings(latency_budget_ms=config["latency_budget_ms"], warm_up=not extra["no_warmup"],
                                recycle_after_s=extra["recycle_after_s"],
                                stats_interval_s=extra["stats_interval_s"],
                                endpoint_silence_ms=config["endpoint_silence_ms"])
        tuning = Tuning(config["endpoint_silence_ms"], config["partial_interval_ms"])
        if mode == "serve":
            return DaemonSettings(audio, config["model"], output if extra["to_stdout"] else None, "required",
                                  engine, tuning)
        return DaemonSettings(audio, config["model"], output, "optional" if config["dbus"] else "off",
                              engine, tuning)

    return build


def _run_live(mode: str, params: dict[str, Any]) -> None:
    from stt_daemon.config import KEYS
    from stt_daemon.daemon import Reloader, run_daemon

    renamed = {"model_arg": "model"}
    cli_values = {renamed.get(k, k): v for k, v in params.items() if renamed.get(k, k) in KEYS}
    if params.pop("as_json", None):
        cli_values["output"] = "json"
    if params.pop("no_dbus", False):
        cli_values["dbus"] = False
    build = _settings_builder(mode, cli_values, params)
    reloader = Reloader(build, build())
    stop = threading.Event()
    install_stop_handlers(stop, reloader.requested)
    run_daemon(reloader, stop, stdout_closed(stop))


@cli.command()
@_live_options
@click.option("--no-dbus", is_flag=True, help="Do not publish on the D-Bus session bus.")
def listen(**params: Any) -> None:
    """Transcribe the microphone (or a WAV file) live until Ctrl-C.

    Also publishes on the D-Bus session bus when there is one. Settings not given here come
    from $STT_DAEMON_* variables, then ~/.config/stt-daemon/config.toml (see 'config show').
    """
    _run_live("listen", params)


@cli.command()
@_live_options
@click.option("--stdout", "to_stdout", is_flag=True, help="Also print transcripts on stdout.")
def serve(**params: Any) -> None:
    """Run as a D-Bus service (org.sttdaemon.SttDaemon) until stopped. SIGHUP reloads the config."""
    _run_live("serve", params)


@cli.group()
def config() -> None:
    """The effective configuration."""


@config.command("show")
def config_show() -> None:
    """Print each setting, its value, and where it came from."""
    from stt_daemon.config import config_path, load

    effective = load({})
    click.echo(f"# {config_path()}")
    for key, value in effective.values.items():
        shown = "(unset)" if value is None else value
        click.echo(f"{key} = {shown}    # {effective.sources[key]}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_model_option
@json_option
@_block_option
@click.option("--endpoint-silence-ms", type=int, default=None, help="Trailing silence before a final.")
def transcribe(files: tuple[Path, ...], model_arg: str | None, as_json: bool, block_ms: int,
               endpoint_silence_ms: int | None) -> None:
    """Transcribe WAV files as fast as possible, loading the model once."""
    from stt_daemon.publish import Publisher
    from stt_daemon.stdout_sink import StdoutSink
    from stt_daemon.transcribe import check_files, transcribe_files
    from stt_daemon.wavfile import WavInfo

    tuning = Tuning(endpoint_silence_ms)
    infos = check_files(files)
    stop = threading.Event()
    install_stop_handlers(stop)
    sink = StdoutSink(OutputSettings(json=as_json), on_closed=stdout_closed(stop))
    label_files = as_json or len(infos) > 1

    def on_file(info: WavInfo) -> None:
        sink.label = str(info.path) if label_files else None

    from stt_daemon.models import load_timed, resolve_model

    transcribe_files(load_timed(resolve_model(model_arg), tuning), infos, AudioSettings(block_ms=block_ms), Publisher([sink]),
                     on_file, stop.is_set)


@cli.command("install-service")
def install_service() -> None:
    """Install the systemd user unit and the D-Bus activation file for this install."""
    from stt_daemon.service import install

    for path in install():
        click.echo(f"wrote {path}")
    click.echo("enable it with: systemctl --user daemon-reload && systemctl --user enable --now stt-daemon")


@cli.command("uninstall-service")
def uninstall_service() -> None:
    """Remove what install-service wrote (stop the service first)."""
    from stt_daemon.service import uninstall

    removed = uninstall()
    for path in removed:
        click.echo(f"removed {path}")
    if not removed:
        click.echo("nothing to remove")


@cli.command()
def devices() -> None:
    """List audio input devices."""
    from stt_daemon.mic import list_input_devices

    found = list_input_devices()
    if not found:
        click.echo("no input devices found", err=True)
        return
    for d in found:
        mark = "*" if d.is_default else " "
        click.echo(f"{mark} {d.index:3d}  {d.name}  [{d.host_api}, {d.default_rate:.0f} Hz, "
                   f"{d.max_input_channels} ch]")


cli.add_command(models)
for _command in client_commands():
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr and a non-zero code for anything the user can fix."""
    try:
        cli.main(args=argv, prog_name="stt-daemon", standalone_mode=False)
    except SttError as exc:
        _LOGGER.debug("user error", exc_info=True)
        priority = "<3>" if os.environ.get("JOURNAL_STREAM") else ""
        click.echo(f"{priority}stt-daemon: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see 'stt-daemon {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else ""
        click.echo(f"stt-daemon: error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"stt-daemon: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        sys.exit(130)
    sys.exit(0)
