"""Process-wide access to the warehouse and the model/analytics services the tools use.

Loaded lazily once, and reloaded when the warehouse file is swapped or artifacts are rebuilt."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from million.settings import Settings, get_settings
from million.warehouse import Warehouse, connect, parse_url

if TYPE_CHECKING:
    from million.forecast.serving import ForecastService
    from million.propensity.serving import PropensityService
    from million.rules.serving import RuleService
    from million.segments.serving import SegmentService

T = TypeVar("T")


class ServiceUnavailable(RuntimeError):
    """An artifact is missing (not built yet): `artifact` names which (tools word it for the user)."""

    def __init__(self, artifact: str) -> None:
        super().__init__(f"artifact not built: {artifact}")
        self.artifact = artifact


class Services:
    def __init__(self, settings: Settings, db_url: str | None = None) -> None:
        self.settings = settings
        self.db_url = db_url or settings.warehouse_url
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, Any]] = {}
        engine = {"memory_limit": settings.sql_memory_limit}
        if parse_url(self.db_url).scheme == "hive":
            # A cluster answers in seconds: the per-customer tools read the local copy the batch job
            # refreshes (million/warehouse/local_copy.py); only analysts' SQL goes to the cluster.
            self.analyst_wh: Warehouse = connect(self.db_url, read_only=True, timeout_s=settings.sql_timeout_s)
            self.wh: Warehouse = connect(f"duckdb:///{settings.serving_copy}", read_only=True,
                                         timeout_s=settings.sql_timeout_s, **engine)
        else:
            self.wh = connect(self.db_url, read_only=True, timeout_s=settings.sql_timeout_s,
                              **(engine if self.db_url.startswith("duckdb") else {}))
            self.analyst_wh = self.wh

    @property
    def sql_dialect(self) -> str:
        """The dialect analysts' SQL is written in (the system prompt's dialect)."""
        return self.analyst_wh.dialect

    @property
    def artifacts(self) -> Path:
        return self.settings.artifacts_dir

    def _version(self, sub: str) -> str:
        marker = self.artifacts / ".steps"
        stamp = ""
        if marker.exists():
            stamp = "|".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(marker.glob("*.json")))
        return f"{self.wh.version_token()}|{stamp}|{sub}"

    def _get(self, key: str, loader: Callable[[Path, Warehouse], T]) -> T:
        version = self._version(key)
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] == version:
                return hit[1]
            try:
                svc = loader(self.artifacts, self.wh)
            except FileNotFoundError as e:
                raise ServiceUnavailable(key) from e
            self._cache[key] = (version, svc)
            return svc

    # Typed accessors; each service module is imported when first asked for (the app starts
    # before a build, and a build step needs only its own).
    def propensity(self) -> PropensityService:
        from million.propensity.serving import PropensityService

        return self._get("propensity", PropensityService.load)

    def segments(self) -> SegmentService:
        from million.segments.serving import SegmentService

        return self._get("segments", SegmentService.load)

    def rules(self) -> RuleService:
        from million.rules.serving import RuleService

        return self._get("rules", RuleService.load)

    def forecast(self) -> ForecastService:
        from million.forecast.serving import ForecastService

        return self._get("forecast", ForecastService.load)

    def latest_month(self) -> str:
        df = self.wh.query("SELECT MAX(stat_month) AS m FROM customer_behavior_assets")
        return str(df["m"].iloc[0])


_services: Services | None = None
_services_lock = threading.Lock()


def get_services() -> Services:
    global _services
    with _services_lock:
        if _services is None:
            _services = Services(get_settings())
        return _services


def set_services(services: Services | None) -> None:
    """Tests and the CLI point the tools at another warehouse/artifacts folder."""
    global _services
    with _services_lock:
        _services = services
