"""Warehouse access behind one small interface: DuckDB (embedded default) or MySQL (pymysql)."""

from million.warehouse.base import QueryTimeout, Warehouse, WarehouseError
from million.warehouse.factory import connect, parse_url

__all__ = ["QueryTimeout", "Warehouse", "WarehouseError", "connect", "parse_url"]
