"""Push-to-talk and typing, end to end on real parts.

A private virtual microphone (devkit.servers), a private session bus, a real daemon
(`stt-daemon serve --device pulse --start-paused`), a real X server (Xvfb) with a Tk text
widget holding the focus, and `stt-daemon dictate --backend xdotool` typing into it.

Each trial: Hold (gdbus), a ko-dev clip played into the microphone in real time, then the
hotkey's Release command. The clock starts when that command starts, as a hotkey's would:
    release_to_final_ms   Release command start -> Final signal received here
    release_to_typed_ms   Release command start -> the widget holds the last character
    final_to_typed_ms     Final received -> last character in the widget
Release is sent alternately by `stt-daemon release` and by the documented `gdbus call` line.
The widget reports its content every 10 ms, so typed times are late by up to 10 ms.

Typing speed per backend: one call of the backend's type_text on a sentence, from the
call to the widget (or, for wtype, a foot window on headless sway) holding all of it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devkit.servers import ROOT, private_bus, virtual_mic
from scripts.benchmarks.common import ko_files, percentiles
from tests.dbus_helpers import BUS_NAME, IFACE, PATH, SignalCollector, wait_for_name
from tests.desktop import text_widget, x_server

CLI = [sys.executable, "-m", "stt_daemon"]
STT_DAEMON = str(Path(sys.executable).with_name("stt-daemon"))
ASCII = "The quick brown fox jumps over the lazy dog, then types 12 more words without a pause. "
KOREAN = "흐느껴 울었다. 오늘은 날씨가 맑고 바람이 시원합니다. 내일 다시 만나요. "


def _gdbus(address: str, method: str) -> list[str]:
    return ["gdbus", "call", "--address", address, "--dest", BUS_NAME, "--object-path", PATH,
            "--method", f"{IFACE}.{method}"]


def _wait(check: Callable[[], bool], timeout_s: float, step_s: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(step_s)
    return True


def command_ms(argv: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    """Wall time of a whole command (process start to exit), p50/p95 over ``runs``."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=60)
        times.append(1000 * (time.monotonic() - t0))
    return percentiles(times)


def _push_to_talk(env: dict[str, str], address: str, clips: list[Path], display: str, folder: Path
                  ) -> dict[str, Any]:
    collector = SignalCollector(address)
    daemon = subprocess.Popen([*CLI, "serve", "--device", "pulse", "--start-paused"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dictate = subprocess.Popen([*CLI, "dictate", "--backend", "xdotool"], env={**env, "DISPLAY": display},
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows: dict[str, dict[str, list[float]]] = {
        how: {"release_to_final_ms": [], "release_to_typed_ms": [], "final_to_typed_ms": []}
        for how in ("stt_daemon_release", "gdbus_call")}
    skipped = {"final_before_release": 0, "not_typed": 0}
    cli_times: dict[str, Any] = {}
    try:
        wait_for_name(address, proc=None)
        with text_widget(display, folder) as widget:
            for i, clip in enumerate(clips):
                how = "stt_daemon_release" if i % 2 == 0 else "gdbus_call"
                seen = len(collector.events)
                subprocess.run(_gdbus(address, "Hold"), env=env, check=True, capture_output=True, timeout=30)
                subprocess.run(["paplay", "--device=vmic_out", str(clip)], env=env, check=True, timeout=60)
                before = widget.text()
                t0 = time.monotonic()
                release = [STT_DAEMON, "release"] if how == "stt_daemon_release" else _gdbus(address, "Release")
                subprocess.run(release, env=env, check=True, capture_output=True, timeout=30)
                got = _wait(lambda: any(name == "PropertiesChanged" and args[1].get("State") == "paused"
                                        for _, name, args in collector.events[seen:]), 30)
                finals = [(t, args) for t, name, args in collector.events[seen:] if name == "Final" and args[1]]
                early = [t for t, _ in finals if t < t0]
                if early or not got or not finals:
                    skipped["final_before_release"] += 1
                    time.sleep(0.5)
                    continue
                t_final = finals[-1][0]
                formatted = [args[1] for _, name, args in collector.events[seen:] if name == "Formatted"]
                expected = before + "".join(f"{text} " for text in formatted)
                if not _wait(lambda: widget.text() == expected, 10):
                    skipped["not_typed"] += 1
                    continue
                t_typed = time.monotonic()
                rows[how]["release_to_final_ms"].append(1000 * (t_final - t0))
                rows[how]["release_to_typed_ms"].append(1000 * (t_typed - t0))
                rows[how]["final_to_typed_ms"].append(1000 * (t_typed - t_final))
        repeats = 2 if len(clips) < 6 else 20
        cli_times = {"stt_daemon_release_ms": command_ms([STT_DAEMON, "release"], env, repeats),
                     "python_m_stt_daemon_release_ms": command_ms([*CLI, "release"], env, repeats),
                     "gdbus_call_release_ms": command_ms(_gdbus(address, "Release"), env, repeats)}
    finally:
        for proc in (dictate, daemon):
            proc.terminate()
            proc.wait(30)
        collector.close()
    out: dict[str, Any] = {how: {k: percentiles(v) for k, v in series.items()} for how, series in rows.items()}
    both = {k: rows["stt_daemon_release"][k] + rows["gdbus_call"][k] for k in rows["gdbus_call"]}
    out["both"] = {k: percentiles(v) for k, v in both.items()}
    out["skipped"] = skipped
    out["command_wall_time"] = cli_times
    return out


def _speed(type_text: Callable[[str], None], text: str, current: Callable[[], str], reset: Callable[[], None],
           runs: int) -> dict[str, Any]:
    """chars/s of ``type_text(text)`` until ``current()`` holds it; exact = arrived whole."""
    rates, exact = [], 0
    for _ in range(runs):
        reset()
        t0 = time.monotonic()
        type_text(text)
        ok = _wait(lambda: current().endswith(text), 10)
        elapsed = time.monotonic() - t0
        exact += ok
        if ok:
            rates.append(len(text) / elapsed)
    return {"chars": len(text), "runs": runs, "exact": exact,
            "chars_per_s_p50": round(statistics.median(rates), 1) if rates else None}


def typing_speed_x11(display: str, folder: Path, runs: int) -> dict[str, Any]:
    from stt_daemon.dictate.backends import Clipboard, Xdotool

    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    try:
        with text_widget(display, folder) as widget:
            def reset() -> None:  # the insertion point to the end: what is typed is appended
                subprocess.run(["xdotool", "key", "ctrl+End"], check=True, timeout=10)

            xdotool, clipboard = Xdotool(), Clipboard(wayland=False)
            return {"xdotool_ascii_typed": _speed(xdotool.type_text, ASCII, widget.text, reset, runs),
                    "xdotool_korean_pasted": _speed(xdotool.type_text, KOREAN, widget.text, reset, runs),
                    "clipboard_ascii_pasted": _speed(clipboard.type_text, ASCII, widget.text, reset, runs),
                    "clipboard_korean_pasted": _speed(clipboard.type_text, KOREAN, widget.text, reset, runs)}
    finally:
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old


def typing_speed_wayland(folder: Path, runs: int) -> dict[str, Any]:
    from devkit.wayland import recording_terminal, sway_session
    from stt_daemon.dictate.backends import Wtype

    with sway_session() as session, recording_terminal(session, folder) as recorder:
        saved = {k: os.environ.get(k) for k in session}
        os.environ.update(session)
        try:
            wtype = Wtype()
            return {"wtype_ascii_typed": _speed(wtype.type_text, ASCII, recorder.text, recorder.clear, runs),
                    "wtype_korean_typed": _speed(wtype.type_text, KOREAN, recorder.text, recorder.clear, runs)}
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def run(smoke: bool = False, folder: Path | None = None) -> dict[str, Any]:
    """The hotkey figures; ``smoke`` keeps it under a minute (2 push-to-talk trials)."""
    with tempfile.TemporaryDirectory() as scratch:
        where = Path(folder or scratch)
        for name in ("home", "config", "data", "run"):
            (where / name).mkdir(exist_ok=True)
        (where / "run").chmod(0o700)
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("PULSE_", "DBUS_", "XDG_", "STT_DAEMON_", "DISPLAY", "WAYLAND_"))}
        base.update(HOME=str(where / "home"), XDG_CONFIG_HOME=str(where / "config"),
                    XDG_DATA_HOME=str(where / "data"), XDG_RUNTIME_DIR=str(where / "run"), PYTHONUNBUFFERED="1")
        # Short single sentences: the key comes up as the speech ends.
        clips = ko_files(30)[:2] if smoke else ko_files(30)[:20]
        runs = 1 if smoke else 10
        out: dict[str, Any] = {"trials": len(clips)}
        t0 = time.monotonic()
        with virtual_mic() as pulse, private_bus() as (address, _), x_server() as display:
            env = {**base, **pulse, "DBUS_SESSION_BUS_ADDRESS": address}
            (where / "ptt").mkdir(exist_ok=True)
            out["push_to_talk"] = _push_to_talk(env, address, clips, display, where / "ptt")
            (where / "x11").mkdir(exist_ok=True)
            out["typing_x11"] = typing_speed_x11(display, where / "x11", runs)
        (where / "wl").mkdir(exist_ok=True)
        out["typing_wayland"] = typing_speed_wayland(where / "wl", runs)
        out["seconds"] = round(time.monotonic() - t0, 1)
        return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2, ensure_ascii=False))
