"""Warehouse URLs, parsed once and read by the factory and the backends:

- duckdb:///path/file.duckdb
- mysql+pymysql://user:pw@host:port/db (also Doris / StarRocks: ?dialect=doris or ?dialect=starrocks)
- hive://user[:pw]@host:10000/db[?auth=NONE|NOSASL|LDAP|KERBEROS&dialect=spark|hive&kerberos_service_name=hive]
  (HiveServer2: Hive, the Spark Thrift Server, Kyuubi, Inceptor)"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlparse

from million.warehouse.base import WarehouseError

HIVE_AUTHS = ("NONE", "NOSASL", "LDAP", "KERBEROS", "CUSTOM")
HIVE_DIALECTS = ("spark", "hive")
MYSQL_FLAVOURS = ("mysql", "doris", "starrocks")
# Options a URL may carry, per scheme; anything else is refused (a typo must not silently change auth).
_OPTIONS = {"hive": {"auth", "dialect", "kerberos_service_name"}, "mysql": {"dialect"}}


@dataclass(frozen=True)
class DbUrl:
    scheme: str
    path: str = ""
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    database: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def option(self, name: str, default: str = "") -> str:
        return dict(self.options).get(name, default)

    def redacted(self) -> str:
        if self.scheme == "duckdb":
            return f"duckdb:///{self.path}"
        return f"{self.scheme}://{self.user}:***@{self.host}:{self.port}/{self.database}"


def _options(scheme: str, query: str) -> tuple[tuple[str, str], ...]:
    pairs = parse_qsl(query, keep_blank_values=True)
    unknown = sorted({k for k, _ in pairs} - _OPTIONS.get(scheme, set()))
    if unknown:
        raise WarehouseError(f"连接串参数不支持：{'、'.join(unknown)}（{scheme} 可用：{'、'.join(sorted(_OPTIONS.get(scheme, ())))}）")
    return tuple(sorted(pairs))


def parse_url(url: str) -> DbUrl:
    if url.startswith("duckdb:///"):
        # duckdb:///relative/file.duckdb or duckdb:////absolute/file.duckdb (SQLAlchemy style)
        return DbUrl("duckdb", path=url[len("duckdb:///"):])
    u = urlparse(url)
    if u.scheme in {"mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql"}:
        if not u.path.strip("/"):
            raise WarehouseError("MySQL 连接串缺少数据库名，例如 mysql+pymysql://user:pw@127.0.0.1:3306/bank")
        opts = _options("mysql", u.query)
        flavour = dict(opts).get("dialect", "mysql")
        if flavour not in MYSQL_FLAVOURS:
            raise WarehouseError(f"MySQL 协议的 dialect 只能是 {'、'.join(MYSQL_FLAVOURS)}，收到 {flavour}")
        return DbUrl("mysql", host=u.hostname or "127.0.0.1", port=u.port or 3306, user=unquote(u.username or ""),
                     password=unquote(u.password or ""), database=u.path.strip("/"), options=opts)
    if u.scheme in {"hive", "hive2", "kyuubi"}:
        opts = _options("hive", u.query)
        d = dict(opts)
        auth = d.get("auth", "LDAP" if u.password else "NONE").upper()
        if auth not in HIVE_AUTHS:
            raise WarehouseError(f"HiveServer2 认证方式只能是 {'、'.join(HIVE_AUTHS)}，收到 {auth}")
        if bool(u.password) != (auth in {"LDAP", "CUSTOM"}):
            raise WarehouseError("HiveServer2 连接串：LDAP/CUSTOM 认证需要密码（hive://用户:密码@主机:端口/库），其他认证方式不要写密码")
        dialect = d.get("dialect", "spark").lower()
        if dialect not in HIVE_DIALECTS:
            raise WarehouseError(f"HiveServer2 的 dialect 只能是 spark 或 hive，收到 {dialect}")
        if auth == "KERBEROS" and not d.get("kerberos_service_name"):
            d["kerberos_service_name"] = "hive"
        d.update(auth=auth, dialect=dialect)
        return DbUrl("hive", host=u.hostname or "127.0.0.1", port=u.port or 10000, user=unquote(u.username or ""),
                     password=unquote(u.password or ""), database=u.path.strip("/") or "default",
                     options=tuple(sorted(d.items())))
    raise WarehouseError("不支持的数据库连接串：只支持 duckdb:///文件路径、mysql+pymysql://用户:密码@主机:端口/库名 "
                         "或 hive://用户@主机:10000/库名")
