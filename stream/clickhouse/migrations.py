"""Versioned ClickHouse schema migrations.

Files live in ``schemas/clickhouse/migrations`` as ``NNNN_verb_entity.up.sql`` with the way back
beside it, ``NNNN_verb_entity.down.sql``. Every statement is idempotent (``IF NOT EXISTS``,
``IF EXISTS``), so a migration interrupted half-way can simply be run again.

Applied versions are recorded in ``schema_migrations`` (one row per change, the latest row per
version wins: plain MergeTree features, so old and new servers agree). A migration whose file
changed after it was applied is an error: add a new migration instead of editing an old one.

The runner talks to the database only through an ``execute(sql) -> rows`` callable, so the same
code migrates a server (clickhouse-driver) and the in-process engine the tests use (chdb).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from stream.clickhouse.sql_text import split_statements
from stream.errors import MigrationError

Execute = Callable[[str], Sequence[Sequence[Any]]]
# A statement of the files -> what to run for it: itself on one server, its ON CLUSTER form on a
# cluster (stream/clickhouse/cluster.py).
Layout = Callable[[str], list[str]]


def single_server(statement: str) -> list[str]:
    return [statement]


# stream/clickhouse/sql is a link to schemas/clickhouse, so the wheel carries the one copy.
DEFAULT_DIR = Path(str(files("stream.clickhouse").joinpath("sql", "migrations")))
_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.(?P<direction>up|down)\.sql$")

VERSION_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32 COMMENT 'migration number, the NNNN of its file name',
    name String COMMENT 'migration name, verb_entity',
    checksum String COMMENT 'sha256 of the up file when it was applied',
    applied UInt8 COMMENT '1 after up, 0 after down',
    changed_at DateTime('UTC') COMMENT 'when this row was written',
    seq UInt64 COMMENT 'nanoseconds since epoch: the highest seq per version is its state'
)
ENGINE = MergeTree
ORDER BY (version, seq)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up_sql: str
    down_sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.up_sql.encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str


def load_migrations(directory: Path = DEFAULT_DIR) -> list[Migration]:
    """Read and check the migration files: numbered 1..N without gaps, each with up and down."""
    files: dict[tuple[int, str], dict[str, str]] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files are named NNNN_verb_entity.up.sql / .down.sql"
            )
        key = (int(match["version"]), match["name"])
        files.setdefault(key, {})[match["direction"]] = path.read_text(encoding="utf-8")
    migrations: list[Migration] = []
    for expected, ((version, name), parts) in enumerate(sorted(files.items()), start=1):
        if version != expected:
            raise MigrationError(
                f"migration {version:04d}_{name}: expected version {expected:04d} next "
                "(versions are consecutive and unique)",
                version=version,
            )
        for direction in ("up", "down"):
            if direction not in parts:
                raise MigrationError(
                    f"migration {version:04d}_{name} has no .{direction}.sql file", version=version
                )
        migrations.append(Migration(version, name, parts["up"], parts["down"]))
    if not migrations:
        # An empty folder means a broken install, never "nothing to do".
        raise MigrationError(
            f"no migrations found in {directory}: the installation is incomplete; "
            "reinstall finpulse (pip install --force-reinstall finpulse)"
        )
    return migrations


def applied_migrations(
    execute: Execute, layout: Layout = single_server
) -> dict[int, AppliedMigration]:
    """The migrations currently applied, by version (empty on a new database)."""
    for statement in layout(VERSION_TABLE_DDL):
        execute(statement)
    rows = execute(
        "SELECT version, argMax(name, seq), argMax(checksum, seq), argMax(applied, seq) "
        "FROM schema_migrations GROUP BY version ORDER BY version"
    )
    return {
        int(version): AppliedMigration(int(version), str(name), str(checksum))
        for version, name, checksum, applied in rows
        if int(applied) == 1
    }


def check_history(migrations: Sequence[Migration], applied: dict[int, AppliedMigration]) -> None:
    """Fail when the database's history disagrees with the files (pure)."""
    known = {m.version: m for m in migrations}
    for version, record in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version:04d}_{record.name}, which is not among the "
                "files: this checkout is older than the database",
                version=version,
            )
        if migration.checksum != record.checksum:
            raise MigrationError(
                f"migration {migration.label} changed after it was applied: restore the file "
                "and add a new migration for the change",
                version=version,
            )


def pending(
    migrations: Sequence[Migration], applied: dict[int, AppliedMigration]
) -> list[Migration]:
    return [m for m in migrations if m.version not in applied]


def migrate(
    execute: Execute,
    migrations: Sequence[Migration],
    target: int | None = None,
    layout: Layout = single_server,
) -> list[Migration]:
    """Apply pending migrations up to ``target`` (default: all); return those applied."""
    applied = applied_migrations(execute, layout)
    check_history(migrations, applied)
    done: list[Migration] = []
    for migration in pending(migrations, applied):
        if target is not None and migration.version > target:
            break
        _run(execute, migration, migration.up_sql, "up", layout)
        _record(execute, migration, applied=1)
        done.append(migration)
    return done


def rollback(
    execute: Execute,
    migrations: Sequence[Migration],
    target: int,
    layout: Layout = single_server,
) -> list[Migration]:
    """Undo applied migrations above ``target``, newest first; return those undone."""
    applied = applied_migrations(execute, layout)
    check_history(migrations, applied)
    done: list[Migration] = []
    for migration in sorted(migrations, key=lambda m: m.version, reverse=True):
        if migration.version <= target or migration.version not in applied:
            continue
        _run(execute, migration, migration.down_sql, "down", layout)
        _record(execute, migration, applied=0)
        done.append(migration)
    return done


def _run(
    execute: Execute, migration: Migration, script: str, direction: str, layout: Layout
) -> None:
    for statement in (s for each in split_statements(script) for s in layout(each)):
        try:
            execute(statement)
        except Exception as exc:
            raise MigrationError(
                f"migration {migration.label} ({direction}) failed: {exc}\nstatement:\n{statement}",
                version=migration.version,
            ) from exc


def _record(execute: Execute, migration: Migration, *, applied: int) -> None:
    # Literal values, not driver parameters: chdb has no parameter binding. Names and checksums
    # come from our own file names (validated by _NAME) and hex digests, never from user input.
    now_ns = time.time_ns()
    execute(
        "INSERT INTO schema_migrations (version, name, checksum, applied, changed_at, seq) "
        f"SELECT {migration.version}, '{migration.name}', '{migration.checksum}', {applied}, "
        f"toDateTime({now_ns // 1_000_000_000}, 'UTC'), {now_ns}"
    )
