"""D-Bus method calls under a budget, so that a client flooding the daemon cannot starve
the recognition worker.

Every call (methods and property reads alike) is dispatched by pydbus in Python on the
GLib main loop, holding the GIL; the worker needs the GIL between its Vosk calls, so
thousands of calls a second stretch its decode calls (issue 10 measured block p99
69-243 ms while 20 000 calls were served). Each sender gets a token bucket: a burst for
ordinary use (a hotkey, a status poll) goes through at once; beyond its rate a call is
answered later from a GLib timeout, in order, so the main loop stays free for other
clients and for signals. A sender with too many calls waiting gets an error at once,
which bounds the memory a flood can take.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydbus.registration import ObjectRegistration, ObjectWrapper

from stt_daemon.bus.names import INTERFACE

# Per sender; a dictation client makes a few calls a second. At 100 a flood (bench flood:
# four clients one call at a time, one with 3000 at once) took the event p99 from 45.6 /
# 47.8 ms alone to 57.9 / 61.8 ms; at 20, 52.0 / 56.1 ms (two runs each, by hand).
RATE_PER_S = 20.0
BURST = 40
MAX_WAITING = 200  # deferred calls per sender before new ones are refused: 10 s of them
BUSY_ERROR = f"{INTERFACE}.Error.Busy"


class _Sender:
    __slots__ = ("due_s", "waiting")

    def __init__(self, now: float) -> None:
        self.due_s = now  # when the sender's next call would be due at exactly the rate
        self.waiting = 0


class CallBudget:
    """Per sender, a burst of ``BURST`` calls, then ``rate_per_s`` (a token bucket in its
    virtual-scheduling form, so deferred calls keep their order). ``delay_s(sender)`` says
    how long a new call must wait (0: now), or None when too many of its calls wait."""

    def __init__(self, rate_per_s: float = RATE_PER_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = 1.0 / rate_per_s
        self._tolerance_s = (BURST - 1) * self._interval_s  # BURST calls at once, not one more
        self._clock = clock
        self._senders: dict[str, _Sender] = {}

    def delay_s(self, sender: str) -> float | None:
        now = self._clock()
        state = self._senders.get(sender)
        if state is None:
            if len(self._senders) > 4096:  # senders come and go: forget those with nothing waiting
                self._senders = {k: v for k, v in self._senders.items() if v.waiting}
            state = self._senders[sender] = _Sender(now)
        due = max(state.due_s, now)
        wait = due - self._tolerance_s - now
        if wait > 0 and state.waiting >= MAX_WAITING:
            return None
        state.due_s = due + self._interval_s
        if wait <= 0:
            return 0.0
        state.waiting += 1
        return wait

    def done_waiting(self, sender: str) -> None:
        state = self._senders.get(sender)
        if state is not None and state.waiting:
            state.waiting -= 1


class _BudgetedWrapper(ObjectWrapper):  # type: ignore[misc]
    """pydbus's dispatcher, with each call passed through the budget first."""

    def __init__(self, obj: object, interfaces: list[Any], budget: CallBudget) -> None:
        super().__init__(obj, interfaces)
        self.budget = budget

    def call_method(self, connection: Any, sender: str, *rest: Any) -> None:
        delay = self.budget.delay_s(sender)
        if delay == 0.0:
            super().call_method(connection, sender, *rest)
            return
        invocation = rest[-1]
        if delay is None:
            invocation.return_dbus_error(BUSY_ERROR, "too many calls waiting; slow down")
            return
        from gi.repository import GLib

        def later() -> bool:
            self.budget.done_waiting(sender)
            super(_BudgetedWrapper, self).call_method(connection, sender, *rest)
            return False

        GLib.timeout_add(max(1, int(delay * 1000)), later)


def register_budgeted(bus: Any, path: str, obj: object, xml: str, budget: CallBudget) -> Any:
    """What pydbus's ``bus.register_object`` does, with the budgeted dispatcher."""
    from gi.repository import Gio

    interfaces = list(Gio.DBusNodeInfo.new_for_xml(xml).interfaces)
    return ObjectRegistration(bus, path, interfaces, _BudgetedWrapper(obj, interfaces, budget), own_wrapper=True)
