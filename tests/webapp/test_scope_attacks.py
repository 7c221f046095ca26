"""A branch-scoped user attacks the scope through the real app over HTTP (the page's own API): SQL
edited in the confirm-before-run box and SQL the model writes, in every shape that once slipped
past the rewrite. The answer may only ever count the user's own branch."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from million.warehouse import connect
from tests.support.chat_text import chat_text
from tests.workflow.fakes import RecordingLLM
from tests.workflow.live import serve
from webapp.auth import save_user

PROBE = "SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM customer_base"
# Each is a way past a parser-only scope; all must show the scope's n and nb = 1.
ATTACKS = [
    ";" + PROBE,  # the reported one: the rewrite failed to parse, the guard dropped the empty statement
    ";;  ;" + PROBE,
    PROBE + ";",
    "/* c */ " + PROBE.replace("FROM", "/* x */ FROM"),
    "-- c\n" + PROBE,
    PROBE.replace("customer_base", '"customer_base"'),
    PROBE.replace("customer_base", '"CUSTOMER_BASE"'),
    PROBE.replace(" ", "\u3000", 2),
    PROBE.replace(" FROM", "\u00a0FROM"),
    "SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM (SELECT * FROM customer_base) t",
    "WITH x AS (SELECT * FROM customer_base) SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM x",
    "SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM (SELECT customer_id, branch_name FROM "
    "customer_base UNION ALL SELECT customer_id, branch_name FROM customer_base WHERE 1 = 0) u",
    "SELECT count(DISTINCT a.customer_id) AS n, count(DISTINCT b.branch_name) AS nb FROM customer_behavior_assets a "
    "LEFT JOIN customer_base b ON a.customer_id = b.customer_id",
    "(" + PROBE + ")",
]
REFUSED = [
    "WITH customer_base AS (SELECT * FROM customer_behavior_assets) SELECT count(*) AS n FROM customer_base",
    PROBE.replace("customer_base", "main.customer_base"),
    PROBE + "; SELECT 1",
]
CHAT, FILES, INFO, CODE = range(4)


_text = chat_text


@pytest.fixture(scope="module")
def scope_facts(small_wh_url) -> tuple[str, int, int]:
    wh = connect(small_wh_url)
    df = wh.query("SELECT branch_name, COUNT(*) AS n FROM customer_base GROUP BY branch_name ORDER BY n DESC")
    return str(df["branch_name"].iloc[0]), int(df["n"].iloc[0]), int(df["n"].sum())


def _last_table_row(text: str) -> list[str]:
    rows = [ln for ln in text.splitlines() if ln.startswith("|") and re.search(r"\d", ln)]
    return [c.strip().replace(",", "") for c in rows[-1].strip("|").split("|")]


def test_scoped_user_sees_only_their_branch_over_http(app_settings, scope_facts, tmp_path: Path) -> None:
    from gradio_client import Client

    branch, n_scope, n_all = scope_facts
    assert n_scope < n_all
    users = tmp_path / "users.json"
    save_user(users, "scoped", "pw-scoped-123456", [branch], "analyst")  # analysts confirm before SQL runs
    s = dataclasses.replace(app_settings, data_dir=tmp_path / "data", users_file=users)
    script: list[tuple] = []
    for _ in ATTACKS + REFUSED:
        script += [("call", "sql_inter", {"sql": "SELECT 1 AS x"}), ("answer", "好。")]
    llm = RecordingLLM(script)
    with serve(s, llm=llm) as url:
        c = Client(url + "/", auth=("scoped", "pw-scoped-123456"), verbose=False)
        for sql in ATTACKS:
            out = c.predict("各分行有多少客户", False, True, api_name="/respond")
            assert "等待您确认" in out[INFO]
            out = c.predict(sql, api_name="/run_code")  # the person edits the held SQL, then runs it
            text = _text(out[CHAT]).split("各分行有多少客户")[-1]
            assert "查询成功" in text, (sql, text[-400:])
            n, nb = _last_table_row(text)[-2:]
            assert (int(n), int(nb)) == (n_scope, 1), (sql, text[-400:])
        for sql in REFUSED:
            c.predict("各分行有多少客户", False, True, api_name="/respond")
            out = c.predict(sql, api_name="/run_code")
            text = _text(out[CHAT]).split("各分行有多少客户")[-1]  # this turn only
            assert "未执行" in text and "查询成功" not in text, (sql, text[-400:])


def test_a_memory_bomb_sent_as_a_chat_message_ends_only_that_query(app_settings, tmp_path: Path) -> None:
    """`SELECT len(range(1e8))` once took the app from 0.75 GB to 7.66 GB; 3e9 got it killed."""
    from gradio_client import Client

    def rss_mb() -> float:
        with open("/proc/self/status") as fh:
            return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS")) / 1024

    s = dataclasses.replace(app_settings, data_dir=tmp_path / "data")
    with serve(s) as url:  # offline mode: a message starting with SELECT runs as SQL
        c = Client(url + "/", verbose=False)
        before = rss_mb()
        c.predict("SELECT len(range(100000000)) AS n", False, False, api_name="/respond")  # fits, or not
        for n in ("400000000", "3000000000"):
            out = c.predict(f"SELECT len(range({n})) AS n", False, False, api_name="/respond")
            text = _text(out[CHAT]).split(f"range({n})")[-1]
            assert "内存超过上限" in text and "查询成功" not in text, text[-300:]
        assert rss_mb() - before < 300
        out = c.predict("SELECT COUNT(*) AS n FROM customer_base", False, False, api_name="/respond")
        assert "查询成功" in _text(out[CHAT]).split("SELECT COUNT(*) AS n FROM customer_base")[-1]


def test_python_data_sql_of_a_scoped_user_over_http(app_settings, scope_facts, tmp_path: Path) -> None:
    """python_inter's data_sql took the same path: 10,000 rows of 20 branches instead of 803."""
    import os

    from gradio_client import Client

    if os.geteuid() != 0:
        pytest.skip("python_inter 的沙箱需要 root（CI 以 root 运行）")
    branch, n_scope, _ = scope_facts
    users = tmp_path / "users.json"
    save_user(users, "scopedrm", "pw-scoped-123456", [branch], "rm")  # RMs: no confirm step
    s = dataclasses.replace(app_settings, data_dir=tmp_path / "data", users_file=users)
    code = "import pandas as pd\nd = pd.read_csv('d.csv')\nprint('ROWS', len(d), 'BRANCHES', d.branch_name.nunique())"
    llm = RecordingLLM([("call", "python_inter", {"code": code, "data_sql": {"d": ";SELECT * FROM customer_base"}}),
                        ("answer", "好。")])
    with serve(s, llm=llm) as url:
        c = Client(url + "/", auth=("scopedrm", "pw-scoped-123456"), verbose=False)
        out = c.predict("统计一下客户", False, False, api_name="/respond")
        assert f"ROWS {n_scope} BRANCHES 1" in _text(out[CHAT]), _text(out[CHAT])[-500:]


def test_a_scoped_rm_is_offered_a_customer_and_branch_of_theirs(app_settings, scope_facts, tmp_path: Path) -> None:
    """Seen in the browser: a 西安 RM's first suggestion was the bank's top prospect, of another branch,
    which the RM may not open (every tool refused it)."""
    from gradio_client import Client

    wh = connect(app_settings.warehouse_url)
    branches = wh.query("SELECT branch_name, COUNT(*) AS n FROM customer_base GROUP BY branch_name ORDER BY n")
    mine = str(branches["branch_name"].iloc[0])  # the smallest branch: not the page's default example
    assert mine != scope_facts[0]
    users = tmp_path / "users.json"
    save_user(users, "smallrm", "pw-scoped-123456", [mine], "rm")
    s = dataclasses.replace(app_settings, data_dir=tmp_path / "data", users_file=users)
    with serve(s) as url:
        c = Client(url + "/", auth=("smallrm", "pw-scoped-123456"), verbose=False)
        # the page's load event answers the API with the updates it sends the browser (buttons are not API values)
        hints = [x.get("placeholder", "") for x in c.predict(api_name="/on_load") if isinstance(x, dict)]
    ids = [m.group(0) for h in hints for m in [re.search(r"C\d+", h)] if m]
    assert len(ids) == 1, hints
    owner = wh.query("SELECT branch_name FROM customer_base WHERE customer_id = ?", [ids[0]])["branch_name"].iloc[0]
    assert owner == mine
    from webapp.app import _examples
    from webapp.ui import suggestions

    texts = [t for _g, t in suggestions(_examples((mine,)))]  # what on_load puts on the buttons
    assert ids[0] in texts and f"高潜客户名单 {mine}" in texts


def test_a_failing_example_lookup_leaves_the_rest_of_the_page_load(app_settings, scope_facts, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The scoped examples run in the page's load event, which also turns confirm-before-run on for analysts."""
    from gradio_client import Client

    import webapp.app

    def broken(branches=None):
        raise RuntimeError("warehouse away")

    users = tmp_path / "users.json"
    save_user(users, "scopedan", "pw-scoped-123456", [scope_facts[0]], "analyst")
    s = dataclasses.replace(app_settings, data_dir=tmp_path / "data", users_file=users)
    with serve(s) as url:
        monkeypatch.setattr(webapp.app, "_examples", broken)  # after the app's own examples were made
        c = Client(url + "/", auth=("scopedan", "pw-scoped-123456"), verbose=False)
        confirm, *_rest, box = c.predict(api_name="/on_load")
    assert confirm.get("value") is True
    assert "输入客户ID" in box.get("placeholder", "")
