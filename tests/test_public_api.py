"""``import wikiqa``: every public name resolves, and the README's Python example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import wikiqa
from tests.paths import ROOT


def readme_example() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Use it from Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Python section has no example"
    return match.group(1)


def test_every_public_name_resolves_and_only_those_are_listed() -> None:
    for name in wikiqa.__all__:
        assert getattr(wikiqa, name) is not None, name
    assert sorted(wikiqa.__all__) == wikiqa.__all__
    assert set(wikiqa.__all__) <= set(dir(wikiqa))


def test_importing_wikiqa_loads_nothing_heavy_until_a_name_is_used() -> None:
    code = "import sys, wikiqa; print(any(m in sys.modules for m in ('sqlalchemy', 'numpy', 'telegram')))"
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_readme_example_answers_from_the_sample_corpus(tmp_path: Path) -> None:
    env = {**os.environ, "WIKIQA_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-P", "-c", readme_example()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "May 15, 1992" in lines[0]
    assert lines[1].split(": ", 1)[1].startswith("https://uk.wikipedia.org/wiki/")
    assert re.fullmatch(r"\d+\.\d+ \S+", lines[-1])
