"""The tables ``benchmarks/search.py`` prints, from the figures of its steps (one dict a size, as
``measure`` returns it): lexical engines side by side, then the semantic snapshot beside the
lexical one it extends."""

from __future__ import annotations

HEADER = (
    "size",
    "engine",
    "build s (CPU s, s queued for a CPU)",
    "build peak RSS MB",
    "on disk MB",
    "load s",
    "serve RSS MB",
    "p50 ms",
    "p99 ms",
)
SEMANTIC_HEADER = ("size", "semantic stage", "figure", "p50 ms", "p99 ms", "lexical peer")


def _row(*cells: object) -> str:
    return "| " + " | ".join("" if c is None else str(c) for c in cells) + " |"


def _rows(header: tuple[str, ...], rows: list[str]) -> str:
    return "\n".join([_row(*header), _row(*["---"] * len(header)), *rows])


def _seconds(build: dict) -> str:
    """Wall seconds, then CPU seconds and seconds spent waiting for a CPU where known."""
    extra = [
        f"{build[key]} {label}" for key, label in (("cpu_s", "CPU"), ("cpu_wait_s", "queued")) if key in build
    ]
    return f"{build['build_s']} ({', '.join(extra)})" if extra else str(build["build_s"])


def _latency(figures: dict) -> tuple[object, object]:
    return figures["p50_ms"], figures["p99_ms"]


def _lexical_rows(r: dict) -> list[str]:
    """One size's rows of wikiqa and, where measured, plain bm25s and rank-bm25."""
    size, build, serve = r["size"], r["wikiqa_build"], r["wikiqa_serve"]
    rows = [
        _row(
            f"{size} ({build['passages']:,} passages)", "wikiqa first stage (numpy)", _seconds(build),
            build["tree_peak_rss_mb"], build["size_mb"], serve["load_s"], serve["self_peak_rss_mb"],
            *_latency(serve["first_stage"]),
        )
    ]  # fmt: skip
    if "first_stage_numba" in serve:
        engine = f"wikiqa first stage, numba kernel (+{serve['accelerate_s']} s at load)"
        rows.append(_row(size, engine, *[None] * 5, *_latency(serve["first_stage_numba"])))
    if "search" in serve:
        rows.append(_row(size, "wikiqa full search, top 5", *[None] * 5, *_latency(serve["search"])))
    if "bm25s_build" in r:
        bm = r["bm25s_build"]
        for backend in ("numpy", "numba"):
            x = r[f"bm25s_{backend}"]
            rows.append(
                _row(
                    size, f"bm25s {backend}", _seconds(bm), bm["tree_peak_rss_mb"], bm["size_mb"],
                    x["load_s"], x["self_peak_rss_mb"], *_latency(x["first_stage"]),
                )
            )  # fmt: skip
    if "rank_bm25" in r:
        x = r["rank_bm25"]
        rows.append(
            _row(
                size, "rank-bm25 BM25Okapi", x["build_s"], x["tree_peak_rss_mb"], None, None, None,
                *_latency(x["first_stage"]),
            )
        )  # fmt: skip
    return rows


def table(results: list[dict]) -> str:
    return _rows(HEADER, [row for r in results for row in _lexical_rows(r)])


def _rss(serve: dict) -> str:
    return f"{serve['rssanon_mb']} + {serve['rssfile_mb']} MB ({serve['self_peak_rss_mb']} MB)"


def _semantic_rows(r: dict) -> list[str]:
    """One size's semantic figures, beside those of the lexical snapshot measured in the same run."""
    size, build = r["size"], r["semantic_build"]
    if "skipped" in build:
        return [_row(size, "skipped", build["skipped"], None, None, None)]
    serve, peer_build, peer = r["semantic_serve"], r["wikiqa_build"], r["wikiqa_serve"]

    def figure(label: str, value: object, lexical: object = None) -> str:
        return _row(size, label, value, None, None, lexical)

    rows = [
        _row(
            f"{size} ({build['passages']:,} passages)",
            "build with random vectors (lexical build included)", _seconds(build), None, None,
            _seconds(peer_build),
        ),
        figure(
            f"passage (int8) and sentence (6-bit) vectors, {build['dimensions']} wide",
            f"{build['vectors_mb']} MB",
        ),
    ]  # fmt: skip
    if "ann_mb" in build:
        rows.append(figure("faiss IVF-SQ8 index", f"{build['ann_mb']} MB"))
    rows += [
        figure(
            "snapshot on disk (build peak RSS)", f"{build['size_mb']} MB ({build['tree_peak_rss_mb']} MB)",
            f"{peer_build['size_mb']} MB ({peer_build['tree_peak_rss_mb']} MB)",
        ),
        figure(
            "fresh-process load + numba kernel + model's load",
            f"{serve['load_s']} s + {serve['accelerate_s']} s + {serve['model_s']} s",
            f"{peer['load_s']} s",
        ),
        figure("serving RSS, private + file-backed (peak)", _rss(serve), _rss(peer)),
    ]  # fmt: skip
    reindex = r.get("semantic_reindex")
    if reindex is not None:
        rows.append(
            figure(
                "reindex of the unchanged store",
                f"{reindex['reindex_s']} s, {reindex['embedded']} texts embedded "
                f"(peak RSS {reindex['tree_peak_rss_mb']} MB)",
                f"{peer_build['build_s']} s (peak RSS {peer_build['tree_peak_rss_mb']} MB)",
            )
        )
    rows.append(_row(size, "question embedding", None, *_latency(serve["question_embedding"]), None))
    lexical = "{} / {} ms".format(*_latency(peer["search"])) if "search" in peer else None
    searches = (
        ("search", "full search top 5, English questions (cosine rescoring)"),
        ("search_foreign", "full search top 5, Cyrillic questions (dense + BM25 fusion)"),
    )
    for key, label in searches:
        rows.append(_row(size, label, None, *_latency(serve[key]), lexical))
    return rows


def semantic_table(results: list[dict]) -> str:
    return _rows(
        SEMANTIC_HEADER, [row for r in results if "semantic_build" in r for row in _semantic_rows(r)]
    )
