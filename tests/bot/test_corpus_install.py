"""The bundled corpus is found in a plain (non-editable) install, not only in the source tree."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.paths import ROOT


@pytest.mark.slow
def test_wheel_install_answers_from_its_packaged_sample_data(tmp_path: Path):
    """Install wikiqa with pip (no deps, no index) into a fresh virtualenv whose only link to the
    development environment is a .pth line for the dependencies, then ask from a folder far away
    from the checkout: the answer must come from site-packages/bot/sample_data. That folder holds
    a ``bot/`` package of its own, which ``python -m wikiqa`` must not run."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # dependencies from the dev environment; a plain path entry, so its editable-install hooks
    # (which would point back at the checkout) are not run
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    where = tmp_path / "elsewhere"
    (where / "bot").mkdir(parents=True)
    (where / "bot" / "__init__.py").write_text("raise SystemExit('the decoy bot package ran')\n")
    env = {"WIKIQA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    probe = subprocess.run(
        [str(python), "-P", "-c", "import bot.corpus as c; print(c.sample_data_dir())"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()) == site / "bot" / "sample_data"
    result = subprocess.run(
        [
            str(python),
            "-m",
            "wikiqa",
            "ask",
            "--json",
            "When was the Collective Security Treaty signed?",
        ],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("First run:")
    assert "May 15, 1992" in result.stdout
