"""Each panel's numbers against the same figures computed with pandas from the generated files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from million.contract import ASSET_LEVELS, LIFECYCLE_STAGES, OCCUPATION_TYPES
from million.dashboard import PANELS, DashboardService
from million.dashboard.prospects import SCORES_PATH, mask_name

BRANCH = "上海分行外滩支行"


def at(snapshot: pd.DataFrame, month: str, branch: str | None = None) -> pd.DataFrame:
    df = snapshot[snapshot["stat_month"] == month]
    return df[df["branch_name"] == branch] if branch else df


@pytest.fixture(scope="module")
def latest(snapshot: pd.DataFrame) -> str:
    return str(snapshot["stat_month"].max())


def test_payload_is_json_with_every_panel(service: DashboardService) -> None:
    d = service.data()
    assert set(d["charts"]) == set(PANELS) and len(PANELS) <= 10
    assert d["meta"]["failed"] == []
    assert not [k for k, v in d["charts"].items() if v.get("empty")]  # all inputs present: no placeholder
    json.dumps(d, allow_nan=False)  # strict JSON: no NaN slips through


@pytest.mark.parametrize("branch", [None, BRANCH])
def test_kpis_match_pandas(service: DashboardService, snapshot: pd.DataFrame, latest: str, branch: str | None) -> None:
    d = service.data(branch)
    cards = {c["key"]: c for c in d["kpis"]}
    now = at(snapshot, latest, branch)
    assert cards["customers"]["value"] == len(now)
    assert cards["aum"]["value"] == pytest.approx(now["total_assets"].sum(), rel=1e-9)
    assert cards["millionaires"]["value"] == (now["total_assets"] >= 1e6).sum()
    assert cards["prospects"]["value"] == (now["total_assets"] < 1e6).sum()
    months = sorted(snapshot["stat_month"].unique())
    before = at(snapshot, months[-2], branch)
    assert cards["aum"]["mom"] == pytest.approx(now["total_assets"].sum() / before["total_assets"].sum() - 1, abs=1e-4)
    assert cards["aum"]["text"].endswith(("万", "亿"))


def test_month_filter_changes_the_snapshot(service: DashboardService, snapshot: pd.DataFrame) -> None:
    month = sorted(snapshot["stat_month"].unique())[5]
    d = service.data(None, month)
    assert d["meta"]["month"] == month
    levels = d["charts"]["asset_levels"]
    then = at(snapshot, month)
    assert sum(levels["customers"]) == len(then)
    expected = then.groupby("asset_level")["total_assets"].sum()
    for level, aum in zip(levels["levels"], levels["aum"], strict=True):
        assert aum == pytest.approx(expected[level], rel=1e-9)
    assert levels["levels"] == [lv for lv in ASSET_LEVELS if lv in expected.index]


def test_lifecycle_funnel_counts_stage_and_beyond(service: DashboardService, snapshot: pd.DataFrame, latest: str) -> None:
    lc = service.data(BRANCH)["charts"]["lifecycle"]
    counts = at(snapshot, latest, BRANCH)["lifecycle_stage"].value_counts()
    assert [s["stage"] for s in lc["stages"]] == list(LIFECYCLE_STAGES[:4])
    for i, s in enumerate(lc["stages"]):
        assert s["customers"] == counts.get(s["stage"], 0)
        assert s["reached"] == sum(counts.get(x, 0) for x in LIFECYCLE_STAGES[i:4])
    assert [s["reached"] for s in lc["stages"]] == sorted((s["reached"] for s in lc["stages"]), reverse=True)
    assert lc["churn"]["stage"] == "流失预警客户" and lc["churn"]["customers"] == counts.get("流失预警客户", 0)
    assert lc["total"] == counts.sum()


def test_products_occupation_city(service: DashboardService, snapshot: pd.DataFrame, latest: str) -> None:
    c = service.data()["charts"]
    now = at(snapshot, latest)
    assert c["products"]["products"] == ["存款", "理财", "基金", "保险"]
    for rate, p in zip(c["products"]["rates"], ("deposit", "financial", "fund", "insurance"), strict=True):
        assert rate == pytest.approx(now[f"{p}_flag"].mean(), abs=1e-4)
    income = now.groupby("occupation_type")["monthly_income"].mean()
    occ = c["occupation"]
    assert set(occ["types"]) <= set(OCCUPATION_TYPES)
    assert occ["income"] == sorted(occ["income"], reverse=True)
    for t, v in zip(occ["types"], occ["income"], strict=True):
        assert v == pytest.approx(float(income[t]), abs=1)
    tiers = {t["tier"]: t for t in c["city"]["tiers"]}
    assert sum(t["customers"] for t in tiers.values()) == len(now)
    assert tiers["一线城市"]["aum"] == pytest.approx(now[now["city_level"] == "一线城市"]["total_assets"].sum())


def test_branch_ranking_keeps_the_selected_branch(service: DashboardService, snapshot: pd.DataFrame,
                                                  latest: str) -> None:
    by = at(snapshot, latest).groupby("branch_name")["total_assets"].sum().sort_values(ascending=False)
    rows = service.data()["charts"]["branches"]["rows"]
    assert [r["branch"] for r in rows] == list(by.index[:10])
    assert rows[0]["aum"] == pytest.approx(by.iloc[0])
    last = str(by.index[-1])  # outside the top 10, still shown when chosen
    rows = service.data(last)["charts"]["branches"]["rows"]
    assert rows[-1]["branch"] == last and rows[-1]["rank"] == len(by) and len(rows) == 11


def test_trend_and_drift_forecast(service: DashboardService, snapshot: pd.DataFrame) -> None:
    t = service.data()["charts"]["trend"]
    monthly = snapshot.groupby("stat_month")["total_assets"].sum()
    assert t["months"] == list(monthly.index)
    assert t["aum"] == pytest.approx(list(monthly.to_numpy()), rel=1e-9)
    fc = t["forecast"]
    assert len(fc["months"]) == 3 and fc["months"][0] > t["months"][-1]
    assert all(lo <= f <= hi for lo, f, hi in zip(fc["lower"], fc["forecast"], fc["upper"], strict=True))
    assert fc["method"]  # labelled: the page says how it was made


def test_engagement_growth_against_three_months_back(service: DashboardService, snapshot: pd.DataFrame,
                                                     latest: str) -> None:
    e = service.data()["charts"]["engagement"]
    months = sorted(snapshot["stat_month"].unique())
    assert e["base_month"] == months[-4] and e["months_back"] == 3
    now, before = at(snapshot, latest), at(snapshot, months[-4])
    both = now.merge(before[["customer_id", "total_assets"]], on="customer_id", suffixes=("", "_b"))
    idle = both[both["app_login_count"] == 0]
    row = next(r for r in e["rows"] if r["bucket"] == "0次")
    assert row["customers"] == len(idle)
    assert row["growth"] == pytest.approx(idle["total_assets"].sum() / idle["total_assets_b"].sum() - 1, abs=1e-4)
    assert sum(r["customers"] for r in e["rows"]) == len(both)
    first = service.data(None, months[0])["charts"]["engagement"]
    assert first["empty"] and first["reason"].startswith("暂无")


def test_segments_from_the_table(service: DashboardService, snapshot: pd.DataFrame, latest: str) -> None:
    seg = service.data()["charts"]["segments"]["segments"]
    assert sum(s["customers"] for s in seg) == len(at(snapshot, latest))
    assert len(seg) == 4 and all(s["name"] for s in seg)


def test_prospects_top_list_and_expected_new(service: DashboardService, dash_artifacts, snapshot: pd.DataFrame) -> None:
    scores = pd.read_parquet(dash_artifacts / SCORES_PATH)
    p = service.data()["charts"]["prospects"]
    # Customers in the marketing cool period at the month's end are not listed (as in the chat's list),
    # from the generated files themselves.
    month = str(scores["as_of"].max())
    rows = at(snapshot, month).drop_duplicates("customer_id").set_index("customer_id")
    end = pd.Timestamp(month + "-01") + pd.offsets.MonthEnd(0)
    cool = set(rows.index[pd.to_datetime(rows["marketing_cool_period"]) > end])
    assert cool & set(scores["customer_id"]), "the fixture must hold scored customers in the cool period"
    best = scores[~scores["customer_id"].isin(cool)].sort_values(["probability", "customer_id"],
                                                                 ascending=[False, True]).head(10)
    assert [r["customer_id"] for r in p["rows"]] == best["customer_id"].tolist()
    assert p["cool_excluded"] == len(cool & set(scores["customer_id"]))
    assert p["contactable"] == len(scores) - p["cool_excluded"]
    # one definition of prospect: the panel's count is the KPI card's count
    kpi = {c["key"]: c for c in service.data()["kpis"]}["prospects"]
    assert p["prospects"] == kpi["value"] == int((rows["total_assets"] < 1_000_000).sum())
    assert p["expected_new"] == pytest.approx(scores["probability"].sum(), abs=0.05)
    names = snapshot.drop_duplicates("customer_id").set_index("customer_id")["name"]
    for r in p["rows"]:
        full = names[r["customer_id"]]
        assert r["name"] == mask_name(full) and r["name"] != full and r["name"].startswith(full[0])
    cards = {c["key"]: c for c in service.data()["kpis"]}
    assert cards["expected_new"]["value"] == p["expected_new"]
    # A branch: only its customers, and their own sum of probabilities.
    ids = set(snapshot[snapshot["branch_name"] == BRANCH]["customer_id"])
    pb = service.data(BRANCH)["charts"]["prospects"]
    assert {r["branch"] for r in pb["rows"]} == {BRANCH}
    assert pb["expected_new"] == pytest.approx(scores[scores["customer_id"].isin(ids)]["probability"].sum(), abs=0.05)


def test_mask_name() -> None:
    assert mask_name("王小明") == "王**"
    assert mask_name("李四") == "李*"
    assert mask_name("") == "-" and mask_name(None) == "-"
