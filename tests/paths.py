"""Where the suite finds the project's bundled data and the shared evaluation sets."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SEED = DATA / "000_ecac3c3d765524ba.txt"
SHARED = ROOT.parent / "shared"
EVAL = SHARED / "eval"
