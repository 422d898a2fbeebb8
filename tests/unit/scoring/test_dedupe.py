"""The story cache: its horizon in event time clamped to wall time, its cap, its memory."""

from __future__ import annotations

import tracemalloc

from stream.scoring.dedupe import ENTRY_BYTES, Story, StoryCache, digest

T0 = 1_800_000_000.0
DAY_S = 86_400.0


def story(i: int, published_at: float) -> Story:
    event_id = f"twitter:{10**11 + i}"  # 20 characters
    return Story(event_id, published_at, {digest(event_id): digest(f"social.raw/0/{i}")})


def test_a_post_dated_a_day_ahead_does_not_flush_the_cache() -> None:
    cache = StoryCache(horizon_s=3600, ahead_s=30)
    for i in range(3):
        cache.add(i, story(i, T0 + i), now_s=T0 + 10)
    cache.add(99, story(99, T0 + DAY_S), now_s=T0 + 10)
    assert [cache.get(i) for i in range(3)] == [story(i, T0 + i) for i in range(3)]
    assert len(cache) == 4


def test_stories_older_than_the_horizon_go() -> None:
    cache = StoryCache(horizon_s=100, max_entries=10)
    for i in range(3):
        cache.add(i, story(i, 1000.0 + i), now_s=1000.0)
    cache.add(3, story(3, 1101.5), now_s=1101.5)  # 0 and 1 are now beyond the horizon
    assert [cache.get(i) is not None for i in range(4)] == [False, False, True, True]
    assert cache.evicted_early == 0


def test_the_cap_holds_and_the_oldest_go_first() -> None:
    cache = StoryCache(horizon_s=DAY_S, max_entries=3)
    for i in range(5):
        cache.add(i, story(i, T0 + i), now_s=T0)
    assert len(cache) == 3 and [cache.get(i) is not None for i in range(5)] == [0, 0, 1, 1, 1]
    assert cache.evicted_early == 2


def test_a_new_copy_is_kept_in_place() -> None:
    cache = StoryCache(horizon_s=DAY_S, max_entries=2)
    cache.add(1, story(1, T0), now_s=T0)
    cache.add(2, story(2, T0), now_s=T0)
    seen = cache.get(1)
    assert seen is not None
    seen.copies[digest("wire:7")] = digest("news.raw/1/7")
    cache.update(1, seen)
    assert cache.get(1) == seen
    cache.add(3, story(3, T0), now_s=T0)  # 1 is still the oldest
    assert cache.get(1) is None and cache.get(2) is not None


def test_an_entry_stays_within_its_stated_memory() -> None:
    n = 5_000
    tracemalloc.start()
    try:
        cache = StoryCache(horizon_s=DAY_S, max_entries=n)
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            cache.add(digest(str(i)) >> 1, story(i, T0 + i), now_s=T0 + n)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == n
    assert used / n <= ENTRY_BYTES
