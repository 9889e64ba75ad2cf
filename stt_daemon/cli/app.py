"""The click application: every command, and the one mapping from errors to exit codes.

Only the cli package parses arguments, installs signal handlers or exits.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from stt_daemon import __version__
from stt_daemon.cli.logs import setup_logging
from stt_daemon.errors import ExitCode, SttError

_LOGGER = logging.getLogger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stt-daemon")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def cli(verbose: bool, quiet: bool) -> None:
    """Offline, real-time speech-to-text (Vosk). Transcripts on stdout, diagnostics on stderr."""
    setup_logging(verbose, quiet)


def _verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        setup_logging(verbose=param.name == "verbose", quiet=param.name == "quiet")


def _with_global_options(command: click.Command) -> None:
    """-v and -q work after the command's name too (stt-daemon listen -q), in every command."""
    command.params += [
        click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, callback=_verbosity,
                     help="Debug logging on stderr."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_verbosity,
                     help="Only warnings and errors on stderr."),
    ]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_global_options(sub)


def _register() -> None:
    from stt_daemon.cli import batch, clients, config, dictate, live, models, system

    for module in (live, batch, config, system, clients, dictate, models):
        for command in module.COMMANDS:
            _with_global_options(command)
            cli.add_command(command)


_register()


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="stt-daemon", standalone_mode=False)
    except SttError as exc:
        _LOGGER.debug("user error", exc_info=True)
        priority = "<3>" if os.environ.get("JOURNAL_STREAM") else ""
        click.echo(f"{priority}stt-daemon: error: {exc}", err=True)
        return int(exc.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see 'stt-daemon {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else ""
        click.echo(f"stt-daemon: error: {exc.format_message()}{hint}", err=True)
        return ExitCode.USAGE
    except click.ClickException as exc:
        click.echo(f"stt-daemon: error: {exc.format_message()}", err=True)
        return ExitCode.USAGE
    except (click.Abort, KeyboardInterrupt):
        return 128 + 2
    except SystemExit as exc:
        if exc.code == 1 and _stdout_gone():  # click's answer to `| head`: a reader that left is no error
            return ExitCode.OK
        raise
    return ExitCode.OK


def _stdout_gone() -> bool:
    """Did the reader of stdout go away (EPIPE)? click then swaps stdout for a quiet wrapper."""
    return type(sys.stdout).__name__ == "_PacifyFlushWrapper"


def _leave(code: int) -> None:
    """Everything is written and every stream flushed by now, so leave without the interpreter's
    teardown: freeing a loaded model's half a gigabyte one object at a time takes a second or
    more, and a user who pressed Ctrl-C should not wait for it."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
