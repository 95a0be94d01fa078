"""A bounded map that forgets its least recently used entry first: the one cache of wikiqa's
long-lived objects (a searcher's ranked lists, titles and language verdicts, a snapshot's term
lookups, the semantic stage's question vectors, the bot journal's recent questions).

Each is shared by the threads that answer questions, so every call holds a lock for a dict
operation or two (well under a microsecond); a missing value is computed outside it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")

_MISSING = object()


class LruCache(Generic[K, V]):
    """At most ``maxsize`` entries (0 keeps none); reading an entry makes it the most recent."""

    __slots__ = ("_entries", "_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 0:
            raise ValueError(f"a cache holds zero entries or more, not {maxsize}")
        self.maxsize = maxsize
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, default: D | None = None) -> V | D | None:
        """The value kept for ``key``, else ``default``."""
        with self._lock:
            try:
                value = self._entries[key]
            except KeyError:
                return default
            self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key``, forgetting the least recently used entry beyond ``maxsize``."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def lookup(self, key: K, compute: Callable[[K], V]) -> V:
        """The value kept for ``key``, or ``compute(key)``, kept (a value may be None)."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = compute(key)
            self.put(key, value)
        return value  # type: ignore[return-value]

    def discard(self, key: K, value: V) -> None:
        """Forget ``key`` if it still holds ``value`` (another thread may have replaced it)."""
        with self._lock:
            if self._entries.get(key, _MISSING) is value:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is kept (without making it recent)."""
        return key in self._entries
