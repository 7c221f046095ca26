"""The big-screen dashboard (可视化大屏) as a FastAPI router the web app mounts beside the chat:

    from webapp.dashboard import dashboard_router
    app.include_router(dashboard_router(settings))          # GET /dashboard, /dashboard/api/data, /dashboard/static/*
    app.include_router(dashboard_router(settings, access=f)) # f(request) -> allowed branches or None; may raise 401/403
"""

from webapp.dashboard.router import dashboard_router

__all__ = ["dashboard_router"]
