"""Click options derived from the settings declaration, and the loading of the layers.

Each option defaults to None, so that what the command line does not say can
come from $STT_DAEMON_* or config.toml; the layers are merged by config.load.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from stt_daemon import settings
from stt_daemon.settings import Settings, Spec

F = TypeVar("F", bound=Callable[..., Any])


def _click_type(name: str, spec: Spec) -> Any:
    kind, _ = settings.value_type(name)
    if spec.choices:
        return click.Choice(spec.choices)
    if kind is Path:
        return click.Path(path_type=Path)
    return {int: click.INT, float: click.FLOAT, str: click.STRING}[kind]


def _options(name: str, spec: Spec) -> list[Callable[[F], F]]:
    kind, _ = settings.value_type(name)
    flag = settings.option_name(name)
    default = getattr(Settings(), name)
    shown = "" if default is None or kind is bool else f" (default {default})"
    help_text = spec.help[0].upper() + spec.help[1:] + shown + "."
    if kind is bool:
        negative = "--no-" + flag[2:]
        pair = f"{flag}/{negative}"
        return [click.option(pair, name, default=None, help=help_text)]
    decls = [flag, spec.short] if spec.short else [flag]
    extra: dict[str, Any] = {}
    if spec.bare_value is not None:
        extra = {"is_flag": False, "flag_value": spec.bare_value}
    options = [click.option(*decls, name, type=_click_type(name, spec), default=None, help=help_text,
                            metavar=spec.metavar, **extra)]
    if spec.alias is not None:
        alias, value = spec.alias
        options.append(click.option(alias, name, flag_value=value, default=None,
                                    help=f"Same as {flag} {value}."))
    return options


def setting_options(command: str) -> Callable[[F], F]:
    """Every option that ``command`` takes, in the declaration's order."""

    def decorate(func: F) -> F:
        for name in reversed(settings.names()):
            spec = settings.spec_of(name)
            if command in spec.commands:
                for option in reversed(_options(name, spec)):
                    func = option(func)
        return func

    return decorate


def settings_from(params: dict[str, Any]) -> Callable[[], Settings]:
    """A loader of the layers for the values the command line gave (the rest of ``params``
    is left alone); run again on every reload."""
    from stt_daemon.config import load

    given = {name: params.pop(name) for name in settings.names() if name in params}

    def load_settings() -> Settings:
        return load(given).settings

    return load_settings
