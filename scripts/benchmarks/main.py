"""Run the benchmark sections and print one JSON document (and save it with --save).

Every figure that claims a ratio is measured on both sides in the same run: the
daemon as shipped, with its real sinks, and a bare Vosk loop, reading the same audio
through the same kind of source, stamped at the same point. See each section's module.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devkit import bare
from devkit.servers import ROOT, private_bus, virtual_mic
from scripts.benchmarks import (cpu, dbus, detectors, endpointing, flood, floor, hotkeys, latency, noise, startup,
                                tradeoff, words)
from scripts.benchmarks.common import KO_DEV, corpus_wav, idle_inputs, ko_files, trimmed
from stt_daemon.asr.base import EngineOptions
from stt_daemon.asr.factory import load_transcriber
from stt_daemon.models.locate import ModelLocation, find_models
from stt_daemon.settings import Settings


class Context:
    def __init__(self, smoke: bool, folder: Path) -> None:
        self.smoke = smoke
        self.folder = folder
        self.location: ModelLocation = find_models()[0]
        # The daemon as shipped: its default decode chunk and endpoint rules.
        self.transcriber = load_transcriber(self.location.path, self.location.name,
                                            EngineOptions.from_settings(Settings()))
        self.bare_model = bare.load_model(self.location.path)

    def size(self, smoke: float, full: float) -> float:
        return smoke if self.smoke else full


def realtime(ctx: Context) -> dict[str, Any]:
    seconds = ctx.size(2, 20)
    out: dict[str, Any] = {"file_paced": latency.file_paced(ctx.transcriber, ctx.bare_model, ctx.folder, seconds)}
    with virtual_mic() as pulse:
        os.environ.update(pulse)
        try:
            out["virtual_mic"] = latency.virtual_mic(ctx.transcriber, ctx.bare_model, ctx.folder, seconds, pulse)
            inputs = idle_inputs(ctx.size(1, 20), ctx.folder)
            if ctx.smoke:
                inputs = {"silence": inputs["silence"]}
            out["idle"] = latency.idle(ctx.transcriber, ctx.bare_model, inputs, ctx.size(1, 12), pulse)
            out["capture_floor"] = noise.capture_floor(inputs, ctx.size(1, 12), pulse)
        finally:
            for key in pulse:
                os.environ.pop(key, None)
    return out


def words_section(ctx: Context) -> dict[str, Any]:
    """What the user sees, word by word, through the virtual microphone: the shipped defaults,
    and Vosk's own decode chunk and endpoint rules in the same daemon, against a bare loop."""
    configs: dict[str, dict[str, Any]] = {"default": {}}
    if not ctx.smoke:
        configs["vosk_chunk_and_rules"] = {"partial_interval_ms": None, "tuned_endpoints": False}
    with virtual_mic() as pulse:
        os.environ.update(pulse)
        try:
            return words.run(ctx.location, words.spread(int(ctx.size(1, 12))), ctx.folder, ctx.bare_model,
                             configs, pulse)
        finally:
            for key in pulse:
                os.environ.pop(key, None)


def floor_section(ctx: Context) -> dict[str, Any]:
    """Vosk's own lag with no compute time, at the smallest chunk the daemon accepts and at its default."""
    return floor.run(ctx.location, words.spread(int(ctx.size(1, 12))), (120,) if ctx.smoke else (30, 120))


def cpu_section(ctx: Context) -> dict[str, Any]:
    wav = corpus_wav(ctx.size(4, 60), ctx.folder)
    intervals = (240,) if ctx.smoke else (240, 120, 60)
    sides = ("daemon", "daemon_ungated") if ctx.smoke else tuple(cpu.SIDES)
    return {"real_time_factor": cpu.real_time_factor(wav, int(ctx.size(1, 3)), sides),
            "decode_chunk": cpu.decode_chunk(ctx.location.path, wav, intervals),
            "first_heavy_call": cpu.first_heavy_call(ctx.bare_model, ko_files(1)[0])}


def endpointing_section(ctx: Context) -> dict[str, Any]:
    silences = (None,) if ctx.smoke else (None, 200)
    return endpointing.run(ctx.location, ko_files(int(ctx.size(1, 20))), ctx.folder, silences)


def tradeoff_section(ctx: Context) -> dict[str, Any]:
    configs = {name: tradeoff.CONFIGS[name] for name in ("vosk_defaults", "sentence_rule_200ms")} if ctx.smoke \
        else tradeoff.CONFIGS
    return tradeoff.run(ctx.location, ko_files(int(ctx.size(6, 60))), references(), ctx.folder, ctx.bare_model,
                        configs)


def startup_section(ctx: Context) -> dict[str, Any]:
    clip = ko_files(1)[0]
    return {**startup.ready_and_memory(ctx.location.path, clip),
            "stop": startup.stop(corpus_wav(30, ctx.folder), int(ctx.size(1, 8)))}


def dbus_section(ctx: Context) -> dict[str, Any]:
    return dbus.run(ctx.transcriber, corpus_wav(ctx.size(4, 60), ctx.folder), many=int(ctx.size(2, 10)))


def references() -> dict[str, str]:
    lines = (KO_DEV / "transcripts.tsv").read_text("utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


def noise_section(ctx: Context) -> dict[str, Any]:
    return noise.run(ctx.transcriber, ctx.bare_model, ctx.folder, references(), ctx.smoke)


def detectors_section(ctx: Context) -> dict[str, Any]:
    return detectors.run(ctx.folder, ctx.smoke)


def flood_section(ctx: Context) -> dict[str, Any]:
    return flood.run(ctx.bare_model, trimmed(corpus_wav(30, ctx.folder), ctx.size(4, 30), ctx.folder), ctx.smoke)


def hotkeys_section(ctx: Context) -> dict[str, Any]:
    return hotkeys.run(smoke=ctx.smoke)


SECTIONS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "realtime": realtime, "words": words_section, "floor": floor_section, "cpu": cpu_section,
    "endpointing": endpointing_section,
    "tradeoff": tradeoff_section, "startup": startup_section, "dbus": dbus_section, "flood": flood_section,
    "noise": noise_section, "detectors": detectors_section, "hotkeys": hotkeys_section,
}


def machine() -> dict[str, Any]:
    return {"cpus": len(os.sched_getaffinity(0)), "arch": platform.machine(), "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that it all runs")
    parser.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))
    parser.add_argument("--save", nargs="?", const="", default=None, metavar="PATH",
                        help="also write the JSON to PATH (default bench/results/DATE-CPUScore-ARCH.json)")
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {list(SECTIONS)}")
    started = time.monotonic()
    report: dict[str, Any] = {"smoke": args.smoke, "date": datetime.date.today().isoformat(), "machine": machine()}
    with tempfile.TemporaryDirectory() as folder, private_bus() as (address, _):
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = address  # the daemon side publishes on it
        ctx = Context(args.smoke, Path(folder))
        report["model"] = ctx.location.name
        for name in chosen:
            t0 = time.monotonic()
            report[name] = SECTIONS[name](ctx)
            report[name]["section_seconds"] = round(time.monotonic() - t0, 1)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    sys.stdout.write(text)
    if args.save is not None:
        m = report["machine"]
        path = Path(args.save) if args.save else \
            ROOT / "bench" / "results" / f"{report['date']}-{m['cpus']}core-{m['arch']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        print(f"saved {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
