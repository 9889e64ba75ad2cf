"""`stt-daemon models ...`: list, download, import, remove. Arguments only; the work is in
models/store.py and models/download.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from stt_daemon.errors import ModelError


@click.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """Models: the ones found (default), and list, download, import, remove."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(models_list)


_catalog_option = click.option("--catalog", "catalog_path", type=click.Path(path_type=Path), default=None,
                               help="Another catalog TOML (a mirror, say) instead of the bundled one.")


@models.command("list")
@_catalog_option
@click.option("--installed", "only_installed", is_flag=True,
              help="Only the installed models, one per line (name, path); exit code 3 when there is none.")
def models_list(catalog_path: Path | None, only_installed: bool) -> None:
    """The models found, in the order they are tried, then what the catalog offers."""
    from stt_daemon.models.catalog import load_catalog
    from stt_daemon.models.locate import find_models, user_models_dir

    found = find_models()
    if only_installed:
        if not found:
            raise ModelError(f"no model installed (in {user_models_dir()}/ or as a Python package); "
                             "get one with 'stt-daemon models download vosk-model-small-en-us-0.15'")
        for location in found:
            click.echo(f"{location.name}\t{location.path}")
        return
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
    from stt_daemon.models.catalog import load_catalog
    from stt_daemon.models.store import download
    from stt_daemon.models.locate import user_models_dir

    catalog = load_catalog(catalog_path)
    if name not in catalog:
        raise ModelError(f"no model {name!r} in the catalog; see 'stt-daemon models list'")
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
    from stt_daemon.models.store import install_archive
    from stt_daemon.models.locate import user_models_dir

    name = name or archive.name.split(".zip")[0].split(".tar")[0]
    click.echo(f"installed {name} in {install_archive(archive, name, user_models_dir())}")


@models.command("remove")
@click.argument("name")
def models_remove(name: str) -> None:
    """Remove a model from the user data dir."""
    from stt_daemon.models.locate import find_models, user_models_dir
    from stt_daemon.models.store import remove

    for location in find_models():
        if location.name == name and location.origin != "user data dir":
            how = (f"{sys.executable} -m pip uninstall {name}" if location.origin.startswith("package")
                   else f"delete {location.path} yourself")
            raise ModelError(f"{name} was not installed by stt-daemon (it comes from {location.origin}, "
                             f"{location.path}); to remove it: {how}")
    click.echo(f"removed {remove(name, user_models_dir())}")


COMMANDS = [models]
