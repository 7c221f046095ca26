"""The seven assistant tools, registered with qwen-agent on import. Each module is a thin wrapper:
validate arguments, call the domain code in million/, format the result."""

from tools.explain_customer import ExplainCustomer
from tools.forecast_aum import ForecastAum
from tools.predict_million_prob import PredictMillionProb
from tools.python_inter import PythonInter
from tools.recommend_products import RecommendProducts
from tools.segment_lookup import SegmentLookup
from tools.sql_inter import SqlInter

TOOL_CLASSES = (SqlInter, PythonInter, PredictMillionProb, ExplainCustomer, SegmentLookup, RecommendProducts,
                ForecastAum)
TOOL_NAMES = [c.name for c in TOOL_CLASSES]


def all_tools() -> list:
    return [c() for c in TOOL_CLASSES]


__all__ = ["TOOL_CLASSES", "TOOL_NAMES", "all_tools"]
