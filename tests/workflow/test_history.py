"""Saved conversations: they survive a restart, are listed per user, reopen with their results and
files, can be deleted and exported; nobody reaches another user's conversations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.workflow.conftest import ANALYST, RM, chat_text, last
from tests.workflow.fakes import RecordingLLM
from webapp.history_store import HistoryDB

SQL = "SELECT city_level, COUNT(*) AS n FROM customer_base GROUP BY city_level"


def _talk(flow, user=ANALYST, question="各城市级别的客户数"):
    _, v = last(flow.ask(user, None, question))
    return v


def _llm():
    return RecordingLLM([("call", "sql_inter", {"sql": SQL}), ("answer", "二线城市客户最多。")])


def test_conversations_survive_a_restart(make_flow) -> None:
    v = _talk(make_flow(_llm()))
    assert "查询成功" in chat_text(v)
    flow2 = make_flow(_llm())  # a new process: new store, same database and folders
    listed = flow2.conversations(ANALYST)
    assert [cid for _, cid in listed] == [v.cid] and listed[0][0].startswith("各城市级别的客户数")
    reopened = flow2.open(ANALYST, v.cid)
    assert reopened is not None and chat_text(reopened) == chat_text(v)
    assert reopened.files and all(Path(p).is_file() for p in reopened.files)  # the CSV download is back
    conv = flow2.store.get(v.cid, ANALYST.name)
    assert conv.llm_history[0] == {"role": "user", "content": "各城市级别的客户数"}
    # ... and the conversation goes on where it stopped
    _, v2 = last(flow2.ask(ANALYST, v.cid, "再查一次"))
    assert chat_text(v2).count("查询成功") == 2 and len(flow2.conversations(ANALYST)) == 1


def test_held_code_is_still_waiting_after_a_restart(make_flow) -> None:
    _, v = last(make_flow(_llm()).ask(ANALYST, None, "各城市级别的客户数", confirm_on=True))
    flow2 = make_flow(_llm())
    reopened = flow2.open(ANALYST, v.cid)
    assert reopened.pending is not None and reopened.pending.code == SQL
    _, done = last(flow2.run_code(ANALYST, v.cid, reopened.pending.id, SQL))
    assert "查询成功" in chat_text(done) and "二线城市客户最多。" in chat_text(done)


def test_each_user_sees_only_their_own(make_flow) -> None:
    flow = make_flow(_llm())
    mine = _talk(flow, ANALYST)
    theirs = _talk(flow, RM, "分行客户数")
    assert [c for _, c in flow.conversations(ANALYST)] == [mine.cid]
    assert [c for _, c in flow.conversations(RM)] == [theirs.cid]
    flow2 = make_flow(_llm())
    assert flow2.open(RM, mine.cid) is None and flow.open(RM, mine.cid) is None
    assert flow2.delete(RM, mine.cid) is False and flow2.open(ANALYST, mine.cid) is not None
    assert flow2.export(RM, mine.cid) is None
    # asking into someone else's conversation id starts a new conversation of one's own
    _, v = last(flow2.ask(RM, mine.cid, "你好"))
    assert v.cid != mine.cid and flow2.open(ANALYST, mine.cid) is not None


@pytest.mark.parametrize("bad", ["../../etc/passwd", "..", "", None, "A" * 32, "0" * 31, "0" * 32 + "/x", "*"])
def test_ids_are_checked(make_flow, bad) -> None:
    flow = make_flow(_llm())
    _talk(flow)
    assert flow.open(ANALYST, bad) is None and flow.delete(ANALYST, bad) is False
    assert flow.export(ANALYST, bad) is None


def test_delete_removes_row_and_files(make_flow) -> None:
    flow = make_flow(_llm())
    v = _talk(flow)
    folder = flow.store.get(v.cid, ANALYST.name).session.dir
    assert folder.is_dir()
    assert flow.delete(ANALYST, v.cid) is True
    assert flow.conversations(ANALYST) == [] and not folder.exists()
    assert make_flow(_llm()).open(ANALYST, v.cid) is None


def test_a_new_chat_starts_clean(make_flow) -> None:
    flow = make_flow(_llm())
    old = _talk(flow)
    fresh = flow.new(ANALYST)
    conv = flow.store.get(fresh.cid, ANALYST.name)
    assert fresh.cid != old.cid and fresh.chat == [] and fresh.files == [] and fresh.pending is None
    assert conv.llm_history == [] and conv.session.context == {} and conv.session.events == []
    assert [c for _, c in flow.conversations(ANALYST)] == [old.cid]  # empty chats are not listed


def test_export_as_markdown(make_flow) -> None:
    flow = make_flow(RecordingLLM([("call", "sql_inter", {"sql": "SELECT '<script>x</script>' AS s, 1 AS n"}),
                                   ("answer", "见上。![t](https://evil.example/p.png)")]))
    v = _talk(flow)
    path = flow.export(ANALYST, v.cid)
    assert path is not None and path.suffix == ".md" and path.name.startswith("对话记录_")
    assert path.is_relative_to(flow.store.get(v.cid, ANALYST.name).session.dir)
    md = path.read_text(encoding="utf-8")
    assert "# 对话记录：各城市级别的客户数" in md and "## 第 1 问：各城市级别的客户数" in md
    assert "sql_inter（SQL 查询）· 完成" in md and "查询成功，返回 1 行 2 列" in md and "见上。" in md
    prose = re.sub(r"```.*?```", "", md, flags=re.S)  # inside code fences it is shown as code
    assert "<script>" not in prose and "&lt;script>x" in prose and "evil.example/p.png)" not in md
    assert "&gt;" not in md  # nothing to escape in ">" alone: the export reads like text
    assert str(path) in flow.open(ANALYST, v.cid).files  # offered for download with the other files


def test_history_db_refuses_to_overwrite_another_users_row(tmp_path) -> None:
    db = HistoryDB(tmp_path / "h.sqlite3")
    cid = "a" * 32
    db.save_conversation("alice", cid, "t", {"x": 1})
    with pytest.raises(PermissionError):
        db.save_conversation("bob", cid, "t", {"x": 2})
    assert db.load_conversation("alice", cid) == ("t", {"x": 1}) and db.load_conversation("bob", cid) is None


def test_page_visits_continue_the_latest_conversation(make_flow) -> None:
    """Reloading the page does not add a saved conversation; equal titles are told apart; an empty or
    over-long message gets a notice."""
    from webapp.chat_flow import EMPTY_NOTICE, MAX_QUESTION

    flow = make_flow()
    assert flow.resume(ANALYST) is None  # nothing yet: a visit starts fresh
    _, v = last(flow.ask(ANALYST, None, "客群概览"))
    for _ in range(3):  # three page visits, each asking again in the conversation it opens
        resumed = flow.resume(ANALYST)
        assert resumed is not None and resumed.cid == v.cid
        last(flow.ask(ANALYST, resumed.cid, "客群概览"))
    assert len(flow.conversations(ANALYST)) == 1
    _, w = last(flow.ask(ANALYST, None, "客群概览"))  # "＋ 新对话" and the same question
    labels = [label for label, _ in flow.conversations(ANALYST)]
    assert len(labels) == 2 and len({lb.split(" · ")[0] for lb in labels}) == 2, labels
    _, e = last(flow.ask(ANALYST, w.cid, "   "))
    assert e.notice == EMPTY_NOTICE
    views, _ = last(flow.ask(ANALYST, w.cid, "客群概览" + "好" * MAX_QUESTION))
    assert all("只处理了前 4,000 字" in x.notice for x in views)
