from __future__ import annotations

import pytest

from stream.clickhouse import access
from stream.errors import MigrationError

HERE, THERE = "finpulse.subscriptions", "finpulse_secrets.subscriptions"


def test_the_analyst_is_granted_no_table_with_secrets_or_webhook_urls() -> None:
    grants = [s for s in access.grant_statements("finpulse") if "TO finpulse_analyst" in s]
    assert grants and all(s.startswith("GRANT SELECT ON finpulse.") for s in grants)
    assert not [s for s in grants if ".subscriptions " in s or ".deliveries " in s]


def test_the_worker_inserts_only_where_it_writes_and_reads_only_what_it_delivers() -> None:
    grants = [s for s in access.grant_statements("finpulse") if "TO finpulse_worker" in s]
    inserts = {s.split()[3] for s in grants if s.startswith("GRANT INSERT")}
    reads = {s.split()[3] for s in grants if s.startswith("GRANT SELECT")}
    assert "finpulse.subscriptions" not in inserts
    assert reads == {"finpulse.subscriptions", "finpulse.deliveries"}
    assert len(inserts) + len(reads) == len(grants)


def test_roles_are_named_after_the_database() -> None:
    assert access.grant_statements("desk")[:2] == [
        "CREATE ROLE IF NOT EXISTS desk_analyst",
        "CREATE ROLE IF NOT EXISTS desk_worker",
    ]


@pytest.mark.parametrize(
    ("engines", "moves"),
    [
        ({HERE: "ReplacingMergeTree"}, True),  # after the migrations
        ({THERE: "ReplacingMergeTree"}, False),  # interrupted after the move
        ({HERE: "Merge", THERE: "ReplacingMergeTree"}, None),  # done
    ],
)
def test_secrets_move_once_and_leave_a_merge_table(engines: dict[str, str], moves: bool) -> None:
    statements = access.secrets_statements("finpulse", engines)
    if moves is None:
        assert statements == []
        return
    assert (f"RENAME TABLE {HERE} TO {THERE}" in statements) is moves
    assert statements[-1] == (
        f"CREATE TABLE {HERE} AS {THERE} ENGINE = Merge(finpulse_secrets, '^subscriptions$')"
    )


@pytest.mark.parametrize(
    "engines",
    [{}, {HERE: "Merge"}, {HERE: "ReplacingMergeTree", THERE: "ReplacingMergeTree"}],
)
def test_secrets_move_refuses_what_it_cannot_tell(engines: dict[str, str]) -> None:
    with pytest.raises(MigrationError):
        access.secrets_statements("finpulse", engines)


@pytest.mark.parametrize(
    ("engine", "target"),
    [("Merge", "finpulse_secrets.subscriptions"), ("ReplacingMergeTree", "subscriptions")],
)
def test_subscriptions_are_inserted_into_the_real_table(engine: str, target: str) -> None:
    assert access.subscriptions_target("finpulse", engine) == target


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE subscriptions ADD COLUMN report String DEFAULT ''",
        "-- why\nALTER TABLE IF EXISTS subscriptions DROP COLUMN report",
        "alter table subscriptions modify column secret String",
    ],
)
def test_an_alter_of_the_moved_subscriptions_alters_them_and_remakes_the_merge_table(
    statement: str,
) -> None:
    moved, drop, create = access.secrets_layout(statement, database="fp")
    assert "fp_secrets.subscriptions" in moved and moved.count("subscriptions") == 1
    assert drop == "DROP TABLE IF EXISTS fp.subscriptions"
    assert create.startswith(
        "CREATE TABLE fp.subscriptions AS fp_secrets.subscriptions ENGINE = Merge"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE deliveries ADD COLUMN x UInt8",
        "ALTER TABLE subscriptions_old ADD COLUMN x UInt8",
        "CREATE TABLE IF NOT EXISTS subscriptions (a UInt8) ENGINE = Memory",
    ],
)
def test_other_statements_run_as_written(statement: str) -> None:
    assert access.secrets_layout(statement, database="fp") == [statement]
