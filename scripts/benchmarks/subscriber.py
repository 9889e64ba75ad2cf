"""One subscriber process for the D-Bus delivery benchmark: records when each signal arrived.

    python -m scripts.benchmarks.subscriber

Prints "ready" once subscribed. Then reads a number N from stdin: it leaves once it has
N signals (or after 20 s) and prints them as JSON: [type, utterance, text, monotonic ns].
A closed stdin (the bench died) makes it leave at once.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from stt_daemon.bus.client import Subscription
from stt_daemon.control.mainloop import MainLoop
from stt_daemon.events import Event


def main() -> None:
    loop = MainLoop()
    got: list[tuple[str, int, str, int]] = []
    want = [sys.maxsize]

    def on_event(event: Event) -> None:
        got.append((type(event).__name__, event.utterance, event.raw, time.monotonic_ns()))
        if len(got) >= want[0]:
            loop.request_stop()

    def presence(present: bool) -> None:
        print("ready", flush=True)

    def read_count() -> None:
        line = sys.stdin.readline()
        if not line.strip().isdigit():  # the bench is gone (stdin closed): leave now, never linger
            loop.request_stop()
            return
        want[0] = int(line)
        if len(got) >= want[0]:
            loop.request_stop()
        threading.Timer(20, loop.request_stop).start()

    subscription = Subscription(on_event, presence)
    threading.Thread(target=read_count, daemon=True).start()
    loop.run(lambda: True, glib=True)
    subscription.close()
    print(json.dumps(got), flush=True)


if __name__ == "__main__":
    main()
