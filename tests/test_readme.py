"""The README says only what is true: its module map, its exit codes, its measured figures."""

from __future__ import annotations

import json
import re
from typing import Any

from stt_daemon.errors import ExitCode
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else len(README)]


def test_the_module_map_names_only_files_that_exist() -> None:
    table = section("How it works")
    package = ""
    named = 0
    for line in table.splitlines():
        row = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(row) < 3:
            continue
        if row[0].startswith("`") and row[0].endswith("/`"):
            package = row[0].strip("`")
        elif row[0] == "(top)":
            package = ""
        for module in re.findall(r"`([\w/]+\.py)`", row[1]):
            path = ROOT / "stt_daemon" / package / module
            assert path.is_file(), f"the README's module map names {package}{module}, which does not exist"
            named += 1
    modules = {p.relative_to(ROOT / "stt_daemon").as_posix() for p in (ROOT / "stt_daemon").rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py") or p.parent.name == "cli"}
    assert named >= len(modules) - 1, "and it names (nearly) every module"


def test_the_exit_code_table_is_the_one_in_the_code() -> None:
    rows = re.findall(r"^\| (\d+|128 \+ [a-z ]+) \| (.+?) \|$", section("Exit codes"), re.M)
    documented = {int(code) for code, _ in rows if code.isdigit()}
    assert documented == {int(code) for code in ExitCode}
    assert any(code.startswith("128") for code, _ in rows), "the second signal's code is documented"


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return []


def _at(document: Any, key: str) -> Any:
    for part in key.split("."):
        assert isinstance(document, dict) and part in document, f"no {key!r} in the bench JSON"
        document = document[part]
    return document


def test_every_benchmark_figure_in_the_readme_comes_from_the_committed_json() -> None:
    """Each table row names the JSON key its figures come from (its last column), under the
    file named above the table; every number in the row must be a value under that key."""
    bench = section("Benchmarks")
    current: Any = None
    checked = rows = 0
    for line in bench.splitlines():
        cited = re.search(r"`(bench/results/[\w.-]+\.json)`", line)
        if cited and not line.startswith("|"):
            current = json.loads((ROOT / cited.group(1)).read_text("utf-8"))
            assert current["smoke"] is False, f"{cited.group(1)} is a full run"
            continue
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set(cells[0]) <= {"-", " "} or cells[0] == "figure":
            continue
        assert current is not None, "a table comes after the line naming its JSON file"
        keys = re.findall(r"`([\w.]+)`", cells[-1])
        assert keys, f"the row {cells[0]!r} names its JSON key in its last column"
        measured = [n for key in keys for n in _numbers(_at(current, key))]
        rows += 1
        for cell in cells[1:-1]:  # the first column names the figure, the last the key
            for number in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", cell):
                decimals = len(number.split(".")[1]) if "." in number else 0
                value = float(number)
                assert any(round(m, decimals) == value for m in measured), \
                    f"{number} in the README's row {cells[0]!r} is not under {keys}"
                checked += 1
    assert rows >= 10 and checked >= 30, "the tables were found and read"
