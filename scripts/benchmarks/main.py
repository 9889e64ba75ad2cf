"""Run the benchmark sections and print one JSON document."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from scripts.benchmarks import dbus, realtime

SECTIONS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "realtime": realtime.run,
    "dbus": dbus.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that it all runs")
    parser.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {list(SECTIONS)}")
    started = time.monotonic()
    report: dict[str, Any] = {"smoke": args.smoke, "machine": {"cpus": _cpus(), "python": platform.python_version()}}
    for name in chosen:
        t0 = time.monotonic()
        report[name] = SECTIONS[name](args.smoke)
        report[name]["section_seconds"] = round(time.monotonic() - t0, 1)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
