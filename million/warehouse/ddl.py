"""CREATE TABLE statements from the data contract, per dialect, with column comments and keys."""

from __future__ import annotations

from million.contract import PRIMARY_KEYS, TABLE_COMMENTS, TABLES, UNIQUE_KEYS, Column


def _duck_type(c: Column) -> str:
    t = c.sql_type
    if t.startswith("VARCHAR"):
        return "VARCHAR"
    return {"DATETIME": "TIMESTAMP"}.get(t, t)


def _q(s: str) -> str:
    return s.replace("'", "''")


def _hive_type(c: Column) -> str:
    t = c.sql_type
    if t.startswith("VARCHAR"):
        return "STRING"
    return {"DATETIME": "TIMESTAMP"}.get(t, t)


def _hq(s: str) -> str:  # Spark/Hive string literals escape with a backslash ('' would concatenate)
    return s.replace("\\", "\\\\").replace("'", "\\'")


class AfterLoad(str):
    """A statement a loader runs once the rows are in (DuckDB keys: one ART index build after loading instead of
    an insert per row into a growing index, which made loading 23M rows slow down chunk by chunk)."""


def create_statements(table: str, dialect: str, target: str | None = None, *,
                      keys_after_load: bool = False) -> list[str]:
    """Statements that create `table` (named `target`, default the table itself). With `keys_after_load`, a
    DuckDB table's primary and unique keys come as AfterLoad statements (ALTER TABLE ... ADD ...) instead of in
    the CREATE: the same constraints once the data is in."""
    cols = TABLES[table]
    name = target or table
    pk = ", ".join(PRIMARY_KEYS[table])
    uk = UNIQUE_KEYS.get(table)
    if dialect in {"spark", "hive"}:
        # No keys in Hive/Spark tables (not enforced there); parquet files, column comments kept.
        lines = [f"  `{c.name}` {_hive_type(c)} COMMENT '{_hq(c.comment)}'" for c in cols]
        stored = "USING parquet" if dialect == "spark" else "STORED AS PARQUET"
        comment = f"COMMENT '{_hq(TABLE_COMMENTS[table])}'"
        tail = f"{stored} {comment}" if dialect == "spark" else f"{comment} {stored}"
        return [f"CREATE TABLE `{name}` (\n" + ",\n".join(lines) + f"\n) {tail}"]
    if dialect == "mysql":
        lines = [f"  `{c.name}` {c.sql_type} {'NULL' if c.nullable else 'NOT NULL'} COMMENT '{_q(c.comment)}'" for c in cols]
        lines.append(f"  PRIMARY KEY ({pk})")
        if uk:
            lines.append(f"  UNIQUE KEY `uk_{table}` ({', '.join(f'`{k}`' for k in uk)})")
        if table != "customer_base" and "customer_id" in {c.name for c in cols}:
            lines.append("  KEY `idx_customer_id` (`customer_id`)")
        return [f"CREATE TABLE `{name}` (\n" + ",\n".join(lines) +
                f"\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='{_q(TABLE_COMMENTS[table])}'"]
    lines = [f'  "{c.name}" {_duck_type(c)}{"" if c.nullable else " NOT NULL"}' for c in cols]
    keys = [f"PRIMARY KEY ({pk})"] + ([f"UNIQUE ({', '.join(uk)})"] if uk else [])
    if not keys_after_load:
        lines += [f"  {k}" for k in keys]
    stmts = [f'CREATE TABLE "{name}" (\n' + ",\n".join(lines) + "\n)"]
    if keys_after_load:
        stmts += [AfterLoad(f'ALTER TABLE "{name}" ADD {k}') for k in keys]
    stmts.append(f"COMMENT ON TABLE \"{name}\" IS '{_q(TABLE_COMMENTS[table])}'")
    stmts += [f"COMMENT ON COLUMN \"{name}\".\"{c.name}\" IS '{_q(c.comment)}'" for c in cols]
    return stmts

