"""`dashboard_router(settings)`: GET /dashboard (page), /dashboard/api/data (JSON), /dashboard/static/*.

    app.include_router(dashboard_router(get_settings()))
    # with logins: a callable that checks the request and returns the user's branches (None = all),
    # raising fastapi.HTTPException(401/403) to refuse it
    app.include_router(dashboard_router(s, access=lambda request: user_branches(request)))
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from million.dashboard import DashboardService, FilterError
from million.dashboard.warmer import DashboardWarmer
from million.settings import Settings, get_settings
from million.warehouse import WarehouseError

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The browser may talk to this server only: a second guard, beside the code, that nothing loads from
# a CDN. ECharts' tooltips write inline styles, hence 'unsafe-inline' for styles only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
MAX_PARAM_LEN = 200
# Request -> the branches the caller may see (None = all); raises HTTPException to refuse.
Access = Callable[[Request], "tuple[str, ...] | None"]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


def dashboard_router(settings: Settings | None = None, *, service: DashboardService | None = None,
                     access: Access | None = None, prefix: str = "/dashboard", warm: bool = True) -> APIRouter:
    """A self-contained router. `service` lets tests and benches pass their own warehouse; `access`
    ties it to the app's logins and branch scopes (without it, everyone sees every branch)."""
    s = settings or get_settings()
    svc = service or DashboardService(s.warehouse_url, s.artifacts_dir, timeout_s=s.sql_timeout_s)
    warmer = DashboardWarmer(svc).start() if warm else None
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8").replace("__PREFIX__", prefix)
    router = APIRouter()
    router.dashboard_service = svc  # type: ignore[attr-defined]  # the app may warm or inspect it
    router.dashboard_warmer = warmer  # type: ignore[attr-defined]

    def scope_of(request: Request) -> tuple[str, ...] | None:
        return access(request) if access else None

    @router.get(prefix, response_class=HTMLResponse, include_in_schema=False)
    def dashboard_page(request: Request) -> HTMLResponse:
        scope_of(request)  # refuses (HTTPException) before the page is served
        return HTMLResponse(page, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                           "X-Content-Type-Options": "nosniff"})

    @router.get(prefix + "/", include_in_schema=False)
    def dashboard_slash() -> RedirectResponse:
        return RedirectResponse(prefix, status_code=307)

    @router.get(prefix + "/api/data")
    def dashboard_data(request: Request, branch: str = "", month: str = "") -> Response:
        """All panels for one branch ('' = 全部) and month ('' = 最新月份)."""
        scope = scope_of(request)
        if len(branch) > MAX_PARAM_LEN or len(month) > MAX_PARAM_LEN:
            return _error(400, "筛选参数过长。")
        try:
            data = svc.data(branch or None, month or None, scope)
        except FilterError as e:
            return _error(400, str(e))
        except WarehouseError as e:
            return _error(503, f"数据仓库不可用：{e}")
        except Exception:  # noqa: BLE001 - the page shows a message; the log keeps the details
            log.exception("dashboard data failed")
            return _error(500, "大屏数据加载失败，请稍后重试。")
        return JSONResponse(data, headers={"Cache-Control": "no-store"})

    @router.get(prefix + "/static/{path:path}", include_in_schema=False)
    def dashboard_static(path: str, request: Request) -> Response:
        file = (STATIC_DIR / path).resolve()
        if not file.is_relative_to(STATIC_DIR) or not file.is_file() or file.name == "index.html":
            return Response("未找到", status_code=404, media_type="text/plain; charset=utf-8")
        st = file.stat()
        etag = '"' + hashlib.md5(f"{st.st_mtime_ns}-{st.st_size}".encode(), usedforsecurity=False).hexdigest() + '"'
        headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        media = mimetypes.guess_type(file.name)[0] or ("text/plain" if not file.suffix else "application/octet-stream")
        if media.startswith("text/") or media in {"application/javascript", "text/javascript"}:
            media += "; charset=utf-8"
        return Response(file.read_bytes(), media_type=media, headers=headers)

    return router
