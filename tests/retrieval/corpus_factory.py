"""Small seeded corpora for the index and snapshot tests (a Zipf-like vocabulary of real words)."""

from __future__ import annotations

import random
from pathlib import Path

from retrieval.index.build import build_snapshot
from retrieval.index.publish import load_snapshot
from retrieval.index.reader import Snapshot
from retrieval.storage.articles import ArticleStore, StoredArticle
from retrieval.storage.records import ArticleRecord

WORDS = tuple(
    [
        "treaty",
        "security",
        "organization",
        "river",
        "capital",
        "city",
        "population",
        "war",
        "peace",
        "army",
        "country",
        "border",
        "election",
        "president",
        "parliament",
        "law",
        "court",
        "church",
        "school",
        "university",
        "museum",
        "bridge",
        "castle",
        "mountain",
        "lake",
        "forest",
        "village",
        "festival",
        "music",
        "painter",
        "poet",
        "novel",
        "theatre",
        "railway",
        "station",
        "airport",
        "harbour",
        "ship",
        "bank",
        "market",
        "trade",
        "coal",
        "iron",
        "steel",
        "grain",
        "wheat",
        "sugar",
        "cotton",
        "oil",
        "gas",
        "independence",
        "revolution",
        "empire",
        "kingdom",
        "republic",
        "union",
        "council",
        "ministry",
        "agreement",
        "signed",
        "founded",
        "built",
        "destroyed",
        "restored",
        "elected",
        "appointed",
        "born",
        "died",
        "famous",
        "ancient",
        "modern",
        "northern",
        "southern",
        "eastern",
        "western",
        "large",
        "small",
        "old",
        "new",
        "first",
        "second",
        "third",
        "last",
        "great",
    ]
)
FILLER = tuple(
    [
        "the",
        "of",
        "and",
        "in",
        "to",
        "a",
        "was",
        "is",
        "for",
        "on",
        "as",
        "by",
        "with",
        "from",
        "at",
        "that",
        "it",
        "which",
    ]
)


def article_text(rng: random.Random, paragraphs: int, words: int = 60) -> str:
    """Paragraphs of sentences drawn from a skewed vocabulary, plus stop words."""
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    out = []
    for _ in range(paragraphs):
        sentences = []
        for _ in range(max(1, words // 12)):
            chosen = rng.choices(WORDS, weights, k=8) + rng.sample(FILLER, 4)
            rng.shuffle(chosen)
            sentences.append(" ".join(chosen).capitalize() + ".")
        out.append(" ".join(sentences))
    return "\n\n".join(out)


def make_records(
    count: int, *, seed: int = 7, paragraphs: int = 3, prefix: str = "Article"
) -> list[ArticleRecord]:
    rng = random.Random(seed)
    return [
        ArticleRecord(
            article_id=f"{prefix}_{i}",
            title=" ".join(rng.sample(WORDS, 2)).title(),
            article=article_text(rng, paragraphs),
            img_url=None,
        )
        for i in range(count)
    ]


def fill_store(url: str, records: list[ArticleRecord]) -> ArticleStore:
    store = ArticleStore(url)
    store.upsert(records, source="test corpus")
    return store


def snapshot_of(
    records: list[ArticleRecord], root: Path, *, source_url: str = "", semantic: bool = False
) -> Snapshot:
    """``records`` stored in a SQLite file under ``root``, indexed (``semantic``: and embedded)
    into ``root/snapshots`` and loaded."""
    from retrieval.semantic.embed import EmbeddingStage

    store = fill_store(f"sqlite:///{root / 'store.db'}", records)
    stages = (EmbeddingStage(),) if semantic else ()
    build_snapshot(store, root / "snapshots", source_url=source_url, stages=stages)
    store.close()
    return load_snapshot(root / "snapshots")


def stored_articles(store: ArticleStore, **kwargs: int) -> list[StoredArticle]:
    """Every article of the store, as a reindex reads them (one read transaction)."""
    with store.reading() as read:
        return list(read.articles(**kwargs))
