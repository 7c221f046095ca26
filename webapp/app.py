"""Compose the server: FastAPI with the dashboard routes and the Gradio chat mounted at "/".
`create_app` builds it; launching is assistant_bot.py's job."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI, HTTPException, Request, Response
from gradio.processing_utils import hash_file
from gradio_client.utils import strip_invalid_filename_characters

from agent.bot import build_assistant
from million.services import get_services
from million.settings import Settings, get_settings
from webapp.auth import load_users
from webapp.conversations import ConversationStore
from webapp.history_store import HistoryDB
from webapp.login import ExpiringTokens, LoginService
from webapp.reports import ReportLibrary
from webapp.ui import CSS, build_blocks
from webapp.web_guard import FileOwners, WebGuard, add_login_routes, cookie_token

_HERE = Path(__file__).resolve().parent
# Served from this app (no CDN): ECharts as vendored for the dashboard, and the chat's chart drawer.
CHAT_ASSETS = {"echarts.min.js": _HERE / "dashboard" / "static" / "vendor" / "echarts" / "echarts.min.js",
               "chat_charts.js": _HERE / "static" / "chat_charts.js"}
CHAT_HEAD = ('<script src="/chat-assets/echarts.min.js"></script>'
             '<script src="/chat-assets/chat_charts.js"></script>')

log = logging.getLogger(__name__)


def _examples(branches: tuple[str, ...] | None = None) -> dict[str, str]:
    """A real customer and branch for the prompt suggestions (the top prospect when models exist).
    `branches`: a scoped user's; the examples are then theirs (a suggestion they may not open is no help)."""
    wh = get_services().wh
    cust, branch = "C0000001", "上海分行"
    try:
        top = get_services().propensity().top(1, branches=branches)
        if len(top):
            cust = str(top["customer_id"].iloc[0])
    except Exception:  # models not built yet: any customer will do
        where, params = ("", []) if branches is None else (
            f"WHERE branch_name IN ({', '.join('?' for _ in branches)}) ", list(branches))
        df = wh.query(f"SELECT customer_id FROM customer_base {where}ORDER BY customer_id LIMIT 1", params)
        if len(df):
            cust = str(df["customer_id"].iloc[0])
    if branches:
        return {"customer": cust, "branch": branches[0]}
    df = wh.query("SELECT branch_name, COUNT(*) AS n FROM customer_base GROUP BY branch_name ORDER BY n DESC LIMIT 1")
    if len(df):
        branch = str(df["branch_name"].iloc[0])
    return {"customer": cust, "branch": branch}


def create_app(settings: Settings | None = None, llm: Any = None, planner_llm: Any = None) -> FastAPI:
    """`llm` overrides the backend chosen from settings (tests pass a scripted model); `planner_llm`
    answers plan-mode planning calls (default: the same model)."""
    s = settings or get_settings()
    users = load_users(s.users_file)
    history = HistoryDB(s.history_db)  # saved conversations and the report index survive restarts
    store = ConversationStore(s.data_dir / "sessions", s.max_tool_calls_per_turn, db=history)
    reports = ReportLibrary(s.reports_dir, history)
    lock = threading.Lock()
    bot: dict[str, Any] = {}

    def get_bot() -> Any:
        with lock:
            if "bot" not in bot:
                bot["bot"] = build_assistant(s, llm=llm)
            return bot["bot"]

    app = FastAPI(title="百万客群营销助手", docs_url=None, redoc_url=None, openapi_url=None)
    gradio_app: dict[str, Any] = {}

    def dashboard_access(request: Request) -> tuple[str, ...] | None:
        """The dashboard sits behind the same login as the chat and honours the user's branch scope."""
        if not users:
            return None
        gapp = gradio_app.get("app")
        cookie = getattr(gapp, "cookie_id", "")
        token = request.cookies.get(f"access-token-{cookie}") or request.cookies.get(f"access-token-unsecure-{cookie}")
        name = gapp.tokens.get(token) if gapp is not None and token else None
        if name not in users:
            raise HTTPException(status_code=401, detail="请先登录（访问 / 登录后再打开大屏）")
        return users[name].branches

    from webapp.dashboard import dashboard_router

    app.include_router(dashboard_router(s, access=dashboard_access, warm=True))

    @app.get("/chat-assets/{name}", include_in_schema=False)
    def chat_asset(name: str) -> Response:
        """The chat page's own scripts (its charts are drawn in the browser); a fixed list, no paths."""
        path = CHAT_ASSETS.get(name)
        if path is None:
            return Response(status_code=404)
        return Response(path.read_bytes(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "mode": s.llm_mode}

    demo = build_blocks(s, store, get_bot, users, _examples(), reports=reports, planner_llm=planner_llm,
                        examples_for=lambda u: _examples(u.branches) if u.branches is not None else None)
    demo.queue(default_concurrency_limit=s.max_concurrent_turns, max_size=s.queue_size)
    auth = None
    if users:
        # Gradio needs an auth callable to require login; the login itself is add_login_routes'.
        login = LoginService(users)

        def auth(username: str, password: str) -> bool:
            return login.check(username, password, "gradio")[0]

        add_login_routes(app, login, lambda: gradio_app["app"])
    theme = gr.themes.Soft(font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "sans-serif"],
                           font_mono=["monospace"])  # plain names: no web-font download
    app = gr.mount_gradio_app(app, demo, path="/", auth=auth, auth_message="请登录百万客群营销助手",
                              footer_links=[], theme=theme, css=CSS, head=CHAT_HEAD, ssr_mode=False, mcp_server=False,
                              enable_monitoring=False, pwa=False, max_file_size="1mb")
    gapp = next(r.app for r in app.routes if getattr(r, "path", None) == "" or getattr(r, "path", None) == "/")
    gapp.tokens = ExpiringTokens(s.session_ttl_s, s.session_idle_s)
    gradio_app["app"] = gapp
    owners = (FileOwners(lambda user: [store.user_dir(user), reports.user_dir(user)], hash_file,
                         strip_invalid_filename_characters) if users else None)
    app.add_middleware(WebGuard, logins=bool(users), owners=owners, cache_dir=Path(gapp.uploaded_file_dir),
                       user_of=lambda scope: gapp.tokens.get(cookie_token(scope, gapp.cookie_id)),
                       events=lambda: (set(demo.fns), {str(f.api_name).lstrip("/") for f in demo.fns.values()}))
    return app
