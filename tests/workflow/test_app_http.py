"""The workflow through the real app over HTTP (Gradio's own client, as the page calls it): confirm
and run edited code, plan mode, a report download, conversations after a restart, per-user scope."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.support.chat_text import chat_text
from tests.workflow.fakes import RecordingLLM
from tests.workflow.live import serve
from webapp.auth import save_user

SQL = "SELECT city_level, COUNT(*) AS n FROM customer_base GROUP BY city_level"
EDITED = "SELECT city_level AS 城市级别, COUNT(*) AS 客户数 FROM customer_base GROUP BY city_level ORDER BY 2 DESC"
# /respond returns: chat, downloads, confirm info, code, conversation list, notice, question box
CHAT, FILES, INFO, CODE, CONVS, NOTICE = range(6)


def val(x):
    """A component update comes back as a dict; plain values as themselves."""
    return x.get("value") if isinstance(x, dict) and x.get("__type__") == "update" else x


_text = chat_text


def _try(client, api: str, arg):
    from gradio_client.exceptions import AppError

    try:
        return client.predict(arg, api_name=api)
    except AppError as e:
        assert "not in the list of choices" in str(e)
        return None


@pytest.fixture()
def http_settings(app_settings, tmp_path: Path):
    return dataclasses.replace(app_settings, data_dir=tmp_path / "data")


def test_confirm_report_and_restart_over_http(http_settings, tmp_path: Path) -> None:
    from gradio_client import Client

    llm = RecordingLLM([("call", "sql_inter", {"sql": SQL}), ("answer", "二线城市客户最多。")])
    with serve(http_settings, llm=llm) as url:
        c = Client(url + "/", verbose=False, download_files=str(tmp_path / "dl"))
        out = c.predict("各城市级别的客户数", False, True, api_name="/respond")
        assert val(out[CODE]) == SQL and "等待您确认" in out[INFO] and "查询成功" not in _text(out[CHAT])
        assert len(llm.requests) == 1
        out = c.predict(EDITED, api_name="/run_code")
        text = _text(out[CHAT])
        assert "已按您的确认运行 sql_inter" in text and "客户数" in text and "二线城市客户最多。" in text
        assert val(out[CODE]) == "" and out[FILES]  # the panel is cleared, the CSV is offered
        made = c.predict(api_name="/make_report")
        assert "已生成分析报告" in made[2] and "用时" in made[2]
        html = next(Path(p) for p in made[1] if str(p).endswith(".html")).read_text(encoding="utf-8")
        assert "数据分析报告：各城市级别的客户数" in html and "data:image/png;base64," in html
        exported = c.predict(api_name="/export_conv")
        md = Path(val(exported[0])).read_text(encoding="utf-8")
        assert "# 对话记录：各城市级别的客户数" in md and "二线城市客户最多。" in md and "已导出" in exported[1]
        cid_choices = c.predict(api_name="/on_load")[1]["choices"]
        assert len(cid_choices) == 1
        cid = cid_choices[0][1]
    # a restart: a new app over the same data folder
    with serve(http_settings, llm=llm) as url:
        c = Client(url + "/", verbose=False, download_files=str(tmp_path / "dl2"))
        loaded = c.predict(api_name="/on_load")
        assert [v for _, v in loaded[1]["choices"]] == [cid] and len(loaded[2]["choices"]) == 1
        out = c.predict(cid, api_name="/open_conv")
        assert "二线城市客户最多。" in _text(out[CHAT]) and out[NOTICE] == ""
        out = c.predict(cid, api_name="/delete_conv")
        assert out[NOTICE] == "已删除该对话。" and c.predict(api_name="/on_load")[1]["choices"] == []


def test_plan_mode_over_http(http_settings) -> None:
    from gradio_client import Client

    planner = RecordingLLM([("answer", "1. [sql_inter] 查询各城市级别客户数\n2. [总结] 写结论")])
    llm = RecordingLLM([("call", "sql_inter", {"sql": SQL}), ("answer", "第1步：二线城市客户最多。")])
    with serve(http_settings, llm=llm, planner_llm=planner) as url:
        out = Client(url + "/", verbose=False).predict("各城市级别的客户数", True, False, api_name="/respond")
        text = _text(out[CHAT])
        assert text.index("执行计划") < text.index("调用工具 sql_inter") < text.index("计划回顾")
        assert "进度：2/2" in text and "1. ✓ 查询各城市级别客户数：查询成功" in text


def test_users_see_only_their_own_over_http(http_settings, tmp_path: Path) -> None:
    from gradio_client import Client

    users = tmp_path / "users.json"
    save_user(users, "ana", "pw-ana-123456", None, "analyst")
    save_user(users, "rmw", "pw-rmw-123456", None, "rm")
    s = dataclasses.replace(http_settings, users_file=users)
    llm = RecordingLLM([("call", "sql_inter", {"sql": SQL}), ("answer", "好。")])
    with serve(s, llm=llm) as url:
        ana = Client(url + "/", auth=("ana", "pw-ana-123456"), verbose=False)
        assert val(ana.predict(api_name="/on_load")[0]) is True  # analysts: confirm before run starts on
        ana.predict("各城市级别的客户数", False, False, api_name="/respond")
        made = ana.predict(api_name="/make_report")
        rid = val(made[0])
        cid = ana.predict(api_name="/on_load")[1]["choices"][0][1]
        rm = Client(url + "/", auth=("rmw", "pw-rmw-123456"), verbose=False)
        loaded = rm.predict(api_name="/on_load")
        assert val(loaded[0]) is False and loaded[1]["choices"] == [] and loaded[2]["choices"] == []
        # Ids that are not in the person's own lists are refused (by the list itself, and behind it
        # by the store and the report index, see test_history / test_reports).
        for api, arg in (("/open_conv", cid), ("/delete_conv", cid), ("/pick_report", rid), ("/delete_report", rid)):
            got = _try(rm, api, arg)
            assert got is None or "各城市级别的客户数" not in str(got), (api, got)
        assert len(ana.predict(api_name="/on_load")[1]["choices"]) == 1  # still there
        assert len(ana.predict(api_name="/on_load")[2]["choices"]) == 1
        assert ana.predict(rid, api_name="/pick_report")
        assert len(ana.predict(api_name="/on_load")[1]["choices"]) == 1  # still there
