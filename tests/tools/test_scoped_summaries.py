"""Summary tools honour a user's branch scope: ranks and counts are of their branches, segment
profiles count their customers, and a part of a branch name cannot widen the scope."""

from __future__ import annotations

import re

import pytest

from conversation.session import Session
from million.services import get_services
from tools.forecast_aum import ForecastAum
from tools.predict_million_prob import PredictMillionProb
from tools.segment_lookup import SegmentLookup


@pytest.fixture(scope="module")
def scoped_case(app_settings, known_customers) -> tuple[str, str, int]:
    """(a prospect, its branch, the number of scored prospects in that branch)."""
    svc = get_services().propensity()
    cid = known_customers["prospect"]
    branch = str(svc.predict(cid).branch_name)
    c = svc.snapshot.customers
    return cid, branch, int((c["probability"].notna() & (c["branch_name"] == branch)).sum())


def _session(tmp_path, branch: str) -> Session:
    return Session(tmp_path / "s", user="rm", branches=(branch,))


def test_a_customers_rank_is_within_the_users_branches(scoped_case, tmp_path) -> None:
    cid, branch, n_branch = scoped_case
    bank = get_services().propensity().predict(cid)
    session = _session(tmp_path, branch)
    PredictMillionProb().call({"customer_id": cid}, session=session)
    text = session.events[-1].text
    m = re.search(r"在 ([\d,]+) 名(?:已评分)?潜客中排名第 ([\d,]+)", text)
    assert m, text
    n, rank = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
    assert n == n_branch < bank.n_prospects and rank <= bank.rank and rank <= n


def test_the_prospect_list_holds_only_the_users_branch_ranked_from_one(scoped_case, tmp_path) -> None:
    _, branch, _ = scoped_case
    session = _session(tmp_path, branch)
    PredictMillionProb().call({"top_n": 10, "include_cool": True}, session=session)
    rows = [ln for ln in session.events[-1].display.splitlines() if ln.startswith("| ") and "C" in ln]
    assert rows and all(branch in r for r in rows)
    assert rows[0].split("|")[1].strip() == "1"


def test_segment_profiles_count_the_users_customers(scoped_case, tmp_path) -> None:
    _, branch, _ = scoped_case
    in_branch = int(get_services().wh.query("SELECT COUNT(*) AS n FROM customer_segments s JOIN customer_base b "
                                            "ON s.customer_id = b.customer_id WHERE b.branch_name = ?",
                                            [branch])["n"].iloc[0])
    segs = get_services().segments().in_branches([branch])
    assert sum(s["profile"]["size"] for s in segs) == in_branch
    session = _session(tmp_path, branch)
    SegmentLookup().call({}, session=session)
    text = session.events[-1].text
    assert "按您负责的分行统计" in text
    whole = sum(s["profile"]["size"] for s in get_services().segments().all())
    assert f"{whole:,}" not in text or whole == in_branch


def test_part_of_a_branch_name_cannot_widen_the_scope(scoped_case, tmp_path) -> None:
    _, branch, _ = scoped_case
    city = branch.split("分行")[0] + "分行"  # e.g. 上海分行: every sub-branch of the city
    session = _session(tmp_path, branch)
    ForecastAum().call({"branch_name": city}, session=session)
    ev = session.events[-1]
    # resolved to the user's own sub-branch, never the whole city
    assert ev.status == "ok" and f"{branch} AUM 预测" in ev.text.replace("「", "").replace("」", ""), ev.text
    ForecastAum().call({"segment": "0"}, session=session)  # a segment's series sums every branch
    assert session.events[-1].status == "error" and "只能预测自己负责的" in session.events[-1].text
