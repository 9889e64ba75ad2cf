"""Installed models in the user data dir: download, import, list, remove.

An archive is checked entry by entry (no absolute paths, no '..', no links
out of the folder), unpacked into a hidden staging folder beside the target,
and renamed into place only once it holds a model: nothing half-installed.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from stt_daemon.asr.factory import is_model
from stt_daemon.errors import DownloadError, ModelError
from stt_daemon.files import write_file
from stt_daemon.models.catalog import CatalogEntry, pin_text, pins_path, read_pins
from stt_daemon.models.download import Progress, fetch, sha256_of

_LOGGER = logging.getLogger(__name__)


class UnsafeArchive(DownloadError):
    """An archive entry that would land outside the model folder."""


def _check_member(name: str, archive: Path) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchive(f"{archive}: entry {name!r} points outside the model folder; refusing it")


#: Tar extraction filters came with Python 3.11.4; Debian 12 ships 3.11.2, where the same
#: checks are made by hand (found by a newcomer run on the system Python, 2026-12-04).
_HAS_TAR_FILTERS = hasattr(tarfile, "data_filter")
_TAR_FILTER_ERRORS: tuple[type[Exception], ...] = (tarfile.FilterError,) if _HAS_TAR_FILTERS else ()


def _check_tar_link(member: tarfile.TarInfo, archive: Path) -> None:
    """What the "data" filter refuses, for Pythons without it: links that leave the folder,
    and anything but files, folders and links."""
    if member.issym() or member.islnk():
        base = posixpath.dirname(member.name) if member.issym() else ""
        target = posixpath.normpath(posixpath.join(base, member.linkname))
        if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
            raise UnsafeArchive(f"{archive}: link {member.name!r} points outside the model folder; refusing it")
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchive(f"{archive}: entry {member.name!r} is not a file or a folder; refusing it")


def safe_extract(archive: Path, dest: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _check_member(info.filename, archive)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise UnsafeArchive(f"{archive}: entry {info.filename!r} is a symlink; refusing it")
            zf.extractall(dest)
        return
    try:
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                _check_member(member.name, archive)
                if not _HAS_TAR_FILTERS:
                    _check_tar_link(member, archive)
            if _HAS_TAR_FILTERS:
                tf.extractall(dest, filter="data")  # also refuses links that leave dest
            else:
                tf.extractall(dest)  # every member was checked above
    except _TAR_FILTER_ERRORS as exc:
        raise UnsafeArchive(f"{archive}: {exc}; refusing it") from None
    except tarfile.ReadError:
        raise DownloadError(f"{archive}: not a zip or tar archive; check the file") from None


def _model_root(staging: Path) -> Path:
    """The folder with am/final.mdl: the staging dir itself or the one folder inside it."""
    if is_model(staging):
        return staging
    inner = [p for p in staging.iterdir() if p.is_dir()]
    if len(inner) == 1 and is_model(inner[0]):
        return inner[0]
    raise DownloadError("the archive holds no Vosk model (no am/final.mdl); check that it is a model")


def install_archive(archive: Path, name: str, models_dir: Path) -> Path:
    target = models_dir / name
    if target.exists():
        raise ModelError(f"model {name} is already installed at {target}; "
                       f"remove it first with 'stt-daemon models remove {name}'")
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.unpacking-", dir=models_dir))
    try:
        safe_extract(archive, staging)
        _model_root(staging).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def download(entry: CatalogEntry, models_dir: Path, progress: Progress) -> tuple[Path, str]:
    """Fetch, verify and install; returns (model folder, sha256). Pins unpublished checksums."""
    if (models_dir / entry.name).exists():
        raise ModelError(f"model {entry.name} is already installed; remove it first to download it again")
    part = models_dir / ".downloads" / f"{entry.name}.zip.part"
    try:
        fetch(entry.url, part, progress)
        target, digest = _verify_and_install(entry, part, models_dir)
    finally:
        _tidy(part)
    return target, digest


def _tidy(part: Path) -> None:
    """No empty .part and no empty .downloads folder stay behind; a partial download does
    (the next try resumes it)."""
    if part.exists() and part.stat().st_size == 0:
        part.unlink()
    try:
        part.parent.rmdir()
    except OSError:  # not empty, or gone
        pass


def _verify_and_install(entry: CatalogEntry, part: Path, models_dir: Path) -> tuple[Path, str]:
    digest = sha256_of(part)
    pins = read_pins(models_dir)
    expected = entry.sha256 or pins.get(entry.name, "")
    size = part.stat().st_size
    if expected and digest != expected:
        part.unlink()
        raise DownloadError(f"{entry.name}: sha256 mismatch (expected {expected}, got {digest}); "
                            "the download was deleted and nothing was installed")
    if entry.size is not None and size != entry.size:
        part.unlink()
        raise DownloadError(f"{entry.name}: {size} bytes, the catalog says {entry.size}; "
                            "the download was deleted and nothing was installed")
    try:
        target = install_archive(part, entry.name, models_dir)
    finally:
        part.unlink(missing_ok=True)
    if not entry.sha256 and entry.name not in pins:
        pins[entry.name] = digest
        write_file(pins_path(models_dir), pin_text(pins))
    return target, digest


def installed(models_dir: Path) -> list[Path]:
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and is_model(p))


def remove(name: str, models_dir: Path) -> Path:
    target = models_dir / name
    if "/" in name or name.startswith(".") or not target.is_dir():
        raise ModelError(f"no model {name!r} in {models_dir}; see 'stt-daemon models list'")
    if target.is_symlink():
        target.unlink()
    else:
        shutil.rmtree(target)
    return target
