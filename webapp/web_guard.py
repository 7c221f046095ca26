"""What the server enforces around the Gradio app, for every request: security headers with a
Content-Security-Policy (no external images, scripts, styles, fonts, forms or connections), no API
schema without login, no uploads (the UI has no upload control), files served only to the user they
were made for, and the login / logout routes (webapp/login.py) in place of Gradio's own."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webapp.login import WRONG, LoginService

CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' blob:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'self'; base-uri 'self'; object-src 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"SAMEORIGIN")]
SCHEMA_PATHS = ("/openapi.json", "/docs", "/redoc")
FILE_ROUTE = "/gradio_api/file="
MAX_JOIN_BYTES = 1024 * 1024  # a queue join carries the inputs: a question of at most a few KB


class FileOwners:
    """Which user may fetch which cached file. Gradio copies a file it serves into its cache as
    <cache>/<hash of the content>/<name>; a user may fetch a cached copy only when the same content
    is one of their own files (their conversation and report folders), so a path seen by someone
    else (a shared screen, a log line) opens nothing."""

    def __init__(self, roots_of: Callable[[str], list[Path]], hash_file: Callable[[Path], str],
                 cached_name: Callable[[str], str]) -> None:
        self.roots_of = roots_of
        self.hash_file = hash_file
        self.cached_name = cached_name  # the name Gradio gives the copy of a file of that name
        self._known: dict[Path, tuple[int, str]] = {}  # file -> (mtime, content hash), for every user
        self._lock = threading.Lock()

    def owns(self, user: str, digest: str, name: str) -> bool:
        """Whether one of the user's files has this name and content. Only files of that name are
        hashed (once per version), not every file the user has."""
        with self._lock:
            for root in self.roots_of(user):
                for f in root.rglob("*") if root.is_dir() else []:
                    if not f.is_file() or self.cached_name(f.name) != name:
                        continue
                    mtime = f.stat().st_mtime_ns
                    if self._known.get(f, (None, ""))[0] != mtime:
                        self._known[f] = (mtime, self.hash_file(f))
                    if self._known[f][1] == digest:
                        return True
            return False

    def may_fetch(self, user: str, cached: Path, cache_dir: Path) -> bool:
        """Only cached copies of the user's own files; anything else this app never serves."""
        try:
            rel = cached.resolve().relative_to(cache_dir.resolve())
        except ValueError:
            return False
        return len(rel.parts) == 2 and self.owns(user, rel.parts[0], rel.parts[1])


class WebGuard:
    """ASGI middleware in front of everything (dashboard routes and the mounted Gradio app)."""

    def __init__(self, app: ASGIApp, *, logins: bool, user_of: Callable[[Scope], str | None],
                 owners: FileOwners | None, cache_dir: Path,
                 events: Callable[[], tuple[set[int], set[str]]]) -> None:
        self.app = app
        self.logins = logins
        self.user_of = user_of
        self.owners = owners
        self.cache_dir = cache_dir
        self.events = events  # the app's event ids (Gradio fn_index) and API names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in HEADERS if h[0] not in names)]
            await send(message)

        refusal = await self._refusal(scope)
        if refusal is None and scope.get("method") == "POST" and scope["path"].rstrip("/").endswith("/queue/join"):
            refusal, receive = await self._check_join(receive)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    async def _check_join(self, receive: Receive) -> tuple[Any, Receive]:
        """A queue join must name one of the app's events: anything else is a client error (400),
        not a KeyError answered with 500. The body is read here and replayed to the app."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return PlainTextResponse("请求已中断。", status_code=400), receive
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > MAX_JOIN_BYTES:
                return PlainTextResponse("请求过大。", status_code=413), receive
        body = b"".join(chunks)
        try:
            fn = json.loads(body or b"{}").get("fn_index")
        except (ValueError, AttributeError):
            return PlainTextResponse("请求格式错误。", status_code=400), receive
        if fn is not None and fn not in self.events()[0]:
            return PlainTextResponse("未知的操作。", status_code=400), receive
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return None, replay

    async def _refusal(self, scope: Scope) -> Any:
        path: str = scope.get("path", "")
        if path.endswith(SCHEMA_PATHS):
            return PlainTextResponse("未找到。", status_code=404)
        if path.rstrip("/").endswith("/gradio_api/upload") or path.rstrip("/").endswith("/upload_progress"):
            return PlainTextResponse("本应用不接受上传文件。", status_code=403)
        api = re.search(r"/gradio_api/(?:run|call)/([^/]+)", path)
        if api and unquote(api.group(1)) not in self.events()[1]:
            return PlainTextResponse("未知的接口。", status_code=404)
        if self.logins and self.owners is not None and FILE_ROUTE in path:
            user = self.user_of(scope)
            target = Path(unquote(path.split(FILE_ROUTE, 1)[1]))
            if user is None:
                return PlainTextResponse("请先登录。", status_code=401)
            allowed = await anyio.to_thread.run_sync(self.owners.may_fetch, user, target, self.cache_dir)
            if not allowed:
                return PlainTextResponse("无权访问该文件。", status_code=403)
        return None


def cookie_token(scope: Scope, cookie_id: str) -> str | None:
    cookies = HTTPConnection(scope).cookies
    return cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")


def add_login_routes(app: FastAPI, service: LoginService, gradio_app: Callable[[], Any]) -> None:
    """POST /login and POST /logout in front of Gradio's (same form fields and answers, so the page
    and gradio_client work unchanged); GET /logout is refused (a link on another site must not log
    the user out)."""
    limiter = anyio.CapacityLimiter(1)  # one PBKDF2 at a time: the other core keeps serving

    @app.post("/login")
    @app.post("/login/")
    async def login(request: Request) -> Any:
        form = await request.form()
        username, password = str(form.get("username") or ""), str(form.get("password") or "")
        address = request.client.host if request.client else "?"
        ok, message = await anyio.to_thread.run_sync(service.check, username, password, address, limiter=limiter)
        if not ok:
            status = 429 if message != WRONG else 400
            return JSONResponse({"detail": message}, status_code=status)
        gapp = gradio_app()
        token = os.urandom(24).hex()
        gapp.tokens[token] = username.strip()
        response = JSONResponse({"success": True})
        for name, secure in ((f"access-token-{gapp.cookie_id}", True), (f"access-token-unsecure-{gapp.cookie_id}", False)):
            response.set_cookie(name, token, httponly=True, samesite="strict", secure=secure, path="/")
        return response

    @app.get("/logout")
    def logout_get() -> Any:
        return PlainTextResponse("请使用页面上的“退出登录”按钮（POST /logout）。", status_code=405)

    @app.post("/logout")
    async def logout(request: Request) -> Any:
        origin = request.headers.get("origin")
        host = request.headers.get("host", "")
        if origin and origin.split("://", 1)[-1] != host:
            return PlainTextResponse("跨站请求已拒绝。", status_code=403)
        gapp = gradio_app()
        token = cookie_token(request.scope, gapp.cookie_id)
        if token:
            gapp.tokens.pop(token, None)
        response = RedirectResponse("/", status_code=303)
        for name in (f"access-token-{gapp.cookie_id}", f"access-token-unsecure-{gapp.cookie_id}"):
            response.delete_cookie(name, path="/")
        return response
