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
    ("各分行客户数 / 各网点AUM排名前10", "各分行（或网点）最新月的客户数、百万客户数与总AUM"),
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
    kind: str  # brief | products | single | help | refuse | answer (a fixed reply in `message`, no tool)
    calls: list[Call]
    subject: str = ""
    message: str = ""


@dataclass
class Lookup:
    """What the router may ask the warehouse: does a customer exist, which branches/segments exist.
    The optional parts make IDs work as people type them (million/customers.py): `resolve` gives
    the stored ID for a token in any letter case, `looks_like_id` tells an unknown ID from other
    words, `missing` words the reply for an ID that does not exist (with the nearest IDs)."""
    customer_exists: Callable[[str], bool]
    branches: Callable[[], list[str]]
    segments: Callable[[], list[str]]
    resolve: Callable[[str], str | None] | None = None
    looks_like_id: Callable[[str], bool] | None = None
    missing: Callable[[str], str] | None = None

    def canonical(self, token: str) -> str | None:
        if self.resolve is not None:
            return self.resolve(token)
        for t in dict.fromkeys((token, token.upper(), token.lower())):
            if self.customer_exists(t):
                return t
        return None


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


def _tokens(text: str) -> list[str]:
    """ID-shaped words, also without trailing punctuation (C0000123. at a sentence end)."""
    out: list[str] = []
    for tok in ID_TOKEN.findall(text):
        out += [t for t in dict.fromkeys((tok, tok.rstrip("._-"))) if len(t) >= 4]
    return out


def find_customer(text: str, lookup: Lookup) -> str | None:
    """The first customer named in the text, as stored (c0000034 → C0000034)."""
    for tok in _tokens(text):
        cid = lookup.canonical(tok)
        if cid:
            return cid
    return None


def _default_id_shape(token: str) -> bool:
    """Without the data's ID shapes: a letter and at least four digits (C9999999, ab12cd34…)."""
    return bool(re.search(r"[A-Za-z]", token)) and len(re.findall(r"\d", token)) >= 4


def unknown_customer(text: str, lookup: Lookup) -> str | None:
    """A word shaped like a customer ID that names no customer (C9999999)."""
    looks = lookup.looks_like_id or _default_id_shape
    for tok in _tokens(text):
        if looks(tok):
            return tok
    return None


def missing_customer_text(token: str, lookup: Lookup) -> str:
    if lookup.missing is not None:
        return lookup.missing(token)
    return f"客户 {token} 不存在，请核对客户ID。"


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
    missing = unknown_customer(t, lookup)
    if missing:
        return Plan("answer", [], message=missing_customer_text(missing, lookup))
    branch = _find_branch(t, lookup)
    segment = _find_segment(t, lookup)
    hm = HORIZON.search(t)
    horizon = min(max(int(hm.group(1)), 1), 12) if hm else 3
    # Keywords are matched with the names taken out: "高潜力活跃型客户" is a segment, not a list request.
    k = t.replace(segment or "\0", "").replace(branch or "\0", "")
    ranking = _ranking_request(k)
    if ranking is not None:
        level, n = ranking
        return Plan("single", [Call("sql_inter", {"sql": ranking_sql(level, n)}, f"各{level}最新月总AUM排名")])
    every = EVERY_BRANCH.search(k)
    if every:  # "各分行客户数" asks about all branches, even with a customer under discussion
        level = "分行" if every.group(1) == "分行" else "网点"
        return Plan("single", [Call("sql_inter", {"sql": ranking_sql(level, 100)}, f"各{level}概况")])
    if "高潜" in k or "潜客" in k or "名单" in k:
        # "前50名" / "top 50" / "50个" is the length asked for; "含冷静期" lists those customers too
        n = _TOP_N.search(k) or re.search(r"(\d{1,3})\s*[个名位人]", k)
        args: dict = {"top_n": min(max(int(n.group(1)), 1), 200) if n else 20}
        if re.search(r"(含|包括|包含|加上)\S{0,3}冷静期", k):
            args["include_cool"] = True
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
            return Plan("products", [Call("recommend_products", {"customer_id": previous_customer, "top_k": 5},
                                          "推荐产品及理由")], previous_customer)
        if re.search(r"为什么|原因|解释", t):
            return Plan("single", [Call("explain_customer", {"customer_id": previous_customer})], previous_customer)
        if re.search(r"概率|可能|达到", t):
            return Plan("single", [Call("predict_million_prob", {"customer_id": previous_customer})], previous_customer)
        if re.search(r"分行|网点|支行", t):
            return Plan("single", [Call("sql_inter", {"sql": branch_sql(previous_customer)}, "所在网点概况")],
                        previous_customer)
    if FOLLOW_UP.search(t):  # "他适合什么产品？" with nobody under discussion yet
        return Plan("answer", [], message=NO_SUBJECT)
    return Plan("help", [])


EVERY_BRANCH = re.compile(r"(?:各|每个|每家|所有|全部)\s*(分行|网点|支行)")
FOLLOW_UP = re.compile(r"^\s*(那|那么)?\s*(他|她|该客户|这位客户|这个客户)")
NO_SUBJECT = ("还不知道您说的是哪位客户：请先输入客户ID（如 C0000123）查看他的营销简报，"
              "再问“他适合什么产品？”“那他所在分行呢？”等追问。")
_TOP_N = re.compile(r"(?:前|top\s*)(\d{1,3})", re.I)


def _ranking_request(text: str) -> tuple[str, int] | None:
    """各分行最新月总AUM排名前10 → ("分行", 10); 各网点AUM排名 → ("网点", 10)."""
    if not re.search(r"排名|排行|前\s*\d|top\s*\d", text, re.I) or not re.search(r"AUM|资产", text, re.I):
        return None
    if "分行" in text:
        level = "分行"
    elif re.search(r"网点|支行", text):
        level = "网点"
    else:
        return None
    m = _TOP_N.search(text)
    return level, min(max(int(m.group(1)), 1), 100) if m else 10


# A 分行 is the part of the branch name up to "分行" (上海分行外滩支行 → 上海分行); names without it stay whole.
# INSTR/SUBSTR count characters in DuckDB and MySQL alike.
_BRANCH_OF = ("CASE WHEN INSTR(b.branch_name, '分行') > 0 THEN SUBSTR(b.branch_name, 1, INSTR(b.branch_name, '分行') + 1) "
              "ELSE b.branch_name END")
_LATEST = "a.stat_month = (SELECT MAX(stat_month) FROM customer_behavior_assets)"
_JOIN = "FROM customer_behavior_assets a JOIN customer_base b ON a.customer_id = b.customer_id "


def ranking_sql(level: str, n: int) -> str:
    """Branches (or sub-branches) by total AUM at the latest month: rank, name, AUM in 亿, customers."""
    key = _BRANCH_OF if level == "分行" else "b.branch_name"
    return (f"SELECT ROW_NUMBER() OVER (ORDER BY SUM(a.total_assets) DESC) AS 排名, {key} AS {level}, "
            "MAX(a.stat_month) AS 月份, ROUND(SUM(a.total_assets) / 100000000, 2) AS 总AUM_亿元, "
            "COUNT(*) AS 客户数, SUM(CASE WHEN a.total_assets >= 1000000 THEN 1 ELSE 0 END) AS 百万客户数 "
            f"{_JOIN}WHERE {_LATEST} GROUP BY {key} ORDER BY 排名 LIMIT {int(n)}")


def branch_sql(cid: str) -> str:
    """The customer's sub-branch at the latest month, money in 亿/万 (people read 万, not 734,273,373.20)."""
    safe = cid.replace("'", "''")  # cid already passed the lookup; quoting is belt and braces
    return ("SELECT b.branch_name AS 网点, MAX(a.stat_month) AS 月份, COUNT(*) AS 客户数, "
            "ROUND(SUM(a.total_assets) / 100000000, 2) AS 总AUM_亿元, "
            "ROUND(AVG(a.total_assets) / 10000, 1) AS 人均AUM_万元, "
            "SUM(CASE WHEN a.total_assets >= 1000000 THEN 1 ELSE 0 END) AS 百万客户数, "
            "SUM(CASE WHEN a.total_assets < 1000000 THEN 1 ELSE 0 END) AS 潜客数 "
            f"{_JOIN}WHERE {_LATEST} AND b.branch_name = "
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


_DRIVER_HOOKS = (  # the strongest factor for the customer → how the RM opens the call
    (r"缺口|所需月数", "您在我行的资产已经很接近财富客户的标准了"),
    (r"总资产.*(增长|变化|增加|趋势|最高)|资产增加", "看到您近几个月在我行的资产一直在稳步增加"),
    (r"理财|复购", "看到您一直比较关注我行的理财产品"),
    (r"基金", "看到您最近对基金投资比较关注"),
    (r"保险", "看到您比较重视家庭保障"),
    (r"登录|浏览|对比", "看到您最近经常在手机银行上了解理财产品"),
    (r"存款", "看到您在我行的存款一直比较稳定"),
    (r"收入", "结合您的收入情况"),
    (r"信用卡", "感谢您一直使用我行的信用卡"),
)


@dataclass
class BriefFacts:
    """What the brief needs, read from the five tool results (their text, as the LLM would see it)."""
    situation: str  # prospect | million | short | missing
    prob: str | None = None
    cool_until: str | None = None
    salutation: str = ""
    branch: str = ""
    assets: str | None = None
    gap: str | None = None
    segment: str | None = None
    product: str | None = None
    driver: str | None = None

    @property
    def cool(self) -> bool:
        return self.cool_until is not None

    @property
    def cool_text(self) -> str:
        return f"营销冷静期（至 {self.cool_until}）" if self.cool_until else "营销冷静期"


def brief_facts(results: list[tuple[str, str]]) -> BriefFacts:
    by = dict(results)
    pred, rec_text, seg_text = by.get("predict_million_prob", ""), by.get("recommend_products", ""), by.get("segment_lookup", "")
    prob = _first(r"概率：\*\*([\d.]+%)\*\*", pred)
    situation = ("prospect" if prob else "million" if "已经是百万客户" in pred
                 else "short" if "历史数据不足" in pred else "missing")
    cool_until = None
    for text in (pred, rec_text, seg_text):  # the tools' flag, not any mention (plans cite "遵守30天营销冷静期")
        if "该客户处于营销冷静期" in text:
            cool_until = _first(r"该客户处于营销冷静期（至 ([^）]+)）", text) or ""
            break
    return BriefFacts(
        situation, prob, cool_until, _first(r"称呼：(\S+)", pred) or "", _first(r"^客户 \S+（([^）]+)）", pred) or "",
        _first(r"(?:当前总资产：|总资产为 )([\d.,]+[万亿元])", pred), _first(r"距百万还差 ([\d.,]+[万亿元])", pred),
        _first(r"属于「(.+?)」", seg_text), _first(r"\n\| ([^|\s]+) \| [^|]*→", rec_text),
        _first(r"\*\*推动因素\*\*\s*\n\s*\|[^\n]*\n\|[^\n]*\n\| ([^|]+?) \|", by.get("explain_customer", "")))


def _gap_wan(gap: str | None) -> float | None:
    m = re.fullmatch(r"([\d.,]+)(万|元)", gap or "")
    if not m:
        return None
    v = float(m.group(1).replace(",", ""))
    return v if m.group(2) == "万" else v / 1e4


def _hello(f: BriefFacts) -> str:
    who = f"{f.salutation}您好" if f.salutation else "您好"
    return f"{who}，我是{f.branch}的客户经理" if f.branch else f"{who}，我是您的专属客户经理"


def compose_script(f: BriefFacts) -> list[str]:
    """The 建议话术 section: it depends on the customer's situation, so no two kinds of customer hear
    the same opening, and a customer in the cool period hears no sales pitch at all."""
    if f.situation == "missing":
        return ["主要工具没有返回结果（见上），暂不生成话术；请先处理上面的提示后重试。"]
    if f.cool:
        return [f"该客户处于**{f.cool_text}**：本次只做服务性联系（如资产到期提醒、账户安全、业务办理），"
                "不推荐任何产品；上面的客群方案与推荐产品留待冷静期结束后使用。",
                f"「{_hello(f)}。这次联系是服务提醒：想跟您确认一下近期账户和资产到期的安排是否都顺利，"
                "如果有需要办理的业务，随时联系我。」"]
    if f.situation == "million":
        upgrade = f"结合您目前的持仓，{f.product}可以让配置更均衡，" if f.product else ""
        return ["该客户已是百万客户：重点是**资产保有与配置升级**，不是冲刺百万。",
                f"「{_hello(f)}。感谢您一直以来对我行的信任，您在我行的资产已超过百万，{upgrade}"
                "想约您做一次年度资产检视，同时介绍一下财富客户的专属权益，您看这周哪天方便？」"]
    if f.situation == "short":
        return ["该客户开户不足3个月，模型暂不评分：以欢迎和了解需求为主。",
                f"「{_hello(f)}。欢迎您成为我行客户！想了解一下您的理财目标和习惯，方便我为您推荐合适的服务，"
                "您看什么时候方便聊几分钟？」"]
    hook = "结合您目前的资产配置"
    for pattern, text in _DRIVER_HOOKS:
        if f.driver and re.search(pattern, f.driver):
            hook = text
            break
    offer = f"我按您现在的配置整理了一份{f.product}的建议" if f.product else "我帮您整理了一份资产配置建议"
    gap = _gap_wan(f.gap)
    near = (f"您的资产再增加约{f.gap}，就可以成为我行的百万级财富客户，享受专属理财经理和权益。"
            if gap is not None and gap <= 20 else "")
    return [f"「{_hello(f)}。{hook}，{offer}。{near}方便的时候约十分钟跟您详细聊聊？」"]


def compose_brief(cid: str, results: list[tuple[str, str]]) -> str:
    """The RM brief from the five tool results (their text, as the LLM would see it)."""
    texts = {text for _tool, text in results}
    if len(results) > 1 and len(texts) == 1:  # every tool refused alike (scope, unknown ID): say it once
        return f"## 客户 {cid}\n\n{texts.pop()}"
    f = brief_facts(results)
    parts = [f"## 客户 {cid} 营销简报", ""]
    if f.cool:
        parts += [f"> ⚠ **{f.cool_text}**：本次只做服务性联系，不主动营销、不推荐产品。", ""]
    titles = {"predict_million_prob": "百万概率", "explain_customer": "主要原因", "segment_lookup": "所属客群",
              "recommend_products": "推荐产品（冷静期后使用）" if f.cool else "推荐产品",
              "forecast_aum": "AUM 趋势"}
    if f.situation == "million":
        titles["predict_million_prob"] = "百万状态"
    for i, (tool, text) in enumerate(results, 1):
        parts += [f"### {i}. {titles.get(tool, tool)}", text, ""]
    parts.append("### 建议话术")
    parts += compose_script(f)
    summary = []
    if f.situation == "million":
        summary.append(f"已是百万客户（总资产 {f.assets}），重点是资产保有与配置升级" if f.assets
                       else "已是百万客户，重点是资产保有与配置升级")
    elif f.prob:
        summary.append(f"未来3个月达到百万的概率 {f.prob}")
    if f.segment:
        summary.append(f"属于{f.segment}")
    if f.cool:
        summary.append(f"处于{f.cool_text}，本次仅做服务性联系")
    elif f.product:
        summary.append(("可考虑补充" if f.situation == "million" else "首推") + f.product)
    if summary:
        parts.insert(2, "**要点**：" + "；".join(summary) + "。\n")
    return "\n".join(parts)


def compose_products(cid: str, results: list[tuple[str, str]]) -> str:
    """"他适合什么产品？" in words: what the customer holds, which products to add and why (the rule
    read as 'of similar customers, X% hold it, N times the average'), then the table as evidence."""
    text = dict(results).get("recommend_products", "")
    held = _first(r"当前持有：([^。\n]+)。", text)
    rows = re.findall(r"^\| ([^|]+?) \| (.+?) → [^|]+ \| ([\d.]+%) \| ([\d.]+%) \| ([\d.]+) \|$", text, re.M)
    out = [f"客户 {cid} 目前持有：{held}。" if held else f"客户 {cid} 的产品推荐："]
    if not rows:
        out.append(text)
        return "\n\n".join(out)
    reasons = [f"**{p}**：与他情况相近的客户（{ante}）中有 {conf} 持有{p}，是全体客户平均持有率的 {lift} 倍"
               for p, ante, _sup, conf, lift in rows]
    out.append("最适合补充的是" + reasons[0] + "。")
    if len(reasons) > 1:
        out.append("其次：" + "；".join(reasons[1:]) + "。")
    if "该客户处于营销冷静期" in text:
        until = _first(r"营销冷静期（至 ([^）]+)）", text)
        out.append(f"⚠ 该客户处于营销冷静期{f'（至 {until}）' if until else ''}：以上建议留待冷静期结束后使用，现在不主动营销。")
    out.append("规则依据：\n\n" + "\n".join(ln for ln in text.splitlines() if ln.startswith("|")))
    return "\n\n".join(out)


def compose_single(results: list[tuple[str, str]]) -> str:
    return "\n\n".join(text for _, text in results)
