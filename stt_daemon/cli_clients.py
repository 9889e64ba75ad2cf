"""Commands that talk to a running daemon over D-Bus: subscribe, status, pause, resume..."""

from __future__ import annotations

import logging
import threading

import click

from stt_daemon.cli_common import install_stop_handlers, json_option, output_settings, partials_option, stdout_closed

_LOGGER = logging.getLogger(__name__)


@click.command()
@json_option
@partials_option
def subscribe(as_json: bool, partials: bool) -> None:
    """Print the transcripts of a running daemon; follows it across restarts."""
    from stt_daemon.daemon import run_main_loop
    from stt_daemon.dbus_client import Subscription
    from stt_daemon.stdout_sink import StdoutSink

    stop = threading.Event()
    install_stop_handlers(stop)
    sink = StdoutSink(output_settings(as_json, partials), on_closed=stdout_closed(stop))

    def presence(present: bool) -> None:
        _LOGGER.info("daemon %s", "connected" if present else "gone; waiting for it to come back")

    subscription = Subscription(lambda event: sink.publish(event, None), presence)
    try:
        run_main_loop(stop)
    finally:
        subscription.close()


def _method_command(name: str, method: str, help_text: str) -> click.Command:
    def command() -> None:
        from stt_daemon.dbus_client import call

        call(method)

    return click.command(name=name, help=help_text)(command)


@click.command()
@json_option
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


def client_commands() -> list[click.Command]:
    return [
        subscribe, status,
        _method_command("pause", "Pause", "Pause the running daemon: close the microphone, keep the model."),
        _method_command("resume", "Resume", "Resume the running daemon."),
        _method_command("finalize", "Finalize", "End the utterance in progress now and emit its final."),
        _method_command("reset", "Reset", "Discard the utterance in progress."),
    ]
