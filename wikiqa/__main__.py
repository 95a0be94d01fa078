"""``python -m wikiqa``: the command line, as the ``wikiqa`` command.

``-m`` puts the working folder first on the import path; when that folder is not the one wikiqa is
loaded from (a checkout), it is dropped, so a ``bot/`` or ``retrieval/`` package lying there is
never imported in place of wikiqa's own.
"""

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if sys.path and not sys.flags.safe_path and Path(sys.path[0] or os.getcwd()).resolve() != _ROOT:
    del sys.path[0]

from bot.cli import main  # noqa: E402 - after the import path is made safe

main()
