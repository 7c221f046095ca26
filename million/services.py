"""Process-wide access to the warehouse and the model/analytics services the tools use.

Loaded lazily once, and reloaded when the warehouse file is swapped or artifacts are rebuilt."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

from million.settings import Settings, get_settings
from million.warehouse import Warehouse, connect


class ServiceUnavailable(RuntimeError):
    """An artifact is missing (not built yet); the message tells the user what to run."""


class Services:
    def __init__(self, settings: Settings, db_url: str | None = None) -> None:
        self.settings = settings
        self.db_url = db_url or settings.warehouse_url
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, Any]] = {}
        engine = {"memory_limit": settings.sql_memory_limit} if self.db_url.startswith("duckdb") else {}
        self.wh: Warehouse = connect(self.db_url, read_only=True, timeout_s=settings.sql_timeout_s, **engine)

    @property
    def artifacts(self) -> Path:
        return self.settings.artifacts_dir

    def _version(self, sub: str) -> str:
        marker = self.artifacts / ".steps"
        stamp = ""
        if marker.exists():
            stamp = "|".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(marker.glob("*.json")))
        return f"{self.wh.version_token()}|{stamp}|{sub}"

    def _get(self, key: str, loader: Any) -> Any:
        version = self._version(key)
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] == version:
                return hit[1]
            try:
                svc = loader(self.artifacts, self.wh)
            except (FileNotFoundError, ModuleNotFoundError) as e:
                raise ServiceUnavailable(f"模型产物尚未构建（{key}）。请先运行 make artifacts。") from e
            self._cache[key] = (version, svc)
            return svc

    def _service(self, key: str, module: str, cls: str) -> Any:
        def loader(artifacts: Path, wh: Warehouse) -> Any:
            return getattr(importlib.import_module(module), cls).load(artifacts, wh)

        return self._get(key, loader)

    def propensity(self) -> Any:
        return self._service("propensity", "million.propensity.serving", "PropensityService")

    def segments(self) -> Any:
        return self._service("segments", "million.segments.serving", "SegmentService")

    def rules(self) -> Any:
        return self._service("rules", "million.rules.serving", "RuleService")

    def forecast(self) -> Any:
        return self._service("forecast", "million.forecast.serving", "ForecastService")

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
