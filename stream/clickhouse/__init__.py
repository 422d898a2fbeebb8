"""ClickHouse: the client, the tables, the sinks, migrations and the SQL cookbook."""
