"""The offline router's decisions, as plain functions: which tools to call for a message, and the
final answer composed only from the tool results. No qwen-agent types here, so it is easy to test."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

ID_TOKEN = re.compile(r"(?<![A-Za-z0-9_.\-])[A-Za-z0-9][A-Za-z0-9_.\-]{3,31}(?![A-Za-z0-9_.\-])")
SQL_START = re.compile(r"^\s*(select|with)\b", re.I)
HORIZON = re.compile(r"(\d{1,2})\s*个?月")
# Requests to change data are refused before any tool runs, even when they name a real customer:
# a brief would read as if the change were being acted on. (SQL writes are refused by sql_inter itself.)
WRITE_INTENT = re.compile(r"改成|改为|修改|更改|篡改|删除|删掉|清空|清除|更新.{0,12}(数据|资产|余额|记录|客户)|"
                          r"插入|新增一条|调整.{0,12}(资产|余额)|\b(drop|truncate|update|insert|delete|alter)\b", re.I)
REFUSE_WRITE = ("这个请求要修改或删除数据，我不能执行：助手对数据仓库只有只读权限，所有数据变更需走行内正式流程"
                "（由数据管理员在业务系统中处理）。我可以帮您查询或分析现有数据，例如输入客户ID查看其营销简报。")
# The conversation memory (agent/memory.py) names the subject under discussion on a line starting
# with this mark in the system message, so follow-ups still resolve after old turns are trimmed.
SUBJECT_MARK = "【当前讨论对象】"

COMMANDS = [
    ("高潜客户名单 [分行]", "列出未来3个月最可能达到百万的潜客（排除冷静期），可加分行名"),
    ("客群概览 / 客群 高潜力活跃型客户", "全部客群或某个客群的画像与营销方案"),
    ("产品关联规则", "最强的产品关联规则（支持度、置信度、提升度）"),
    ("AUM预测 [分行 或 客群] [N个月]", "总AUM、分行或客群的趋势预测"),
    ("全局解释", "模型整体最重要的因素（SHAP）"),
    ("SELECT ... / WITH ...", "直接执行一条只读 SQL"),
    ("客户ID（如 C0000123）", "该客户的完整营销简报：概率、原因、客群、推荐产品、AUM趋势、话术"),
]


@dataclass
class Call:
    tool: str
    args: dict = field(default_factory=dict)
    purpose: str = ""

    def json_args(self) -> str:
        return json.dumps(self.args, ensure_ascii=False)


@dataclass
class Plan:
    kind: str  # brief | single | help | refuse
    calls: list[Call]
    subject: str = ""


@dataclass
class Lookup:
    """What the router may ask the warehouse: does a customer exist, which branches/segments exist."""
    customer_exists: Callable[[str], bool]
    branches: Callable[[], list[str]]
    segments: Callable[[], list[str]]


def brief_calls(cid: str) -> list[Call]:
    return [
        Call("predict_million_prob", {"customer_id": cid}, "百万概率与排名"),
        Call("explain_customer", {"customer_id": cid}, "主要原因（SHAP）"),
        Call("segment_lookup", {"customer_id": cid}, "所属客群与营销方案"),
        Call("recommend_products", {"customer_id": cid}, "推荐产品及规则依据"),
        Call("forecast_aum", {"customer_id": cid}, "未来3个月AUM趋势"),
    ]


def _find_branch(text: str, lookup: Lookup) -> str | None:
    for b in sorted(lookup.branches(), key=len, reverse=True):
        if b in text:
            return b
    m = re.search(r"([\u4e00-\u9fff]{2,6}分行)", text)
    return m.group(1) if m and any(m.group(1) in b for b in lookup.branches()) else None


def _find_segment(text: str, lookup: Lookup) -> str | None:
    for s in lookup.segments():
        if s and s in text:
            return s
    return None


def find_customer(text: str, lookup: Lookup) -> str | None:
    for tok in ID_TOKEN.findall(text):
        if lookup.customer_exists(tok):
            return tok
    return None


def customer_in_note(text: str, lookup: Lookup) -> str | None:
    m = re.search(re.escape(SUBJECT_MARK) + r"([^\n]*)", text)
    return find_customer(m.group(1), lookup) if m else None


def plan_for(text: str, previous_customer: str | None, lookup: Lookup) -> Plan:
    t = text.strip()
    if SQL_START.match(t):
        return Plan("single", [Call("sql_inter", {"sql": t}, "执行 SQL")])
    if WRITE_INTENT.search(t):
        return Plan("refuse", [])
    cid = find_customer(t, lookup)
    if cid:
        return Plan("brief", brief_calls(cid), cid)
    branch = _find_branch(t, lookup)
    segment = _find_segment(t, lookup)
    hm = HORIZON.search(t)
    horizon = min(max(int(hm.group(1)), 1), 12) if hm else 3
    # Keywords are matched with the names taken out: "高潜力活跃型客户" is a segment, not a list request.
    k = t.replace(segment or "\0", "").replace(branch or "\0", "")
    if "高潜" in k or "潜客" in k or "名单" in k:
        args: dict = {"top_n": 20}
        if branch:
            args["branch_name"] = branch
        if segment:
            args["segment"] = segment
        return Plan("single", [Call("predict_million_prob", args, "高潜客户名单")])
    if "关联" in k or "规则" in k:
        return Plan("single", [Call("recommend_products", {}, "产品关联规则")])
    if "预测" in k or "趋势" in k or "AUM" in k.upper():
        if previous_customer and re.search(r"他|她|该客户|这位", t):
            return Plan("single", [Call("forecast_aum", {"customer_id": previous_customer, "horizon": horizon})],
                        previous_customer)
        args = {"horizon": horizon}
        if branch:
            args["branch_name"] = branch
        elif segment:
            args["segment"] = segment
        return Plan("single", [Call("forecast_aum", args, "AUM预测")])
    if "客群" in k or "分群" in k:
        if previous_customer and re.search(r"他|她|该客户|这位", t):
            return Plan("single", [Call("segment_lookup", {"customer_id": previous_customer})], previous_customer)
        return Plan("single", [Call("segment_lookup", {"segment": segment} if segment else {}, "客群")])
    if "全局" in k or "重要因素" in k or "重要特征" in k:
        return Plan("single", [Call("explain_customer", {}, "全局解释")])
    if previous_customer:  # follow-ups about the customer under discussion
        if re.search(r"产品|推荐|适合|买", t):
            return Plan("single", [Call("recommend_products", {"customer_id": previous_customer})], previous_customer)
        if re.search(r"为什么|原因|解释", t):
            return Plan("single", [Call("explain_customer", {"customer_id": previous_customer})], previous_customer)
        if re.search(r"概率|可能|达到", t):
            return Plan("single", [Call("predict_million_prob", {"customer_id": previous_customer})], previous_customer)
        if "分行" in t:
            return Plan("single", [Call("predict_million_prob", {"customer_id": previous_customer}),
                                   Call("sql_inter", {"sql": branch_sql(previous_customer)})], previous_customer)
    return Plan("help", [])


def branch_sql(cid: str) -> str:
    safe = cid.replace("'", "''")  # cid already passed the lookup; quoting is belt and braces
    return ("SELECT b.branch_name AS 分行, COUNT(*) AS 客户数, SUM(a.total_assets) AS 总AUM, "
            "SUM(CASE WHEN a.total_assets >= 1000000 THEN 1 ELSE 0 END) AS 百万客户数 "
            "FROM customer_behavior_assets a JOIN customer_base b ON a.customer_id = b.customer_id "
            "WHERE a.stat_month = (SELECT MAX(stat_month) FROM customer_behavior_assets) AND b.branch_name = "
            f"(SELECT branch_name FROM customer_base WHERE customer_id = '{safe}') GROUP BY b.branch_name")


def help_text(mode_hint: str) -> str:
    lines = ["当前为**离线模式**（未配置大模型），我只能理解以下指令：", ""]
    lines += [f"- `{c}`：{d}" for c, d in COMMANDS]
    lines += ["", mode_hint]
    return "\n".join(lines)


ENABLE_LLM_HINT = ("如需自由提问，请配置大模型后重启：设置环境变量 `DASHSCOPE_API_KEY`（通义千问 DashScope），"
                   "或内网部署时设置 `LLM_BASE_URL`、`LLM_MODEL`（vLLM / Ollama 等 OpenAI 兼容服务）。")


def _first(pattern: str, text: str) -> str | None:
    m = re.search(pattern, text)
    return m.group(1).strip() if m else None


def compose_brief(cid: str, results: list[tuple[str, str]]) -> str:
    """The RM brief from the five tool results (their text, as the LLM would see it)."""
    by = dict(results)
    prob = _first(r"概率：\*\*([\d.]+%)\*\*", by.get("predict_million_prob", ""))
    seg = _first(r"属于「(.+?)」", by.get("segment_lookup", ""))
    rec_text = by.get("recommend_products", "")
    product = _first(r"\n\| ([^|\s]+) \| [^|]*→", rec_text)
    cool = "冷静期" in by.get("predict_million_prob", "") or "冷静期" in rec_text
    parts = [f"## 客户 {cid} 营销简报", ""]
    titles = {"predict_million_prob": "百万概率", "explain_customer": "主要原因", "segment_lookup": "所属客群",
              "recommend_products": "推荐产品", "forecast_aum": "AUM 趋势"}
    for i, (tool, text) in enumerate(results, 1):
        parts += [f"### {i}. {titles.get(tool, tool)}", text, ""]
    parts.append("### 建议话术")
    if not prob:
        parts.append("主要工具没有返回结果（见上），暂不生成话术；请先处理上面的提示后重试。")
    elif cool:
        parts.append("该客户处于营销冷静期：本次只做服务性关怀（如资产到期提醒、账户安全），不主动推荐产品。")
    else:
        hook = f"结合您目前的资产配置，{product}可能比较适合您" if product else "结合您目前的资产配置"
        parts.append(f"「您好，我是您的专属客户经理。看到您最近对理财比较关注，{hook}，"
                     "我帮您整理了一份配置建议，方便的时候约十分钟跟您详细聊聊？」")
    summary = []
    if prob:
        summary.append(f"未来3个月达到百万的概率 {prob}")
    if seg:
        summary.append(f"属于{seg}")
    if product:
        summary.append(f"首推{product}")
    if summary:
        parts.insert(2, "**要点**：" + "；".join(summary) + "。\n")
    return "\n".join(parts)


def compose_single(results: list[tuple[str, str]]) -> str:
    return "\n\n".join(text for _, text in results)
