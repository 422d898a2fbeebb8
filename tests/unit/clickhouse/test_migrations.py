from pathlib import Path

import pytest

from stream.clickhouse.migrations import (
    AppliedMigration,
    Migration,
    check_history,
    load_migrations,
    pending,
)
from stream.errors import MigrationError


def _write(directory: Path, *names: str) -> None:
    for name in names:
        (directory / name).write_text("SELECT 1;\n")


def test_shipped_migrations_are_consecutive_with_way_back() -> None:
    files = load_migrations()
    assert [m.version for m in files] == list(range(1, len(files) + 1))
    assert all(m.up_sql.strip() and m.down_sql.strip() for m in files)


def test_load_orders_by_version(tmp_path: Path) -> None:
    _write(tmp_path, "0002_b_x.up.sql", "0002_b_x.down.sql", "0001_a_x.up.sql", "0001_a_x.down.sql")
    assert [m.label for m in load_migrations(tmp_path)] == ["0001_a_x", "0002_b_x"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["0001_a.up.sql"], "no .down.sql"),
        (
            ["0001_a.up.sql", "0001_a.down.sql", "0003_c.up.sql", "0003_c.down.sql"],
            "expected version 0002",
        ),
        (["1_bad.up.sql"], "named NNNN_verb_entity"),
        (["0001_Create.up.sql"], "named NNNN_verb_entity"),
    ],
)
def test_load_rejects_bad_sets(tmp_path: Path, names: list[str], message: str) -> None:
    _write(tmp_path, *names)
    with pytest.raises(MigrationError, match=message):
        load_migrations(tmp_path)


def _migration(version: int, up: str = "SELECT 1") -> Migration:
    return Migration(version, f"m{version}", up, "SELECT 0")


def test_check_history_accepts_matching_database() -> None:
    files = [_migration(1), _migration(2)]
    applied = {1: AppliedMigration(1, "m1", files[0].checksum)}
    check_history(files, applied)
    assert pending(files, applied) == [files[1]]


def test_check_history_refuses_edited_migration() -> None:
    applied = {1: AppliedMigration(1, "m1", _migration(1, "SELECT 2").checksum)}
    with pytest.raises(MigrationError, match="changed after it was applied"):
        check_history([_migration(1)], applied)


def test_check_history_refuses_database_newer_than_files() -> None:
    applied = {
        1: AppliedMigration(1, "m1", _migration(1).checksum),
        2: AppliedMigration(2, "m2", "x"),
    }
    with pytest.raises(MigrationError, match="older than the database"):
        check_history([_migration(1)], applied)
