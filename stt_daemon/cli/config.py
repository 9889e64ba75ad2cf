"""`config show`: the effective configuration as a config.toml, with where each value came from."""

from __future__ import annotations

import click


@click.group(invoke_without_command=True)
@click.pass_context
def config(ctx: click.Context) -> None:
    """The effective configuration ('config show' when given alone)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(config_show)


@config.command("show")
@click.option("--toml", "bare", is_flag=True, help="Only the values: a config.toml to start from.")
def config_show(bare: bool) -> None:
    """Print each setting's value and where it came from, as valid TOML."""
    from stt_daemon.config import config_path, load, show

    effective = load({})
    click.echo(f"# {config_path()}")
    click.echo(show(effective, with_sources=not bare), nl=False)


COMMANDS = [config]
