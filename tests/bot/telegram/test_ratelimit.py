"""The per-user limit: a sliding minute, one notice, then silence."""

from __future__ import annotations

from bot.telegram.ratelimit import UserRateLimiter, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_allows_then_notifies_once_then_drops_until_the_window_frees() -> None:
    clock = Clock()
    limiter = UserRateLimiter(3, clock=clock)
    assert [limiter.check(1) for _ in range(3)] == [Verdict.ALLOW] * 3
    assert limiter.check(1) is Verdict.NOTIFY
    assert limiter.check(1) is Verdict.DROP
    assert limiter.check(2) is Verdict.ALLOW  # other users are not affected
    assert 59 <= limiter.retry_in(1) <= 60
    clock.now += 60.5
    assert limiter.check(1) is Verdict.ALLOW


def test_zero_means_no_limit() -> None:
    limiter = UserRateLimiter(0)
    assert all(limiter.check(1) is Verdict.ALLOW for _ in range(1000))


def test_idle_users_are_forgotten() -> None:
    clock = Clock()
    limiter = UserRateLimiter(5, clock=clock)
    for user in range(999):
        limiter.check(user)
    clock.now += 120
    limiter.check(5000)  # the 1000th check sweeps
    assert len(limiter._asked) == 1
