from __future__ import annotations

from stream.records import Mark
from stream.scoring.progress import MAX_AHEAD, EnrichedMarks, Progress

T0 = 1_800_000_000  # a whole hour


def test_a_batch_in_flight_holds_the_wall_clock() -> None:
    p = Progress()
    p.started(1, [(0, 10), (1, 5)], [T0 + 900, T0 + 180], now=100.0)
    p.started(2, [(0, 11)], [T0 + 950], now=101.0)
    assert p.wall(200.0) == 100.0  # a stuck batch holds the window timer
    assert p.in_flight == {1: T0 + 180, 2: T0 + 950}
    p.finished(1)
    assert p.wall(200.0) == 101.0
    p.finished(2)
    assert p.wall(200.0) == 200.0
    assert p.in_flight == {}


def test_a_partition_with_records_not_taken_yet_is_behind() -> None:
    p = Progress()
    p.assigned({0, 1, 2})
    p.start.update({0: None, 1: 20, 2: 7})  # where reading began: the committed offsets
    p.observe(0, highwater=None)  # not fetched yet: claims nothing
    p.observe(1, highwater=50)  # records 20 to 49 waiting
    p.observe(2, highwater=7)  # nothing waiting
    assert p.behind == {1}
    p.started(1, [(1, 20), (1, 49)], [T0, T0], now=100.0)
    p.observe(1, highwater=50)
    assert p.behind == set()
    p.observe(1, highwater=60)  # more arrived
    assert p.behind == {1}
    p.assigned({0, 2})  # a rebalance: what was known is learnt again
    assert p.behind == set() and p.start == {} and p.next_offset == {}


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
    progress = Progress()
    progress.assigned({0})
    progress.started(1, [(0, 0)], [100.0], now=1.0)
    progress.finished(1)
    progress.passed(0, 1)  # the mark after the record
    progress.observe(0, highwater=2)
    assert progress.behind == set()


def test_a_mark_applies_at_once_when_every_offset_before_it_was_taken_and_sent() -> None:
    marks = EnrichedMarks("text.enriched", 1, grace_s=5.0)
    marks.begin(0, 10)  # reading began at the committed offset 10
    marks.started(actor=1, taken=[(0, 10), (0, 11)])
    marks.read(0, 12, _ingest_mark(500.0), now_s=100.0)
    assert marks.marks({0}, set(), None, 100.0)["text.enriched/0"] == (0.0, False)  # in flight
    marks.finished(actor=1)
    assert marks.marks({0}, set(), None, 100.0)["text.enriched/0"] == (500.0, False)  # no grace


def test_a_mark_waits_for_a_record_before_it_that_no_actor_has_taken_yet() -> None:
    # Actor 1's buffer feeder holds offset 11 while actor 1 scores its batch; actor 2 takes the
    # mark at 12. Nothing is in flight below 12 yet the mark must wait: 11 is not sent.
    marks = EnrichedMarks("text.enriched", 1, grace_s=5.0)
    marks.begin(0, 10)
    marks.started(actor=1, taken=[(0, 10)])
    marks.finished(actor=1)
    marks.read(0, 12, _ingest_mark(500.0), now_s=100.0)
    assert marks.marks({0}, set(), None, 101.0)["text.enriched/0"] == (0.0, False)
    assert marks.next_ready_s() == 105.0
    marks.started(actor=1, taken=[(0, 11)])
    assert marks.marks({0}, set(), None, 101.0)["text.enriched/0"] == (0.0, False)  # in flight
    marks.finished(actor=1)
    assert marks.marks({0}, set(), None, 101.0)["text.enriched/0"] == (500.0, False)


def test_where_offsets_cannot_tell_a_mark_applies_after_the_grace() -> None:
    marks = EnrichedMarks("text.enriched", 1, grace_s=5.0)
    marks.read(0, 12, _ingest_mark(500.0), now_s=100.0)  # where reading began is not known
    assert marks.marks({0}, set(), None, 104.0)["text.enriched/0"] == (0.0, False)
    assert marks.marks({0}, set(), None, 105.0)["text.enriched/0"] == (500.0, False)


def test_a_rebalance_learns_where_reading_begins_again() -> None:
    marks = EnrichedMarks("text.enriched", 1, grace_s=5.0)
    marks.begin(0, 0)
    marks.started(actor=1, taken=[(0, 0), (0, 1), (0, 2)])
    marks.finished(actor=1)
    marks.assigned({0})  # re-seek to the committed offset 1: offsets 1 and 2 come again
    marks.read(0, 3, _ingest_mark(500.0), now_s=100.0)
    assert marks.marks({0}, set(), None, 100.0)["text.enriched/0"] == (0.0, False)
    marks.begin(0, 1)
    marks.started(actor=2, taken=[(0, 1), (0, 2)])
    marks.finished(actor=2)
    assert marks.marks({0}, set(), None, 100.0)["text.enriched/0"] == (500.0, False)


def test_a_hole_for_good_is_stepped_over_so_memory_stays_bounded() -> None:
    # Offset 1 never comes (and, on partition 1, where reading began is never learnt): the
    # offsets taken above it are remembered up to MAX_AHEAD, then the frontier moves past the hole.
    marks = EnrichedMarks("text.enriched", 2, grace_s=5.0)
    marks.begin(0, 0)
    marks.started(actor=1, taken=[(0, 0)])
    for offset in range(2, MAX_AHEAD + 2):
        marks.started(actor=1, taken=[(0, offset), (1, offset)])
    assert marks.frontier[0] == 1  # the hole still holds it
    assert len(marks.ahead[0]) == MAX_AHEAD
    marks.started(actor=1, taken=[(0, MAX_AHEAD + 2), (1, MAX_AHEAD + 2)])
    marks.finished(actor=1)
    assert marks.frontier == {0: MAX_AHEAD + 3, 1: MAX_AHEAD + 3}
    assert marks.ahead == {0: set(), 1: set()}
    # A mark right after them applies at once, as one after every record would.
    marks.read(0, MAX_AHEAD + 3, _ingest_mark(500.0), now_s=100.0)
    assert marks.marks({0}, set(), None, 100.0)["text.enriched/0"] == (500.0, False)
