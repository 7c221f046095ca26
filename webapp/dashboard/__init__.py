"""The big-screen dashboard (可视化大屏) as a FastAPI router the web app mounts beside the chat."""

from webapp.dashboard.router import dashboard_router

__all__ = ["dashboard_router"]
