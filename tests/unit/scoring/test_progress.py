from __future__ import annotations

from stream.records import Mark
from stream.scoring.progress import EnrichedMarks, Progress

T0 = 1_800_000_000  # a whole hour


def test_the_scoring_watermark_waits_for_the_slowest_partition_and_batch() -> None:
    p = Progress(idle_s=10)
    # A back-fill: partition 0 is read up to minute 15 while partition 1 is still at minute 3.
    p.started(1, [(0, 10), (0, 11), (1, 5)], [T0 + 900, T0 + 840, T0 + 180], now=100.0)
    assert p.watermark(100.0) == T0 + 180  # the batch in flight and partition 1 hold it
    p.finished(1)
    assert p.watermark(100.5) == T0 + 180  # partition 1 is behind
    p.started(2, [(1, 6)], [T0 + 600], now=101.0)
    assert p.watermark(101.0) == T0 + 600
    p.finished(2)
    assert p.watermark(101.0) == T0 + 600
    # Partition 1 goes quiet (its part of the stream ended): it holds nothing back any more.
    assert p.watermark(112.0) == T0 + 900
    assert p.wall(112.0) == 112.0
    p.started(3, [(0, 12)], [T0 + 950], now=113.0)
    assert p.wall(200.0) == 113.0  # a stuck batch holds the wall clock


def test_a_partition_with_records_not_taken_yet_holds_the_watermark() -> None:
    p = Progress(idle_s=10)
    p.assigned({0, 1})
    p.start.update({0: 0, 1: 0})
    # Both partitions were read long ago, then the stream went quiet.
    p.started(1, [(0, 9), (1, 4)], [T0 + 60, T0 + 30], now=100.0)
    p.finished(1)
    p.observe(0, highwater=10)
    p.observe(1, highwater=5)
    assert p.watermark(200.0) == T0 + 60  # nothing busy: the latest time read
    # A back-fill lands on both; partition 0 is read first and runs minutes ahead.
    p.observe(1, highwater=400)
    p.started(2, [(0, 10)], [T0 + 900], now=201.0)
    p.finished(2)
    p.observe(0, highwater=400)
    assert p.watermark(201.5) == T0 + 30  # partition 1 has records waiting: it holds
    p.started(3, [(1, 5)], [T0 + 300], now=202.0)
    p.finished(3)
    assert p.watermark(202.0) == T0 + 300
    # Everything taken: partition 1 holds only while busy, as before.
    p.observe(0, highwater=11)
    p.observe(1, highwater=6)
    assert p.watermark(202.5) == T0 + 300
    assert p.watermark(213.0) == T0 + 900


def test_a_partition_not_read_since_assignment_holds_the_watermark_at_zero() -> None:
    p = Progress(idle_s=10)
    p.assigned({0, 1, 2})
    p.start.update({0: None, 1: 20, 2: 7})  # where reading began: the committed offsets
    p.observe(1, highwater=50)  # records 20 to 49 waiting
    p.observe(2, highwater=7)  # nothing waiting
    p.observe(0, highwater=None)  # not fetched yet: claims nothing
    p.started(1, [(0, 0)], [T0 + 900], now=100.0)
    p.finished(1)
    assert p.watermark(100.0) == 0.0  # partition 1 might hold anything
    p.started(2, [(1, 20)], [T0 + 120], now=101.0)
    p.finished(2)
    assert p.watermark(101.0) == T0 + 120  # read: it holds at what it has read
    p.observe(1, highwater=50)
    assert p.watermark(150.0) == T0 + 120  # quiet but not done: still holds
    # A rebalance takes partition 1 away: another worker answers for it now.
    p.assigned({0, 2})
    assert p.watermark(150.0) == T0 + 900


def _ingest_mark(t: float, idle: bool = False) -> Mark:
    return Mark(stage="ingest", partitions={"news.raw/0": [t, idle]}, totals={"news.raw": 1})


def test_a_mark_waits_for_the_records_before_it_that_another_actor_holds() -> None:
    marks = EnrichedMarks("text.enriched", 1, grace_s=0.5)
    marks.started(actor=1, taken=[(0, 10)])  # offset 10 is being scored by actor 1
    marks.read(0, 11, _ingest_mark(500.0), now_s=100.0)  # actor 2 takes the mark after it
    assert marks.marks({0}, set(), None, 101.0) == {"text.enriched/0": (0.0, False)}
    marks.finished(actor=1)
    assert marks.marks({0}, set(), None, 100.2) == {"text.enriched/0": (0.0, False)}  # grace
    assert marks.marks({0}, set(), None, 101.0) == {"text.enriched/0": (500.0, False)}


def test_an_enriched_partition_is_idle_only_when_its_sources_are_and_nothing_waits() -> None:
    marks = EnrichedMarks("text.enriched", 1, grace_s=0.0)
    marks.read(0, 0, _ingest_mark(500.0, idle=True), now_s=100.0)
    assert marks.marks({0}, {0}, None, 100.0)["text.enriched/0"] == (500.0, False)  # behind
    assert marks.marks({0}, set(), 400.0, 100.0)["text.enriched/0"] == (400.0, False)  # a batch
    assert marks.marks({0}, set(), None, 100.0)["text.enriched/0"] == (500.0, True)


def test_marks_taken_count_as_read_so_a_partition_ending_in_marks_is_not_behind() -> None:
    progress = Progress(idle_s=15.0)
    progress.assigned({0})
    progress.started(1, [(0, 0)], [100.0], now=1.0)
    progress.finished(1)
    progress.passed(0, 1)  # the mark after the record
    progress.observe(0, highwater=2)
    assert progress.behind == set()
