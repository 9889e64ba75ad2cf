"""Command line: parse arguments, build frozen settings, map errors to exit codes.

The only place that parses arguments, installs signal handlers or exits.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from stt_daemon import __version__
from stt_daemon.errors import SttError
from stt_daemon.daemon import DaemonSettings
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


def _install_stop_handlers(stop: threading.Event, reload: threading.Event | None = None) -> None:
    """First SIGINT/SIGTERM: ask for a clean stop. A second one: leave at once. SIGHUP: reload."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(128 + signum)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    if reload is not None:
        signal.signal(signal.SIGHUP, lambda signum, frame: reload.set())


def _stdout_closed(stop: threading.Event) -> Callable[[], None]:
    """A reader that went away (`| head -1`) ends the run cleanly, without a traceback at exit."""

    def closed() -> None:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        stop.set()

    return closed


def _output_settings(as_json: bool, partials: bool) -> OutputSettings:
    tty = sys.stdout.isatty()
    return OutputSettings(json=as_json, partials=partials or tty, redraw=tty and not as_json)




@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stt-daemon")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def cli(verbose: bool, quiet: bool) -> None:
    """Offline, real-time speech-to-text (Vosk). Transcripts on stdout, diagnostics on stderr."""
    _setup_logging(verbose, quiet)


_model_option = click.option("--model", "model_arg", metavar="PATH|NAME",
                             help="Vosk model folder, or the name of an installed model.")
_json_option = click.option("--json", "as_json", is_flag=True, help="JSON lines instead of text.")
_partials_option = click.option("--partials", is_flag=True,
                                help="Also print partials when stdout is not a terminal.")
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
        output = _output_settings(config["output"] == "json", config["partials"])
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
    _install_stop_handlers(stop, reloader.requested)
    run_daemon(reloader, stop, _stdout_closed(stop))


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
@_json_option
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
    _install_stop_handlers(stop)
    sink = StdoutSink(OutputSettings(json=as_json), on_closed=_stdout_closed(stop))
    label_files = as_json or len(infos) > 1

    def on_file(info: WavInfo) -> None:
        sink.label = str(info.path) if label_files else None

    from stt_daemon.models import load_timed, resolve_model

    transcribe_files(load_timed(resolve_model(model_arg), tuning), infos, AudioSettings(block_ms=block_ms), Publisher([sink]),
                     on_file, stop.is_set)


@cli.command()
@_json_option
@_partials_option
def subscribe(as_json: bool, partials: bool) -> None:
    """Print the transcripts of a running daemon; follows it across restarts."""
    from stt_daemon.daemon import run_main_loop
    from stt_daemon.dbus_client import Subscription
    from stt_daemon.stdout_sink import StdoutSink

    stop = threading.Event()
    _install_stop_handlers(stop)
    sink = StdoutSink(_output_settings(as_json, partials), on_closed=_stdout_closed(stop))

    def presence(present: bool) -> None:
        _LOGGER.info("daemon %s", "connected" if present else "gone; waiting for it to come back")

    subscription = Subscription(lambda event: sink.publish(event, None), presence)
    try:
        run_main_loop(stop)
    finally:
        subscription.close()


def _method_command(name: str, method: str, help_text: str) -> None:
    def command() -> None:
        from stt_daemon.dbus_client import call

        call(method)

    cli.command(name=name, help=help_text)(command)


_method_command("pause", "Pause", "Pause the running daemon: close the microphone, keep the model.")
_method_command("resume", "Resume", "Resume the running daemon.")
_method_command("finalize", "Finalize", "End the utterance in progress now and emit its final.")
_method_command("reset", "Reset", "Discard the utterance in progress.")


@cli.command()
@_json_option
def status(as_json: bool) -> None:
    """Show the running daemon's state, device, model and counters."""
    import json

    from stt_daemon.dbus_client import status as get_status

    info = get_status()
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
    else:
        for key, value in info.items():
            click.echo(f"{key}: {value}")


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


@cli.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """Models: the ones found (default), and list, download, import, remove."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(models_list)


_catalog_option = click.option("--catalog", "catalog_path", type=click.Path(path_type=Path), default=None,
                               help="Another catalog TOML (a mirror, say) instead of the bundled one.")


@models.command("list")
@_catalog_option
def models_list(catalog_path: Path | None) -> None:
    """The models found, in the order they are tried, then what the catalog offers."""
    from stt_daemon.catalog import load_catalog
    from stt_daemon.models import find_models, user_models_dir

    found = find_models()
    click.echo("installed (first one is used):" if found else f"installed: none (in {user_models_dir()}/)")
    for i, location in enumerate(found):
        click.echo(f"{'*' if i == 0 else ' '} {location.name}  {location.path}  ({location.origin})")
    names = {location.name for location in found}
    click.echo("catalog ('stt-daemon models download NAME'):")
    for entry in load_catalog(catalog_path).values():
        size = f"{entry.size / 2**20:.0f} MB" if entry.size else "size unknown"
        mark = "installed" if entry.name in names else ""
        click.echo(f"  {entry.name}  [{entry.language}, {size}] {mark}".rstrip())


class _Progress:
    """A bar on a terminal; otherwise a line at every 10 % (for journald and pipes)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._bar: Any = None
        self._seen = 0
        self._last_step = -1

    def __call__(self, done: int, total: int | None) -> None:
        if sys.stderr.isatty() and total:
            if self._bar is None:
                self._bar = click.progressbar(length=total, label=f"downloading {self._name}", file=sys.stderr)
                self._bar.__enter__()
            self._bar.update(done - self._seen)
            self._seen = done
            if done >= total:
                self._bar.__exit__(None, None, None)
            return
        step = done * 10 // total if total else done // (10 * 2**20)
        if step != self._last_step:
            self._last_step = step
            what = f"{done * 100 // total}% of {total / 2**20:.1f} MB" if total else f"{done / 2**20:.1f} MB"
            click.echo(f"downloading {self._name}: {what}", err=True)


@models.command("download")
@click.argument("name")
@_catalog_option
def models_download(name: str, catalog_path: Path | None) -> None:
    """Download a catalog model, verify its sha256, and install it."""
    from stt_daemon.catalog import load_catalog
    from stt_daemon.model_store import download
    from stt_daemon.models import user_models_dir

    catalog = load_catalog(catalog_path)
    if name not in catalog:
        raise SttError(f"no model {name!r} in the catalog; see 'stt-daemon models list'")
    entry = catalog[name]
    target, digest = download(entry, user_models_dir(), _Progress(name))
    click.echo(f"installed {name} in {target}")
    if not entry.sha256:
        click.echo(f"sha256 {digest} (no checksum is published for it; pinned for later downloads)")


@models.command("import")
@click.argument("archive", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--name", help="Folder name to install as (default: the archive's name).")
def models_import(archive: Path, name: str | None) -> None:
    """Install a model archive (.zip or .tar.gz) that is already on disk."""
    from stt_daemon.model_store import install_archive
    from stt_daemon.models import user_models_dir

    name = name or archive.name.split(".zip")[0].split(".tar")[0]
    click.echo(f"installed {name} in {install_archive(archive, name, user_models_dir())}")


@models.command("remove")
@click.argument("name")
def models_remove(name: str) -> None:
    """Remove a model from the user data dir."""
    from stt_daemon.model_store import remove
    from stt_daemon.models import user_models_dir

    click.echo(f"removed {remove(name, user_models_dir())}")


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
