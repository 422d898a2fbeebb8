"""The event-time chain from the raw partitions to the window clock, simulated with the pure
pieces (stream/ingest/progress.py, stream/scoring/progress.py, stream/windows/clock.py): however
the stages interleave, a window's clock never passes a text still upstream."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.ingest.progress import SourceProgress
from stream.records import Mark
from stream.scoring.progress import EnrichedMarks
from stream.windows.clock import WindowClock

IDLE_S = 15.0
T0 = 1_800_000_000.0


@dataclass
class Record:
    event_id: str
    published_at: float
    topic: str


@dataclass
class Pipeline:
    raw: list[list[Record]]
    enriched: list[list[Record | Mark]]
    contributions: list[list[Record | Mark]]
    ingest: SourceProgress
    score: EnrichedMarks
    windows: WindowClock
    read_raw: list[int] = field(default_factory=list)
    read_enriched: list[int] = field(default_factory=list)
    read_contributions: list[int] = field(default_factory=list)
    clocks: list[float] = field(default_factory=list)
    now: float = T0 + 7200


def build(raw: list[list[Record]], n_enriched: int, n_contrib: int) -> Pipeline:
    p = Pipeline(
        raw=raw,
        enriched=[[] for _ in range(n_enriched)],
        contributions=[[] for _ in range(n_contrib)],
        ingest=SourceProgress(IDLE_S, max_ahead_s=30.0),
        score=EnrichedMarks("text.enriched", n_enriched, grace_s=0.0),
        windows=WindowClock(IDLE_S, wall_clock_close=True),
    )
    p.ingest.assigned({f"news.raw/{r}" for r in range(len(raw))}, p.now)
    p.ingest.totals = {"news.raw": len(raw)}
    p.read_raw = [0] * len(raw)
    p.read_enriched = [0] * n_enriched
    p.read_contributions = [0] * n_contrib
    p.clocks = [0.0] * n_contrib
    return p


def ingest_read(p: Pipeline, r: int, k: int) -> None:
    for record in p.raw[r][p.read_raw[r] : p.read_raw[r] + k]:
        p.enriched[hash(record.event_id) % len(p.enriched)].append(record)
        p.ingest.read(f"news.raw/{r}", p.read_raw[r], record.published_at, p.now)
        p.read_raw[r] += 1


def ingest_mark(p: Pipeline) -> None:
    for r, records in enumerate(p.raw):
        p.ingest.observe(f"news.raw/{r}", len(records), 0)
    view = p.ingest.marks(p.now)
    mark = Mark(stage="ingest", partitions={n: [t, i] for n, (t, i) in view.items()},
                totals=dict(p.ingest.totals))  # fmt: skip
    for queue in p.enriched:
        queue.append(mark)


def score_take(p: Pipeline, e: int, k: int) -> None:
    items = p.enriched[e][p.read_enriched[e] : p.read_enriched[e] + k]
    for offset, item in enumerate(items, start=p.read_enriched[e]):
        if isinstance(item, Mark):
            p.score.read(e, offset, item, p.now)
        else:
            p.score.started(1, [(e, offset)])
            p.contributions[hash(item.topic) % len(p.contributions)].append(item)
            p.score.finished(1)
    p.read_enriched[e] += len(items)


def score_mark(p: Pipeline) -> None:
    behind = {e for e, q in enumerate(p.enriched) if p.read_enriched[e] < len(q)}
    view = p.score.marks(set(range(len(p.enriched))), behind, None, p.now)
    mark = Mark(stage="score", partitions={n: [t, i] for n, (t, i) in view.items()},
                totals=p.score.totals())  # fmt: skip
    for queue in p.contributions:
        queue.append(mark)


def window_take(p: Pipeline, c: int, k: int) -> None:
    items = p.contributions[c][p.read_contributions[c] : p.read_contributions[c] + k]
    for item in items:
        if isinstance(item, Mark):
            p.windows.on_mark(c, item)
            p.clocks[c] = max(p.clocks[c], p.windows.on_tick(c, p.now))
        else:
            assert item.published_at >= p.clocks[c], (
                f"{item} reached the windows after the clock passed it ({p.clocks[c]})"
            )
    p.read_contributions[c] += len(items)


streams = st.lists(
    st.lists(st.floats(0, 3600, allow_nan=False), max_size=25).map(sorted),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), times=streams, n_enriched=st.integers(1, 4), n_contrib=st.integers(1, 3))
def test_the_window_clock_never_passes_a_text_still_upstream(
    data: st.DataObject, times: list[list[float]], n_enriched: int, n_contrib: int
) -> None:
    topics = ["AAPL", "MSFT", "theme:rates"]
    raw = [
        [Record(f"{r}-{i}", T0 + t, topics[i % len(topics)]) for i, t in enumerate(ts)]
        for r, ts in enumerate(times)
    ]
    p = build(raw, n_enriched, n_contrib)
    for _ in range(data.draw(st.integers(10, 80))):
        action = data.draw(st.sampled_from(["ingest", "imark", "score", "smark", "window", "wait"]))
        k = data.draw(st.integers(1, 10))
        if action == "ingest":
            ingest_read(p, data.draw(st.integers(0, len(raw) - 1)), k)
        elif action == "imark":
            ingest_mark(p)
        elif action == "score":
            score_take(p, data.draw(st.integers(0, n_enriched - 1)), k)
        elif action == "smark":
            score_mark(p)
        elif action == "window":
            window_take(p, data.draw(st.integers(0, n_contrib - 1)), k)
        else:
            p.now += data.draw(st.sampled_from([1.0, IDLE_S, 600.0]))
    # Drain: every stage reads all, then marks say idle and the clock moves on by wall time.
    for r in range(len(raw)):
        ingest_read(p, r, len(raw[r]))
    p.now += IDLE_S
    ingest_mark(p)
    for e in range(n_enriched):
        score_take(p, e, len(p.enriched[e]))
    score_mark(p)
    for c in range(n_contrib):
        window_take(p, c, len(p.contributions[c]))
    assert all(clock >= p.now - IDLE_S for clock in p.clocks)  # a stream that stops closes


def test_a_backfill_read_all_at_once_keeps_the_clock_behind_the_slowest_partition() -> None:
    # Two raw partitions ten minutes apart, ingest reads all of the fast one first.
    raw = [
        [Record(f"0-{i}", T0 + 600 + i, "AAPL") for i in range(10)],
        [Record(f"1-{i}", T0 + i, "AAPL") for i in range(10)],
    ]
    p = build(raw, 2, 1)
    ingest_read(p, 0, 10)
    ingest_read(p, 1, 2)
    ingest_mark(p)
    for e in range(2):
        score_take(p, e, 100)
    score_mark(p)
    window_take(p, 0, 100)
    assert p.clocks[0] == T0 + 1  # held at the slow partition's progress
    ingest_read(p, 1, 8)
    ingest_mark(p)
    for e in range(2):
        score_take(p, e, 100)
    score_mark(p)
    window_take(p, 0, 100)  # the rest of the slow partition: none late
    assert p.clocks[0] == T0 + 9


@dataclass
class Cluster:
    """Several ingest and scoring workers, each owning some partitions, that commit offsets and
    restart from them (what they held in memory is lost; what they sent stays sent)."""

    raw: list[list[Record]]
    enriched: list[list[Record | Mark]]
    contributions: list[list[Record | Mark]]
    n_ingest: int
    n_score: int
    ingest: list[SourceProgress] = field(default_factory=list)
    score: list[EnrichedMarks] = field(default_factory=list)
    windows: WindowClock = field(default_factory=lambda: WindowClock(IDLE_S, wall_clock_close=True))
    read_raw: list[int] = field(default_factory=list)
    committed_raw: list[int] = field(default_factory=list)
    read_enriched: list[int] = field(default_factory=list)
    committed_enriched: list[int] = field(default_factory=list)
    read_contributions: list[int] = field(default_factory=list)
    clocks: list[float] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    now: float = T0 + 7200

    def raw_of(self, worker: int) -> list[int]:
        return [r for r in range(len(self.raw)) if r % self.n_ingest == worker]

    def enriched_of(self, worker: int) -> list[int]:
        return [e for e in range(len(self.enriched)) if e % self.n_score == worker]

    def start_ingest(self, worker: int) -> SourceProgress:
        progress = SourceProgress(IDLE_S, max_ahead_s=30.0)
        progress.assigned({f"news.raw/{r}" for r in self.raw_of(worker)}, self.now)
        progress.totals = {"news.raw": len(self.raw)}
        for r in self.raw_of(worker):
            self.read_raw[r] = self.committed_raw[r]  # re-read from the committed offset
        return progress

    def start_score(self, worker: int) -> EnrichedMarks:
        for e in self.enriched_of(worker):
            self.read_enriched[e] = self.committed_enriched[e]
        return EnrichedMarks("text.enriched", len(self.enriched), grace_s=0.0)


def cluster(raw: list[list[Record]], n_enriched: int, n_contrib: int, n_ingest: int,
            n_score: int) -> Cluster:  # fmt: skip
    c = Cluster(raw, [[] for _ in range(n_enriched)], [[] for _ in range(n_contrib)],
                min(n_ingest, len(raw)), min(n_score, n_enriched))  # fmt: skip
    c.read_raw = [0] * len(raw)
    c.committed_raw = [0] * len(raw)
    c.read_enriched = [0] * n_enriched
    c.committed_enriched = [0] * n_enriched
    c.read_contributions = [0] * n_contrib
    c.clocks = [0.0] * n_contrib
    c.ingest = [c.start_ingest(w) for w in range(c.n_ingest)]
    c.score = [c.start_score(w) for w in range(c.n_score)]
    return c


def c_ingest_read(c: Cluster, r: int, k: int) -> None:
    progress = c.ingest[r % c.n_ingest]
    for record in c.raw[r][c.read_raw[r] : c.read_raw[r] + k]:
        c.enriched[hash(record.event_id) % len(c.enriched)].append(record)
        progress.read(f"news.raw/{r}", c.read_raw[r], record.published_at, c.now)
        c.read_raw[r] += 1


def c_ingest_mark(c: Cluster, worker: int) -> None:
    progress = c.ingest[worker]
    for r in c.raw_of(worker):
        progress.observe(f"news.raw/{r}", len(c.raw[r]), c.committed_raw[r])
    view = progress.marks(c.now)
    mark = Mark(stage="ingest", partitions={n: [t, i] for n, (t, i) in view.items()},
                totals=dict(progress.totals))  # fmt: skip
    for queue in c.enriched:
        queue.append(mark)


def c_score_take(c: Cluster, e: int, k: int) -> None:
    marks = c.score[e % c.n_score]
    items = c.enriched[e][c.read_enriched[e] : c.read_enriched[e] + k]
    for offset, item in enumerate(items, start=c.read_enriched[e]):
        if isinstance(item, Mark):
            marks.read(e, offset, item, c.now)
        else:
            marks.started(1, [(e, offset)])
            c.contributions[hash(item.topic) % len(c.contributions)].append(item)
            marks.finished(1)
    c.read_enriched[e] += len(items)


def c_score_mark(c: Cluster, worker: int) -> None:
    mine = set(c.enriched_of(worker))
    behind = {e for e in mine if c.read_enriched[e] < len(c.enriched[e])}
    view = c.score[worker].marks(mine, behind, None, c.now)
    mark = Mark(stage="score", partitions={n: [t, i] for n, (t, i) in view.items()},
                totals=c.score[worker].totals())  # fmt: skip
    for queue in c.contributions:
        queue.append(mark)


def c_window_take(c: Cluster, p: int, k: int) -> None:
    items = c.contributions[p][c.read_contributions[p] : c.read_contributions[p] + k]
    for item in items:
        if isinstance(item, Mark):
            c.windows.on_mark(p, item)
            c.clocks[p] = max(c.clocks[p], c.windows.on_tick(p, c.now))
        elif item.event_id not in c.delivered:  # a repeat after a restart was counted before
            assert item.published_at >= c.clocks[p], f"{item} after the clock ({c.clocks[p]})"
            c.delivered.add(item.event_id)
    c.read_contributions[p] += len(items)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    times=streams,
    n_enriched=st.integers(1, 4),
    n_contrib=st.integers(1, 3),
    n_ingest=st.integers(1, 3),
    n_score=st.integers(1, 3),
)
def test_several_workers_commits_and_restarts_never_let_the_clock_pass_a_text_upstream(
    data: st.DataObject, times: list[list[float]], n_enriched: int, n_contrib: int,
    n_ingest: int, n_score: int,
) -> None:  # fmt: skip
    raw = [
        [Record(f"{r}-{i}", T0 + t, ("AAPL", "MSFT")[i % 2]) for i, t in enumerate(ts)]
        for r, ts in enumerate(times)
    ]
    c = cluster(raw, n_enriched, n_contrib, n_ingest, n_score)
    actions = ["ingest", "imark", "score", "smark", "window", "wait", "commit", "restart"]
    for _ in range(data.draw(st.integers(10, 80))):
        action = data.draw(st.sampled_from(actions))
        k = data.draw(st.integers(1, 10))
        if action == "ingest":
            c_ingest_read(c, data.draw(st.integers(0, len(raw) - 1)), k)
        elif action == "imark":
            c_ingest_mark(c, data.draw(st.integers(0, c.n_ingest - 1)))
        elif action == "score":
            c_score_take(c, data.draw(st.integers(0, n_enriched - 1)), k)
        elif action == "smark":
            c_score_mark(c, data.draw(st.integers(0, c.n_score - 1)))
        elif action == "window":
            c_window_take(c, data.draw(st.integers(0, n_contrib - 1)), k)
        elif action == "commit":  # offsets committed once what was read is sent on
            c.committed_raw = list(c.read_raw)
            c.committed_enriched = list(c.read_enriched)
        elif action == "restart":
            if data.draw(st.booleans()):
                w = data.draw(st.integers(0, c.n_ingest - 1))
                c.ingest[w] = c.start_ingest(w)
            else:
                w = data.draw(st.integers(0, c.n_score - 1))
                c.score[w] = c.start_score(w)
        else:
            c.now += data.draw(st.sampled_from([1.0, IDLE_S, 600.0]))
    for r in range(len(raw)):
        c_ingest_read(c, r, len(raw[r]))
    c.now += IDLE_S
    for w in range(c.n_ingest):
        c_ingest_mark(c, w)
    for e in range(n_enriched):
        c_score_take(c, e, len(c.enriched[e]))
    for w in range(c.n_score):
        c_score_mark(c, w)
    for p in range(n_contrib):
        c_window_take(c, p, len(c.contributions[p]))
    assert c.delivered == {r.event_id for records in raw for r in records}  # none lost
    assert all(clock >= c.now - IDLE_S for clock in c.clocks)
