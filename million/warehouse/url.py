"""Warehouse URLs: duckdb:///path/file.duckdb or mysql+pymysql://user:pw@host:port/db (parsed once,
read by the factory and the backends)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from million.warehouse.base import WarehouseError


@dataclass(frozen=True)
class DbUrl:
    scheme: str
    path: str = ""
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    database: str = ""

    def redacted(self) -> str:
        if self.scheme == "duckdb":
            return f"duckdb:///{self.path}"
        return f"{self.scheme}://{self.user}:***@{self.host}:{self.port}/{self.database}"


def parse_url(url: str) -> DbUrl:
    if url.startswith("duckdb:///"):
        # duckdb:///relative/file.duckdb or duckdb:////absolute/file.duckdb (SQLAlchemy style)
        return DbUrl("duckdb", path=url[len("duckdb:///"):])
    u = urlparse(url)
    if u.scheme in {"mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql"}:
        if not u.path.strip("/"):
            raise WarehouseError("MySQL 连接串缺少数据库名，例如 mysql+pymysql://user:pw@127.0.0.1:3306/bank")
        return DbUrl("mysql", host=u.hostname or "127.0.0.1", port=u.port or 3306, user=unquote(u.username or ""),
                     password=unquote(u.password or ""), database=u.path.strip("/"))
    raise WarehouseError("不支持的数据库连接串：只支持 duckdb:///文件路径 或 mysql+pymysql://用户:密码@主机:端口/库名")
