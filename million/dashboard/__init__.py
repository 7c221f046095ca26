"""Data layer of the big-screen dashboard (可视化大屏): cached, filter-validated warehouse queries
returning plain JSON-able dicts. The web layer lives in webapp/dashboard/."""

from million.dashboard.filters import FilterError, FilterOptions, Filters
from million.dashboard.service import PANEL_TITLES, PANELS, DashboardService

__all__ = ["PANEL_TITLES", "PANELS", "DashboardService", "FilterError", "FilterOptions", "Filters"]
