"""Sample rows for every table the cookbook reads: each query but topics_turning_negative (it
needs a calm day before a bad hour) finds some. Kafka values, as the sinks receive them."""

from __future__ import annotations

from stream.records import Alert, Delivery, Event, LateRecord, Rejection, WindowRecord

# The cookbook queries that find nothing in the sample.
EMPTY_QUERIES = ["topics_turning_negative"]


def cookbook_sample(now: float) -> dict[str, list[bytes]]:
    minute = now // 60 * 60 - 120
    events = [
        Event(f"x:{i}", "x", "social.raw", 0, i, now - 60 * i, now, "en", True, "", f"text {i}",
              "", "", 10.0, ["TSLA"], ["TSLA"], i, duplicate_of="x:0" if i == 3 else "",
              scored=True, label="negative", probs=[0.9, 0.05, 0.05], score=-0.85, model="s/1")
        for i in range(6)
    ] + [Event("x:de", "x", "social.raw", 0, 9, now, now, "de", True, "", "Gewinn", "", "", 0.0,
               [], [], 9)]  # fmt: skip
    windows = [
        WindowRecord("TSLA", minute - 60 * k, size, 10, 9, 1, 0, -8.0, -0.8, 100.0, -0.8, 0.9,
                     True, now, amendments=k)  # the older ones amended by late texts
        for k in range(3)
        for size in (60, 900)
    ]  # fmt: skip
    rows = {
        "events": [e.to_json() for e in events],
        "sentiment_windows": [w.to_json() for w in windows],
        "deadletter": [Rejection("news.raw", 0, 1, now, "not_json", "bad", "{x", 2).to_json()],
        "late_events": [LateRecord("TSLA", "x:1", now - 600, minute - 600, now, now).to_json()],
        "alerts": [
            Alert(
                "a1",
                "TSLA",
                "negative_surge",
                "alert",
                "critical",
                minute - 900,
                900,
                0.9,
                0.1,
                0.25,
                16.0,
                now,
                {"most_negative": ["x:1", "x:2"]},
            ).to_json()
        ],
        "deliveries": [
            Delivery("d1", "a1", "sub_1", "webhook", "https://x.test/", attempt, outcome, code,
                     error, 12.5, now - 10 + attempt, 0.0).to_json()
            for attempt, outcome, code, error in ((1, "retry", 503, "HTTP 503"),
                                                  (2, "delivered", 204, ""))
        ],
    }  # fmt: skip
    return rows
