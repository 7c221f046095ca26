"""The mock data behaves like a bank's book: the business rate of the question, and attributes that
correlate as in life (measured on 5,000 customers x 24 months)."""

from __future__ import annotations

import pandas as pd
import pytest

from million.contract import MILLION
from million.datagen.simulate import Generated


@pytest.fixture(scope="module")
def prospects(gen5k: Generated) -> pd.DataFrame:
    """One row per (customer, month T) with total_assets < 1M at T and 3 observed months after T:
    AUM and compare clicks at T and the label (>= 1M in one of T+1..T+3)."""
    b = gen5k.behavior
    aum = b.pivot(index="customer_id", columns="stat_month", values="total_assets")
    compare = b.pivot(index="customer_id", columns="stat_month", values="app_product_compare_count")
    months = list(aum.columns)
    frames = []
    for i, month in enumerate(months[:-3]):
        cur = aum[month]
        is_prospect = cur.notna() & (cur < MILLION)
        label = aum[months[i + 1:i + 4]].max(axis=1) >= MILLION
        frames.append(pd.DataFrame({"month": month, "aum": cur[is_prospect], "compare": compare[month][is_prospect],
                                    "y": label[is_prospect]}))
    return pd.concat(frames)


def test_two_to_eight_percent_of_prospects_reach_a_million_within_three_months(prospects: pd.DataFrame) -> None:
    rate = prospects["y"].mean()
    assert len(prospects) > 50_000
    assert 0.02 <= rate <= 0.08, rate
    by_month = prospects.groupby("month")["y"].mean()
    assert by_month.iloc[-6:].between(0.015, 0.10).all(), by_month


def test_a_minority_are_already_millionaires(gen5k: Generated) -> None:
    last = gen5k.behavior[gen5k.behavior["stat_month"] == gen5k.behavior["stat_month"].max()]
    share = (last["total_assets"] >= MILLION).mean()
    assert 0.03 < share < 0.35, share


def test_product_comparing_comes_before_aum_jumps(prospects: pd.DataFrame) -> None:
    """Within the same AUM band, customers who compare products a lot at T cross 1M in the next three
    months more often than those who do not: the behaviour signal a model must learn."""
    d = prospects.assign(band=pd.cut(prospects["aum"], [0, 200_000, 500_000, 800_000, MILLION], right=False))
    d["busy"] = d["compare"] >= 3
    rates = d.groupby(["band", "busy"], observed=True)["y"].agg(["mean", "size"]).unstack("busy")
    for band in rates.index[1:]:  # below 20万 almost nobody crosses 1M in three months
        low, high = rates.loc[band, ("mean", False)], rates.loc[band, ("mean", True)]
        assert rates.loc[band, ("size", True)] >= 100, band
        assert high > 2 * low + 0.01, (band, low, high)


def test_income_follows_occupation_and_city(gen5k: Generated) -> None:
    base = gen5k.customer_base
    occ = base.groupby("occupation_type")["monthly_income"].median()
    assert occ["企业高管"] > 3 * occ["传统行业"]
    assert occ["企业高管"] == occ.max()
    city = base.groupby("city_level")["monthly_income"].median()
    assert city["一线城市"] > city["二线城市"] > city["三线城市"]
    assert city["一线城市"] > 2 * city["三线城市"]


def test_married_share_rises_with_age(gen5k: Generated) -> None:
    base = gen5k.customer_base
    married = (base["marriage_status"] == "已婚").groupby(pd.cut(base["age"], [17, 25, 30, 35, 45, 85])).mean()
    assert married.is_monotonic_increasing, married
    assert married.iloc[0] < 0.25 and married.iloc[-1] > 0.75
    assert (base.loc[base["age"] < 25, "marriage_status"] == "离异").mean() < 0.05


def test_fund_holding_is_more_common_among_the_young_and_internet_and_finance_people(gen5k: Generated) -> None:
    b = gen5k.behavior
    last = b[b["stat_month"] == b["stat_month"].max()].merge(gen5k.customer_base, on="customer_id")
    by_occ = last.groupby("occupation_type")["fund_flag"].mean()
    for risky in ("互联网从业者", "金融从业者"):
        for calm in ("传统行业", "事业单位"):
            assert by_occ[risky] > by_occ[calm] + 0.1, by_occ
    by_age = last.groupby(pd.cut(last["age"], [17, 35, 50, 85]), observed=True)["fund_flag"].mean()
    assert by_age.iloc[0] > by_age.iloc[-1] + 0.04, by_age


def test_app_engagement_and_wealth_drive_investment_activity(gen5k: Generated) -> None:
    b = gen5k.behavior
    assert b["app_login_count"].corr(b["app_financial_view_time"]) > 0.4
    assert b.groupby("fund_flag")["investment_monthly_count"].mean().diff().iloc[-1] > 0.5
    assert (b["app_login_count"] == 0).mean() < 0.5
