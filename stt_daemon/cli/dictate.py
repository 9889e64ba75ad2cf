"""`dictate`: type the daemon's finals into the focused window; `toggle`, `hold`, `release`:
the commands a hotkey binds (`gdbus call` does the same in a few ms; see the README)."""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from stt_daemon.cli.options import setting_options, settings_from

_LOGGER = logging.getLogger(__name__)


@click.command()
@setting_options("dictate")
@click.option("--live", is_flag=True,
              help="also type the stable words while the utterance goes on; the final corrects them")
def dictate(live: bool, **params: Any) -> None:
    """Type what the daemon hears into the focused window, with spoken commands.

    The daemon must run (or be startable by the bus); dictate follows it across restarts.
    Settings not given here come from $STT_DAEMON_* and config.toml ([commands] too).
    With --live, the words the daemon declares stable are typed as they come, and each final
    then replaces them with the fewest backspaces.
    """
    from stt_daemon.bus.client import Subscription, call, model_name
    from stt_daemon.control.mainloop import MainLoop
    from stt_daemon.dictate.backends import auto_choice, choose
    from stt_daemon.dictate.client import Dictation
    from stt_daemon.output.format import language_of

    settings = settings_from(params)()
    typer = choose(settings.backend, paste_keys=settings.paste_keys)
    session = "Wayland" if os.environ.get("WAYLAND_DISPLAY") else "X11"
    why = f"; {auto_choice()[1]}" if settings.backend == "auto" else ""
    _LOGGER.info("typing with %s (%s session, %s%s)", typer.name, session,
                 os.environ.get("XDG_CURRENT_DESKTOP") or "no desktop name", why)
    dictation = Dictation(typer, lambda: call("Pause"), settings.language, settings.commands, live=live)
    if live:
        _LOGGER.info("live: typing the stable words as they come")
    dictation.start()

    def presence(present: bool) -> None:
        if present:
            name = model_name()
            dictation.language(settings.language or language_of(name))
            _LOGGER.info("daemon connected (model %s)", name)
        else:
            _LOGGER.info("waiting for the daemon on the session bus")

    def on_signal(name: str, args: tuple[Any, ...]) -> None:
        if name == "Partial":
            dictation.began(int(args[0]))
        elif name == "Stable":
            dictation.stable(int(args[0]), str(args[1]))
        elif name == "Formatted":
            dictation.formatted(int(args[0]), str(args[1]))

    loop = MainLoop()
    loop.install_signal_handlers()
    signals = ("Partial", "Stable", "Formatted") if live else ("Partial", "Formatted")
    subscription = Subscription(lambda event: None, presence, on_signal, signals)
    try:
        loop.run(lambda: True, glib=True)
    finally:
        subscription.close()
        dictation.stop()
        loop.close()


@click.command()
def toggle() -> None:
    """Pause the daemon when it listens, resume it when paused; prints the new state."""
    from stt_daemon.bus.client import call

    click.echo(call("Toggle"))


@click.command()
def hold() -> None:
    """Push-to-talk, key down: start listening."""
    from stt_daemon.bus.client import call

    call("Hold")


@click.command()
def release() -> None:
    """Push-to-talk, key up: the final of what was said at once, then stop listening."""
    from stt_daemon.bus.client import call

    call("Release")


COMMANDS = [dictate, toggle, hold, release]
