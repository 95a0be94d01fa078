"""wikiqa: answers to questions, quoted from an article corpus.

The public Python API. Everything a program needs is importable from here; the modules behind it
(``retrieval`` for storage, text analysis, the index and search; ``bot`` for the answering service
and its front ends) may change shape between versions. Names are loaded on first use, so
``import wikiqa`` costs nothing until one is touched::

    import wikiqa

    settings = wikiqa.load_settings()
    answer = wikiqa.Answerer(wikiqa.open_snapshot(settings)).answer("Who founded Lviv?")
    print(answer.answer)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.answer import Answer, Answerer, Quote
    from bot.conversation import Conversation
    from bot.corpus import open_snapshot, rebuild_index
    from bot.settings import Settings, load_settings
    from retrieval.errors import SnapshotError, SourceError, StoreError, WikiqaError
    from retrieval.index.build import build_snapshot
    from retrieval.index.live import LiveSnapshot
    from retrieval.index.publish import load_snapshot
    from retrieval.index.reader import Snapshot, SnapshotInfo
    from retrieval.search.hit import Hit
    from retrieval.search.searcher import Searcher
    from retrieval.storage.articles import ArticleStore
    from retrieval.storage.ingest import IngestReport, ingest_database, ingest_paths
    from retrieval.storage.records import ArticleRecord

# public name -> the module that defines it
_HOMES = {
    "Answer": "bot.answer",
    "Answerer": "bot.answer",
    "Quote": "bot.answer",
    "Conversation": "bot.conversation",
    "open_snapshot": "bot.corpus",
    "rebuild_index": "bot.corpus",
    "Settings": "bot.settings",
    "load_settings": "bot.settings",
    "WikiqaError": "retrieval.errors",
    "SourceError": "retrieval.errors",
    "StoreError": "retrieval.errors",
    "SnapshotError": "retrieval.errors",
    "build_snapshot": "retrieval.index.build",
    "LiveSnapshot": "retrieval.index.live",
    "load_snapshot": "retrieval.index.publish",
    "Snapshot": "retrieval.index.reader",
    "SnapshotInfo": "retrieval.index.reader",
    "Hit": "retrieval.search.hit",
    "Searcher": "retrieval.search.searcher",
    "ArticleStore": "retrieval.storage.articles",
    "ArticleRecord": "retrieval.storage.records",
    "IngestReport": "retrieval.storage.ingest",
    "ingest_database": "retrieval.storage.ingest",
    "ingest_paths": "retrieval.storage.ingest",
}

__all__ = [
    "Answer",
    "Answerer",
    "ArticleRecord",
    "ArticleStore",
    "Conversation",
    "Hit",
    "IngestReport",
    "LiveSnapshot",
    "Quote",
    "Searcher",
    "Settings",
    "Snapshot",
    "SnapshotError",
    "SnapshotInfo",
    "SourceError",
    "StoreError",
    "WikiqaError",
    "build_snapshot",
    "ingest_database",
    "ingest_paths",
    "load_settings",
    "load_snapshot",
    "open_snapshot",
    "rebuild_index",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'wikiqa' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
