"""Commands that talk to a running daemon over D-Bus: subscribe, status, pause, resume..."""

from __future__ import annotations

import logging

import click

json_option = click.option("--json", "as_json", is_flag=True, help="JSON lines instead of text.")
partials_option = click.option("--partials", is_flag=True,
                               help="Also print partials when stdout is not a terminal.")

_LOGGER = logging.getLogger(__name__)


@click.command()
@json_option
@partials_option
def subscribe(as_json: bool, partials: bool) -> None:
    """Print the transcripts of a running daemon; follows it across restarts."""
    from stt_daemon.bus.client import Subscription
    from stt_daemon.control.mainloop import MainLoop
    from stt_daemon.output.stdout import StdoutFormat, StdoutSink

    loop = MainLoop()
    loop.install_signal_handlers()
    sink = StdoutSink(StdoutFormat.for_stdout(as_json, partials), on_closed=loop.request_stop)

    seen: list[bool] = []

    def presence(present: bool) -> None:
        """The first call also means subscribed: the bus has our match rules by then."""
        if present:
            _LOGGER.info("daemon connected")
        else:
            _LOGGER.info("daemon gone; waiting for it to come back" if seen else
                         "no daemon yet; waiting for one on the session bus")
        seen.append(present)

    subscription = Subscription(sink.publish, presence)
    try:
        loop.run(lambda: True, glib=True)
    finally:
        subscription.close()
        loop.close()


def _method_command(name: str, method: str, help_text: str) -> click.Command:
    def command() -> None:
        from stt_daemon.bus.client import call

        call(method)

    return click.command(name=name, help=help_text)(command)


@click.command()
@json_option
def status(as_json: bool) -> None:
    """Show the running daemon's state, device, model and counters."""
    import json

    from stt_daemon.bus.client import status as get_status

    info = get_status()
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
    else:
        for key, value in info.items():
            click.echo(f"{key}: {value}")


COMMANDS = [
    subscribe, status,
    _method_command("pause", "Pause", "Pause the running daemon: close the microphone, keep the model."),
    _method_command("resume", "Resume", "Resume the running daemon."),
    _method_command("finalize", "Finalize", "End the utterance in progress now and emit its final."),
    _method_command("reset", "Reset", "Discard the utterance in progress."),
]
