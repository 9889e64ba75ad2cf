"""A client flooding the daemon with D-Bus calls is paced, others are still answered at once,
and a flood past the waiting limit gets one-line Busy errors (bus/throttle.py).

The daemon runs paused, so the figures here are the budget's alone; what a flood costs
the recognizer is measured by scripts/bench (its flood section), not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from devkit.servers import ROOT
from stt_daemon.bus.throttle import BURST, MAX_WAITING, RATE_PER_S, CallBudget
from tests.dbus_helpers import IFACE, dbus_send, start, stop, wait_for_name


def _flood(bus: dict[str, str], mode: str, amount: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "devkit.flood", mode, str(amount)], env=bus, cwd=ROOT,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(proc: subprocess.Popen[str], timeout_s: float) -> dict[str, object]:
    out, err = proc.communicate(timeout=timeout_s)
    assert proc.returncode == 0, err
    parsed: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return parsed


def test_a_flood_is_paced_others_are_answered_and_an_excess_gets_busy(bus: dict[str, str], ko_dev: Path) -> None:
    address = bus["DBUS_SESSION_BUS_ADDRESS"]
    daemon = start(["serve", "--start-paused", "--input", str(ko_dev / "etts_adc00001.wav")], bus)
    try:
        wait_for_name(address, proc=daemon)

        # One call at a time, as fast as the replies come: the burst, then the rate.
        paced = _result(_flood(bus, "sync", 3), 60)
        seconds = float(str(paced["seconds"]))
        assert paced["busy"] == paced["other"] == 0, paced
        calls = int(str(paced["ok"]))
        assert calls <= BURST + RATE_PER_S * seconds + 2, paced  # never faster than the budget
        assert calls >= BURST, paced  # the burst is served without delay

        # Far more calls than may wait: the excess is refused with a one-line error at once.
        flood = _flood(bus, "async", 3 * MAX_WAITING)
        assert flood.stdout is not None
        assert flood.stdout.readline().strip() == "sent"
        t0 = time.monotonic()
        other = dbus_send(address, f"{IFACE}.GetStats")  # another client, while about 10 s of calls wait
        answered_s = time.monotonic() - t0
        assert other.returncode == 0, other.stderr
        assert answered_s < 3.0, f"another client waited {answered_s:.1f} s behind the flood"
        flooded = _result(flood, 120)
        assert flooded["other"] == 0, flooded
        assert int(str(flooded["busy"])) >= MAX_WAITING, flooded
        assert int(str(flooded["ok"])) >= MAX_WAITING, flooded  # those that waited were answered
        message = str(flooded["busy_message"])
        assert "org.sttdaemon.SttDaemon1.Error.Busy" in message and "slow down" in message
        assert "\n" not in message and "Traceback" not in message
    finally:
        out, err = stop(daemon)
    assert daemon.returncode == 0, err
    assert "Traceback" not in err


def test_the_budget_keeps_order_and_forgives_an_idle_sender() -> None:
    """The budget's arithmetic on an injected clock (the test above drives the real one)."""
    now = [100.0]
    budget = CallBudget(rate_per_s=10, clock=lambda: now[0])
    assert [budget.delay_s("a") for _ in range(BURST)] == [0.0] * BURST
    waits = [budget.delay_s("a") or 0.0 for _ in range(3)]  # None (refused) would fail below
    assert waits == sorted(waits) and all(w > 0 for w in waits)
    assert abs(waits[0] - 0.1) < 1e-9
    assert budget.delay_s("b") == 0.0  # another sender has a budget of its own
    now[0] += 60.0  # a minute later the sender has its burst back
    for _ in range(3):
        budget.done_waiting("a")
    assert [budget.delay_s("a") for _ in range(BURST)] == [0.0] * BURST
