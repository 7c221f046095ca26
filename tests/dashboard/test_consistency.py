"""The dashboard and the chat tell the same story on the same data (the real model's scores): the
same prospects listed in the same order, none in the marketing cool period, one prospect count."""

from __future__ import annotations

from million.contact import cool_customers, prospect_count
from million.dashboard import DashboardService


def test_dashboard_prospect_list_is_the_chat_list(app_settings, built_artifacts, small_wh_url) -> None:
    from million.services import get_services

    svc = get_services().propensity()
    panel = DashboardService(small_wh_url, built_artifacts).data()["charts"]["prospects"]
    chat = svc.top(10)
    assert [r["customer_id"] for r in panel["rows"]] == chat["customer_id"].tolist()
    assert [r["probability"] for r in panel["rows"]] == [round(float(p), 4) for p in chat["probability"]]
    cool = cool_customers(svc.wh, panel["as_of"])
    assert cool and not {r["customer_id"] for r in panel["rows"]} & set(cool)
    # the model's cool flag is the same rule
    snap = svc.snapshot.customers
    assert set(snap.index[snap["in_cool"]]) == set(cool) & set(snap.index[snap["has_features"]])
    # with the cool customers included, the chat's list holds the ones the panel leaves out
    everyone = svc.top(10, include_cool=True)
    assert set(everyone["customer_id"]) & set(cool) or everyone["customer_id"].tolist() == chat["customer_id"].tolist()
    assert panel["cool_excluded"] == len(set(cool) & set(snap.index[snap["probability"].notna()]))


def test_one_prospect_count_on_every_surface(app_settings, built_artifacts, small_wh_url) -> None:
    from million.services import get_services

    svc = get_services().propensity()
    data = DashboardService(small_wh_url, built_artifacts).data()
    kpi = {c["key"]: c for c in data["kpis"]}["prospects"]["value"]
    panel = data["charts"]["prospects"]
    assert kpi == panel["prospects"] == prospect_count(svc.wh, panel["as_of"])
    assert panel["scored"] == svc.snapshot.n_prospects <= kpi
