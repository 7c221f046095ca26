"""The five model/analytics tools on the small warehouse and its built artifacts."""

from __future__ import annotations

import re

import pytest

from tools import all_tools


@pytest.fixture(scope="module")
def t():
    return {x.name: x for x in all_tools()}


def test_predict_one_prospect(t, session, known_customers) -> None:
    out = t["predict_million_prob"].call({"customer_id": known_customers["prospect"]}, session=session)
    m = re.search(r"概率：\*\*([\d.]+)%\*\*", out)
    assert m and 0 <= float(m.group(1)) <= 100, out
    assert "排名第" in out and "距百万还差" in out and "ROC-AUC" in out
    assert session.context["customer_id"] == known_customers["prospect"]


def test_predict_matches_the_scoring_file(t, session, known_customers, app_settings) -> None:
    """The tool shows exactly the probability score_customers.py writes for the same month."""
    import pandas as pd

    from million.services import get_services

    cid = known_customers["prospect"]
    p = get_services().propensity().predict(cid).probability
    scores = pd.read_parquet(app_settings.artifacts_dir / "propensity" / "scores_latest.parquet")
    assert scores.set_index("customer_id").loc[cid, "probability"] == pytest.approx(p, abs=1e-9)
    assert f"{p * 100:.1f}%" in t["predict_million_prob"].call({"customer_id": cid}, session=session)


def test_predict_millionaire_and_short_history(t, session, known_customers) -> None:
    out = t["predict_million_prob"].call({"customer_id": known_customers["million"]}, session=session)
    assert "已经是百万客户" in out
    if known_customers["short"]:
        out = t["predict_million_prob"].call({"customer_id": known_customers["short"]}, session=session)
        assert "不足3个月" in out or "已经是百万客户" in out


def test_top_list_excludes_cool_period_unless_asked(t, session) -> None:
    out = t["predict_million_prob"].call({"top_n": 10}, session=session)
    assert "高潜客户名单" in out and "已排除营销冷静期" in out
    ev = session.events[-1]
    assert ev.rows and ev.rows <= 10 and ev.files and ev.files[0].name.endswith(".csv")
    out = t["predict_million_prob"].call({"top_n": 10, "include_cool": True}, session=session)
    assert "已排除" not in out


def test_top_list_by_branch(t, session, app_settings) -> None:
    from million.services import get_services

    branch = get_services().wh.query("SELECT branch_name FROM customer_base LIMIT 1")["branch_name"].iloc[0]
    out = t["predict_million_prob"].call({"top_n": 5, "branch_name": branch}, session=session)
    assert branch in out


def test_explain_customer_and_global(t, session, known_customers) -> None:
    out = t["explain_customer"].call({"customer_id": known_customers["prospect"]}, session=session)
    assert "推动因素" in out and "拖累因素" in out
    assert any(f.is_image for f in session.events[-1].files)
    out = t["explain_customer"].call({}, session=session)
    assert "全局" in out and session.events[-1].files[0].path.read_bytes()[:4] == b"\x89PNG"


def test_segment_lookup_three_ways(t, session, known_customers) -> None:
    out = t["segment_lookup"].call({"customer_id": known_customers["prospect"]}, session=session)
    name = re.search(r"属于「(.+?)」", out).group(1)
    assert "营销方案" in out
    assert name in t["segment_lookup"].call({"segment": name}, session=session)
    assert "个客群" in t["segment_lookup"].call({}, session=session)
    assert "客群" in t["segment_lookup"].call({"segment": "不存在的客群名"}, session=session)
    assert session.events[-1].status == "error"


def test_recommend_products(t, session, known_customers) -> None:
    out = t["recommend_products"].call({"customer_id": known_customers["prospect"]}, session=session)
    assert "当前持有" in out
    out = t["recommend_products"].call({"top_k": 5}, session=session)
    assert "提升度" in out and session.events[-1].rows == 5


def test_forecast(t, session, known_customers) -> None:
    out = t["forecast_aum"].call({}, session=session)
    assert "全行" in out and "下限(95%)" in out and session.events[-1].files[0].name.endswith(".png")
    out = t["forecast_aum"].call({"customer_id": known_customers["prospect"], "horizon": 2}, session=session)
    assert "预测" in out
    out = t["forecast_aum"].call({"customer_id": known_customers["prospect"], "segment": "x"}, session=session)
    assert "只能指定一个" in out


def test_sql_inter_table_chart_and_csv(t, session) -> None:
    out = t["sql_inter"].call({"sql": "SELECT asset_level, COUNT(*) AS n FROM customer_behavior_assets "
                                      "GROUP BY asset_level ORDER BY asset_level"}, session=session)
    assert "查询成功，返回 5 行" in out
    names = [f.name for f in session.events[-1].files]
    assert any(n.startswith("查询结果_") and n.endswith(".csv") for n in names) and "查询图表.png" in names


def test_sql_result_csv_does_not_run_formulas_in_excel(t, session) -> None:
    """Warehouse text comes from imported files; a cell like =HYPERLINK(...) must open in Excel as text."""
    t["sql_inter"].call({"sql": "SELECT '=HYPERLINK(''http://x'',''点我'')' AS link, -5 AS n"}, session=session)
    csv = next(f for f in session.events[-1].files if f.name.startswith("查询结果_")).path.read_bytes().decode("utf-8-sig")
    assert csv.splitlines() == ["link,n", "\"'=HYPERLINK('http://x','点我')\",-5"]


def test_sql_inter_errors_go_back_to_the_llm(t, session) -> None:
    out = t["sql_inter"].call({"sql": "SELECT no_such_column FROM customer_base"}, session=session)
    assert session.events[-1].status == "error" and "no_such_column" in out
    out = t["sql_inter"].call({"sql": "DELETE FROM customer_base"}, session=session)
    assert session.events[-1].status == "error" and "未执行" in out


def test_python_inter_refuses_when_the_sandbox_is_missing(t, session, monkeypatch) -> None:
    import million.sandbox as sb

    def unavailable() -> None:
        raise sb.SandboxUnavailable("测试：模拟缺少一层隔离")

    monkeypatch.setattr(sb, "check_available", unavailable)
    out = t["python_inter"].call({"code": "print(1)"}, session=session)
    assert "拒绝运行" in out and session.events[-1].status == "error"


def test_python_inter_runs_analysis_with_data_and_chart(t, session) -> None:
    code = ("import pandas as pd, matplotlib.pyplot as plt\n"
            "df = pd.read_csv('d.csv')\nprint('行数', len(df))\n"
            "df.plot.bar(x='asset_level', y='n')\nplt.title('各资产等级客户数')\nplt.savefig('chart.png')\n")
    out = t["python_inter"].call({"code": code, "data_sql": {"d": "SELECT asset_level, COUNT(*) AS n FROM "
                                  "customer_behavior_assets GROUP BY asset_level"}}, session=session)
    assert "行数 5" in out, out
    assert any(f.is_image for f in session.events[-1].files)


def test_predict_and_recommend_agree_on_the_cool_period(app_settings) -> None:
    """Both tools judge the marketing cool period at the data's latest month end (the product's "today"),
    whatever the wall clock says, so an RM never reads two answers about one customer."""
    from million.services import get_services

    prop, rules = get_services().propensity(), get_services().rules()
    top = prop.top(300, include_cool=True)
    assert top["in_cool_period"].any() and (~top["in_cool_period"]).any()
    for cid, cool in zip(top["customer_id"], top["in_cool_period"], strict=True):
        assert rules.recommend(cid).in_cool_period is bool(cool), cid


def test_python_inter_stops_when_the_conversation_is_cancelled(t, session) -> None:
    """A client that disconnects sets session.cancelled (webapp/ui.py): the running sandbox dies now."""
    import threading
    import time

    session.new_turn()
    threading.Timer(2.0, session.cancelled.set).start()
    started = time.monotonic()
    out = t["python_inter"].call({"code": "import time\ntime.sleep(600)"}, session=session)
    assert "已取消" in out and time.monotonic() - started < 15, out


def _table(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    return rows[0], rows[1:]


def test_top_list_reads_like_a_list(t, session) -> None:
    """排名 1..n without gaps (the bank-wide rank beside it), 冷静期 as 是/否, names masked as on the dashboard."""
    import io

    import pandas as pd

    from million.services import get_services

    t["predict_million_prob"].call({"top_n": 30, "include_cool": True}, session=session)
    ev = session.events[-1]
    head, rows = _table(ev.display)
    assert head[:3] == ["排名", "客户ID", "姓名"] and "全行排名" in head and head[-1] == "冷静期"
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    cool = [r[-1] for r in rows]
    assert set(c[0] for c in cool) <= {"是", "否"} and not any("False" in c or "True" in c for c in cool)
    top = get_services().propensity().top(30, include_cool=True)
    assert cool == [f"是（至 {u}）" if c else "否" for c, u in zip(top["in_cool_period"], top["cool_period_until"], strict=True)]
    full = dict(zip(top["customer_id"], top["name"], strict=True))
    for r in rows:
        assert r[2] != full[r[1]] and r[2].startswith(full[r[1]][0]) and r[2].endswith("*")
    # the download: a name that says what it holds, Chinese headers, clean numbers
    f = ev.files[0]
    assert f.name.startswith("高潜客户名单_") and f.name.endswith(f"前{len(rows)}名.csv") and f.path.name == f.name
    csv = pd.read_csv(io.BytesIO(f.path.read_bytes()), encoding="utf-8-sig")
    assert list(csv.columns[:5]) == ["排名", "全行排名", "客户ID", "姓名", "网点"]
    assert set(csv["冷静期"]) <= {"是", "否"}
    assert all(len(str(v).split(".")[-1]) <= 2 for v in csv["总资产（元）"])
    # without the cool-period customers the list still counts 1..n
    t["predict_million_prob"].call({"top_n": 30}, session=session)
    head, rows = _table(session.events[-1].display)
    assert "冷静期" not in head and [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))


def test_explanation_speaks_in_percentage_points(t, session, known_customers) -> None:
    """The table is in 个百分点 of probability, adding up from the average prospect to the customer."""
    from million.services import get_services

    cid = known_customers["prospect"]
    out = t["explain_customer"].call({"customer_id": cid}, session=session)
    assert "基准值" not in out and "SHAP)" not in out and "个百分点" in out
    from million.propensity.explain import local_explanation
    from tools.explain_customer import points

    svc = get_services().propensity()
    snap = svc.snapshot
    full = local_explanation(svc.bundle, snap.X[snap.row_of[cid]], top_k=len(svc.bundle.features))
    parts = [f.impact for f in full.factors_for + full.factors_against]
    assert full.base_probability + sum(parts) == pytest.approx(full.probability, abs=1e-6)
    r = svc.explain(cid)
    assert f"{r.probability:.1%}" in out and f"{r.base_probability:.1%}" in out
    assert points(r.factors_for[0].impact) in out and points(r.factors_for[0].impact).startswith("+")
    out = t["explain_customer"].call({}, session=session)
    shares = [float(x) for x in re.findall(r"\| ([\d.]+)% \|", out)]
    assert shares and all(0 < s <= 100 for s in shares) and "平均|SHAP|" not in out


def test_ids_in_another_case_and_unknown_ids(t, session, known_customers) -> None:
    """An LLM that passes c0000123 gets the customer C0000123; an unknown ID gets the nearest IDs."""
    cid = known_customers["prospect"]
    out = t["predict_million_prob"].call({"customer_id": cid.lower()}, session=session)
    assert "概率" in out and session.events[-1].status == "ok" and session.context["customer_id"] == cid
    wrong = cid[:-1] + ("9" if cid[-1] != "9" else "8")
    out = t["segment_lookup"].call({"customer_id": wrong + "7"}, session=session)
    assert session.events[-1].status == "error" and f"客户 {wrong}7 不存在" in out and "相近的客户ID" in out
