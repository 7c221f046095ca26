"""Open a warehouse from a URL: duckdb:///path/file.duckdb, mysql+pymysql://user:pw@host:port/db or
hive://user@host:10000/db (see million/warehouse/url.py)."""

from __future__ import annotations

from million.warehouse.base import Warehouse
from million.warehouse.url import DbUrl, parse_url

__all__ = ["DbUrl", "connect", "parse_url"]


def connect(url: str, *, read_only: bool = True, **options: object) -> Warehouse:
    parsed = parse_url(url)
    if parsed.scheme == "duckdb":
        from million.warehouse.duck import DuckWarehouse

        return DuckWarehouse(parsed.path, read_only=read_only, **options)  # type: ignore[arg-type]
    if parsed.scheme == "hive":
        from million.warehouse.hive import HiveWarehouse

        return HiveWarehouse(parsed, read_only=read_only, **options)  # type: ignore[arg-type]
    from million.warehouse.mysql import MySQLWarehouse

    return MySQLWarehouse(parsed, read_only=read_only, **options)  # type: ignore[arg-type]
