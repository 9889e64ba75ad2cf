"""`listen` and `serve`: the live pipeline until Ctrl-C or SIGTERM; SIGHUP reloads."""

from __future__ import annotations

from typing import Any

import click

from stt_daemon.cli.options import setting_options, settings_from


def _run(mode_name: str, params: dict[str, Any]) -> None:
    from stt_daemon.control.daemon import Daemon, Mode
    from stt_daemon.control.mainloop import MainLoop

    load_settings = settings_from(params)
    loop = MainLoop()
    loop.install_signal_handlers()
    try:
        Daemon(Mode(mode_name), load_settings, loop).run()
    finally:
        loop.close()


@click.command()
@setting_options("listen")
def listen(**params: Any) -> None:
    """Transcribe the microphone (or a WAV file) live until Ctrl-C.

    Also publishes on the D-Bus session bus when there is one. Settings not given here come
    from $STT_DAEMON_* variables, then ~/.config/stt-daemon/config.toml (see 'config show').
    """
    _run("listen", params)


@click.command()
@setting_options("serve")
def serve(**params: Any) -> None:
    """Run as a D-Bus service (org.sttdaemon.SttDaemon) until stopped. SIGHUP reloads the config."""
    _run("serve", params)


COMMANDS = [listen, serve]
