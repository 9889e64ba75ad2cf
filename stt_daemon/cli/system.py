"""`devices`, `install-service`, `uninstall-service`: the machine around the daemon."""

from __future__ import annotations

import click


@click.command("install-service")
@click.option("--dictate", is_flag=True, help="also the unit that types into the focused window")
def install_service(dictate: bool) -> None:
    """Install the systemd user unit and the D-Bus activation file for this install."""
    from stt_daemon.service.install import install

    for path in install(dictate=dictate):
        click.echo(f"wrote {path}")
    units = "stt-daemon stt-daemon-dictate" if dictate else "stt-daemon"
    click.echo(f"enable with: systemctl --user daemon-reload && systemctl --user enable --now {units}")


@click.command("uninstall-service")
def uninstall_service() -> None:
    """Remove what install-service wrote (stop the service first)."""
    from stt_daemon.service.install import uninstall

    removed = uninstall()
    for path in removed:
        click.echo(f"removed {path}")
    if not removed:
        click.echo("nothing to remove")


@click.command()
def devices() -> None:
    """List audio input devices."""
    from stt_daemon.audio.mic import list_input_devices

    found = list_input_devices()
    if not found:
        click.echo("no input devices found", err=True)
        return
    for d in found:
        mark = "*" if d.is_default else " "
        click.echo(f"{mark} {d.index:3d}  {d.name}  [{d.host_api}, {d.default_rate:.0f} Hz, "
                   f"{d.max_input_channels} ch]")


COMMANDS = [devices, install_service, uninstall_service]
