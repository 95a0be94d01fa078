"""``wikiqa reindex``: its summary, its refusals, and what a killed reindex leaves behind.

The crash tests run the real console script in a subprocess and catch it mid-build without
relying on timing: the store holds an article too long to index whole, a thousand articles in,
and the reindex's standard error is a pipe the test has filled to the brim. Its warning about that
article then blocks it, after the first batches of passages are written and with the lock held,
for as long as the test needs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.index.analyze import MAX_ARTICLE_CHARS
from retrieval.index.publish import current_version, load_snapshot
from retrieval.storage.records import ArticleRecord
from tests.retrieval.corpus_factory import fill_store, make_records

WIKIQA = str(Path(sys.executable).parent / "wikiqa")
ZANZIBAR = ArticleRecord("Zanzibar", "Zanzibar", "Zanzibar is an archipelago famous for its cloves.", None)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WIKIQA, *args], capture_output=True, text=True, timeout=120, check=False)


def _first_hit(snapshots: Path, question: str) -> str:
    snapshot = load_snapshot(snapshots)
    pids, _ = snapshot.index.first_stage(snapshot.index.term_ids(snapshot.analyzer.terms(question)), 1)
    return snapshot.passages.get(int(pids[0])).article_id


@pytest.fixture
def big_store(tmp_path: Path, isolated_home: Path) -> tuple[str, Path]:
    """A store with a live snapshot of 40 articles, then 2,000 more, the 1,000th of them longer
    than an article is indexed (so the reindex warns about it when it gets there)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = fill_store(url, make_records(40))
    assert _run("reindex", "--database", url).returncode == 0
    bodies = make_records(300, seed=5, paragraphs=4)
    more = [replace(bodies[i % 300], article_id=f"More_{i}") for i in range(2000)]
    more[1000] = replace(more[1000], article="Long words go on. " * (MAX_ARTICLE_CHARS // 18 + 1))
    store.upsert([*more, ZANZIBAR], source="more")
    store.close()
    return url, isolated_home / "snapshots"


def _full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is full: the next write to its write end blocks until someone reads."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    with suppress(BlockingIOError):
        while True:
            os.write(write_end, b"." * 65536)
    os.set_blocking(write_end, True)
    return read_end, write_end


@contextmanager
def held_mid_build(url: str, snapshots: Path) -> Iterator[subprocess.Popen[str]]:
    """A real ``wikiqa reindex`` held after it has written its first passages (see above)."""
    read_end, write_end = _full_pipe()
    process = subprocess.Popen(
        [WIKIQA, "reindex", "--database", url], stdout=subprocess.DEVNULL, stderr=write_end, text=True
    )
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size for p in snapshots.glob(".build-*/passages.text.bin")):
            assert process.poll() is None, "the reindex ended although it could not write its warning"
            assert time.monotonic() < deadline, "the reindex never wrote passages"
            time.sleep(0.01)
        yield process
    finally:
        process.kill()
        process.wait()
        os.close(read_end)


def test_sigkill_mid_build_keeps_the_previous_snapshot_answering(big_store: tuple[str, Path]) -> None:
    url, snapshots = big_store
    live = current_version(snapshots)
    with held_mid_build(url, snapshots) as process:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert current_version(snapshots) == live
    assert list(snapshots.glob(".build-*")), "the kill should have left an unfinished build behind"
    assert load_snapshot(snapshots).info.articles == 40
    assert _first_hit(snapshots, "treaty").startswith("Article_")

    result = _run("reindex", "--database", url)
    assert result.returncode == 0, result.stderr
    assert current_version(snapshots) != live
    assert not list(snapshots.glob(".build-*"))
    assert load_snapshot(snapshots).info.articles == 2041
    assert _first_hit(snapshots, "cloves") == "Zanzibar"


def test_second_reindex_while_one_runs_is_refused(big_store: tuple[str, Path]) -> None:
    url, snapshots = big_store
    with held_mid_build(url, snapshots) as running:
        refused = _run("reindex", "--database", url)
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"error: another reindex is already running (process {running.pid}")
        assert refused.stderr.rstrip().endswith("wait for it to finish")
        assert json.loads(_run("stats", "--json", "--database", url).stdout)["reindex_running"] is True


def test_reindex_reports_passages_vocabulary_size_and_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    fill_store(url, make_records(12)).close()
    result = CliRunner().invoke(cli, ["reindex", "--database", url])
    assert result.exit_code == 0, result.output
    line = result.output.strip()
    assert "\n" not in line
    assert line.startswith("Indexed ") and " passages from 12 articles: vocabulary " in line
    assert " MB on disk, " in line and line.endswith(" s.")


def test_reindex_json_reports_the_new_live_snapshot(tmp_path: Path, isolated_home: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    fill_store(url, make_records(12)).close()
    result = CliRunner().invoke(cli, ["reindex", "--database", url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["articles"] == 12
    assert report["passages"] >= 12 and report["vocabulary"] > 0 and report["size_bytes"] > 0
    assert report["version"] == current_version(isolated_home / "snapshots")
    assert load_snapshot(isolated_home / "snapshots").info.version == report["version"]


def test_reindex_of_an_empty_store_says_nothing_to_index(tmp_path: Path, isolated_home: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = _run("reindex", "--database", url)
    assert result.returncode == 1
    assert result.stderr == "error: nothing to index: the store has no articles with text\n"
    assert current_version(isolated_home / "snapshots") is None
