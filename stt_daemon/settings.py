"""Every setting, declared once: type, default, range, help, the commands that take it,
and how a running daemon applies a change.

The click options, the ``$STT_DAEMON_*`` variables, the config.toml checks,
``config show`` and the reload diff are all derived from the fields of
``Settings``; nothing else lists the keys, so they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stt_daemon.errors import UsageError

#: Every block handed to the recognizer is 16 kHz mono signed 16-bit PCM.
SAMPLE_RATE = 16000
BYTES_PER_SAMPLE = 2


class Live(enum.Enum):
    """How a running daemon applies a new value (SIGHUP, D-Bus Reload)."""

    RESTART = "at the next start"
    SOURCE = "by opening the new audio source before closing the old one"
    ENGINE = "by building a new recognizer aside and swapping it in between utterances"
    WORKER = "by the worker, between two blocks"
    OUTPUT = "by the outputs, in order with the transcripts"


LIVE = frozenset({"listen", "serve"})
DICTATE = frozenset({"dictate"})
STDIN = Path("-")
DECODE = frozenset({"listen", "serve", "transcribe"})


@dataclass(frozen=True)
class Spec:
    help: str
    live: Live
    commands: frozenset[str]
    in_file: bool = True  # may also come from config.toml and $STT_DAEMON_<KEY>
    low: float | None = None
    high: float | None = None
    step: int | None = None  # the value must be a multiple of this
    choices: tuple[str, ...] = ()
    short: str | None = None
    metavar: str | None = None
    bare_value: Any = None  # the value of the option given without one (--stats)
    alias: tuple[str, Any] | None = None  # another flag that sets a value: ("--json", "json")

    def problem(self, value: Any) -> str | None:
        """Why ``value`` (already of the right type) is not acceptable, or None."""
        if value is None:
            return None
        if isinstance(value, dict):
            from stt_daemon.output.rules import check_rules

            try:
                check_rules(value)
            except ValueError as exc:
                return str(exc)
            return None
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            every = f"a multiple of {self.step} " if self.step else ""
            return f"must be {every}from {self.low:g} to {self.high:g}"
        if self.step and value % self.step:
            return f"must be a multiple of {self.step} from {self.low:g} to {self.high:g}"
        return None


def setting(default: Any, help: str, live: Live, commands: frozenset[str] = DECODE, **more: Any) -> Any:
    return dataclasses.field(default=default, metadata={"spec": Spec(help, live, commands, **more)})


@dataclass(frozen=True)
class Settings:
    """What one run of stt-daemon does. Construct with keywords; values are checked."""

    model: str | None = setting(
        None, "Vosk model folder, or the name of an installed model", Live.ENGINE, metavar="PATH|NAME")
    device: str | None = setting(
        None, "input device: index or part of its name (see 'stt-daemon devices')", Live.SOURCE, LIVE,
        short="-d")
    input: Path | None = setting(
        None, "read a WAV file instead of the microphone, paced like one; - reads standard input",
        Live.RESTART, LIVE, in_file=False, short="-i", metavar="FILE")
    raw: bool = setting(False, "with --input -: raw s16le 16 kHz mono audio, no WAV header", Live.RESTART,
                        LIVE, in_file=False)
    fast: bool = setting(False, "with --input: decode as fast as possible; with --input -, every block as it "
                         "comes, no catch-up (the same text on any machine)", Live.RESTART, LIVE, in_file=False)
    block_ms: int = setting(20, "audio block length in ms", Live.RESTART, low=10, high=500)
    latency_budget_ms: int = setting(
        50, "per-block budget in ms from capture to published result", Live.WORKER, LIVE, low=5, high=5000)
    endpoint_silence_ms: int | None = setting(
        None, "trailing silence in ms that ends an utterance (model default: 500)", Live.ENGINE,
        low=50, high=10000)
    sentence_end_silence_ms: int = setting(
        0, "trailing silence in ms that ends an utterance which already ends a sentence (Korean); "
        "0 turns the rule off", Live.WORKER, low=0, high=10000)
    # Both defaults chosen by scripts/benchmarks/tradeoff.py on held-out speech (README, Benchmarks).
    tuned_endpoints: bool = setting(
        True, "end utterances sooner by tuned engine rules (rule 2 after 0.1 s, rule 3 after 0.7 s; "
        "off: Vosk's own, 0.5 s and 1 s)", Live.ENGINE)
    fresh_utterances: bool = setting(
        True, "when the engine ends an utterance, decode all its audio and start the next afresh (off: "
        "Vosk carries its features over); measured 8-10 points lower CER, finals 55-130 ms later",
        Live.ENGINE)
    partial_interval_ms: int | None = setting(
        120, "Vosk's decoding chunk in ms: how often partials can change (Vosk's own is 240)", Live.ENGINE,
        LIVE, low=30, high=2000, step=10)
    output: str = setting("text", "stdout format", Live.OUTPUT, choices=("text", "json"),
                          alias=("--json", "json"))
    partials: bool = setting(False, "also print partials when stdout is not a terminal", Live.OUTPUT, LIVE)
    formatting: bool = setting(
        True, "write numbers, symbols and sentence case as text reads (the raw text stays available)",
        Live.WORKER)
    language: str | None = setting(
        None, "language of the speech, for formatting and spoken commands (default: the model's)",
        Live.WORKER, DECODE | DICTATE, metavar="CODE")
    digits: bool = setting(False, "English: write number words as digits", Live.WORKER)
    replace: dict[str, str] | None = setting(
        None, "config.toml table [replace]: a word, phrase or /regex/ -> the text to write instead",
        Live.WORKER, frozenset())
    stdout: bool = setting(False, "also print transcripts on stdout (serve; listen always does)", Live.RESTART,
                           frozenset({"serve"}))
    dbus: bool = setting(True, "publish on the D-Bus session bus too (listen; serve always does)", Live.RESTART,
                         frozenset({"listen"}))
    backend: str = setting("auto", "the tool that types (auto picks one for the session)", Live.RESTART,
                           DICTATE, choices=("auto", "xdotool", "wtype", "ydotool", "clipboard"))
    paste_keys: str = setting("ctrl+v", "the keys that paste into the window (terminals want ctrl+shift+v)",
                              Live.RESTART, DICTATE, metavar="KEYS")
    commands: dict[str, str] | None = setting(
        None, "config.toml table [commands]: a spoken phrase -> newline, paragraph, scratch, stop or text",
        Live.RESTART, frozenset())
    start_paused: bool = setting(
        False, "start with the microphone closed until asked (Resume, toggle, hold)", Live.RESTART, LIVE)
    warmup: bool = setting(True, "warm a new recognizer before it serves (a slow first utterance "
                           "without)", Live.RESTART, LIVE)
    silence_gate: bool = setting(True, "keep long silence away from the recognizer (idle CPU)",
                                 Live.RESTART)
    vad: str = setting("auto", "how speech is told from silence and noise: silero (a speech model), "
                       "energy (loudness), auto (silero where installed)", Live.RESTART,
                       choices=("auto", "silero", "energy"))
    recycle_after_s: float = setting(
        4 * 3600.0, "replace the recognizer after this much audio in s (it grows in memory)", Live.WORKER,
        LIVE, low=1, high=1e7)
    recycle_growth_mb: float = setting(
        250.0, "replace the recognizer once it grew this many MB beyond its level after 10 min of audio",
        Live.WORKER, LIVE, low=10, high=1e6)
    stats: float | None = setting(
        None, "print a latency summary on stderr every N s (5 when given alone)", Live.RESTART, LIVE,
        low=0.1, high=86400, bare_value=5.0, metavar="N")

    def __post_init__(self) -> None:
        for spec_field in dataclasses.fields(self):
            problem = spec_of(spec_field.name).problem(getattr(self, spec_field.name))
            if problem:
                raise UsageError(f"{option_name(spec_field.name)} {problem} "
                                 f"(got {getattr(self, spec_field.name)!r})")
        if self.raw and self.input != STDIN:
            raise UsageError("--raw describes audio on standard input: use it with --input -")
        if self.fast and self.input is None:
            raise UsageError("--fast reads a file or a pipe flat out: use it with --input FILE or --input -")

    @property
    def reads_stdin(self) -> bool:
        return self.input == STDIN

    @property
    def block_frames(self) -> int:
        return SAMPLE_RATE * self.block_ms // 1000

    def changed(self, other: Settings) -> dict[str, Live]:
        """The keys whose value differs in ``other``, each with how it applies live."""
        return {name: spec_of(name).live for name in names()
                if getattr(self, name) != getattr(other, name)}


def spec_of(name: str) -> Spec:
    spec: Spec = _fields()[name].metadata["spec"]
    return spec


def names() -> list[str]:
    return list(_fields())


def option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def env_name(name: str) -> str:
    return f"STT_DAEMON_{name.upper()}"


@functools.cache
def _fields() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(Settings)}


@functools.cache
def value_type(name: str) -> tuple[type, bool]:
    """(the type of a key's values, whether it may be unset), from the field's annotation."""
    hint = typing.get_type_hints(Settings)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args and typing.get_origin(args[0]) is dict:
        return dict, True
    if args:
        return args[0], True
    assert isinstance(hint, type)
    return hint, False


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
               Path: "a path string", dict: "a table of strings"}


def describe_type(name: str) -> str:
    return _TYPE_WORDS[value_type(name)[0]]


def coerce(name: str, value: Any) -> Any:
    """A value from TOML (or the command line) as the key's type; raises ValueError(reason)."""
    kind, _ = value_type(name)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif kind is Path and isinstance(value, str):
        value = Path(value).expanduser()
    wrong_table = isinstance(value, dict) and not all(isinstance(v, str) for pair in value.items() for v in pair)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)) or wrong_table:
        raise ValueError(f"must be {describe_type(name)}, not {value!r}")
    problem = spec_of(name).problem(value)
    if problem:
        raise ValueError(f"{problem} (got {value!r})")
    return value


def parse_text(name: str, raw: str) -> Any:
    """A value written as text ($STT_DAEMON_X); raises ValueError(reason)."""
    kind, _ = value_type(name)
    value: Any = raw
    if kind is dict:
        raise ValueError("is a table: set it in config.toml")
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError
            value = raw.lower() in ("1", "true", "yes", "on")
        elif kind is int:
            value = int(raw)
        elif kind is float:
            value = float(raw)
    except ValueError:
        raise ValueError(f"must be {describe_type(name)}, not {raw!r}") from None
    return coerce(name, value)
