"""A branch-scoped user's view of the warehouse, enforced by what the connection can reach rather than
by rewriting their SQL: whatever a query says, it can only read the rows of the user's branches.

DuckDB: a snapshot file per (warehouse version, branch set) holding only the customer tables filtered
to those branches, opened read-only like the main file. MySQL: the same filtered copies as TEMPORARY
tables of the query's own connection, which shadow the real tables of that name (also when written
db.table), made before the session turns read-only. The SQL rewrite (million/scope.py) stays as a
second layer on top."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

# The customer tables a scoped user may read; nothing else goes into a scoped view.
SCOPED_TABLES = ("customer_base", "customer_behavior_assets", "customer_segments")
NO_BRANCH = "\x00none"  # an empty scope matches no row


def scope_key(branches: Sequence[str]) -> list[str]:
    """The branch set as one canonical list (order and duplicates do not make a new scope)."""
    return sorted(set(branches)) or [NO_BRANCH]


def filtered_select(table: str, source: str, n_branches: int, q: str = '"') -> str:
    """SELECT of `table`'s rows in the scope, `?` placeholders for the branches. `source` is the
    qualifier of the real tables ("src." for the snapshot's attached warehouse, "db." for MySQL)."""
    marks = ", ".join(["?"] * n_branches)
    base = f"{source}{q}customer_base{q}"
    if table == "customer_base":
        return f"SELECT * FROM {base} WHERE {q}branch_name{q} IN ({marks})"
    return (f"SELECT * FROM {source}{q}{table}{q} WHERE {q}customer_id{q} IN "
            f"(SELECT {q}customer_id{q} FROM {base} WHERE {q}branch_name{q} IN ({marks}))")


def duck_snapshot(source: Path, token: str, branches: Sequence[str], *, threads: int = 2,
                  memory_limit: str = "2GB") -> Path:
    """The snapshot file for `branches` of the warehouse file `source` at version `token`; built once
    (under a lock, written aside and renamed in), older versions of it removed."""
    import duckdb

    key = scope_key(branches)
    folder = source.parent / ".scoped"
    folder.mkdir(parents=True, exist_ok=True)
    version = hashlib.sha256(f"{source.resolve()}|{token}".encode()).hexdigest()[:12]
    scope = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()[:12]
    path = folder / f"{source.stem}-{version}-{scope}.duckdb"
    if path.exists():
        return path
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if path.exists():
            return path
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp), config={"threads": threads, "memory_limit": memory_limit,
                                               "autoinstall_known_extensions": False,
                                               "autoload_known_extensions": False})
        try:
            src = str(source.resolve()).replace("'", "''")
            con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
            present = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src' "
                "AND table_schema = 'main'").fetchall()}
            for table in SCOPED_TABLES:
                if table in present:
                    con.execute(f'CREATE TABLE "{table}" AS ' + filtered_select(table, "src.main.", len(key)), key)
            con.execute("DETACH src")
            con.execute("CHECKPOINT")
        except BaseException:
            con.close()
            tmp.unlink(missing_ok=True)
            raise
        con.close()
        os.replace(tmp, path)
        for old in folder.glob(f"{source.stem}-*-{scope}.duckdb"):  # the same scope of older data
            if old != path:
                old.unlink(missing_ok=True)
    return path
