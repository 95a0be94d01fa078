"""The one bounded cache: least recently used forgotten first, None kept as a value, shared safely."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from retrieval.lru import LruCache


def test_the_least_recently_used_entry_is_forgotten_first() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now more recent than "b"
    cache.put("c", 3)
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert len(cache) == 2 and cache.get("b", -1) == -1


def test_lookup_computes_a_missing_value_once_and_keeps_none_too() -> None:
    cache: LruCache[str, int | None] = LruCache(10)
    calls: list[str] = []

    def compute(key: str) -> int | None:
        calls.append(key)
        return None if key == "unknown" else len(key)

    assert [cache.lookup(k, compute) for k in ("word", "unknown", "word", "unknown")] == [4, None, 4, None]
    assert calls == ["word", "unknown"]


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache: LruCache[str, int] = LruCache(0)
    cache.put("a", 1)
    assert len(cache) == 0 and cache.get("a") is None
    with pytest.raises(ValueError):
        LruCache(-1)


def test_threads_sharing_a_cache_never_see_it_grow_past_its_size() -> None:
    cache: LruCache[int, int] = LruCache(64)

    def work(start: int) -> None:
        for i in range(start, start + 5000):
            assert cache.lookup(i % 200, lambda key: key * 2) == (i % 200) * 2
            cache.get((i * 7) % 200)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(0, 8 * 5000, 5000)))
    assert len(cache) == 64


def test_discard_forgets_a_key_only_while_it_holds_the_value_given() -> None:
    cache: LruCache[str, list[int]] = LruCache(4)
    first, second = [1], [2]
    cache.put("a", first)
    cache.put("a", second)  # another thread replaced it
    cache.discard("a", first)
    assert cache.get("a") is second
    cache.discard("a", second)
    assert "a" not in cache
