"""Per-user branch scope, enforced on every customer-level tool call (not in the prompt)."""

from __future__ import annotations

from conversation.session import Session
from million.scope import customer_branch
from million.services import get_services
from tools.base import ToolInputError


def check_customer_scope(customer_id: str, session: Session) -> None:
    if session.branches is None:
        return
    branch = customer_branch(get_services().wh, customer_id)
    if branch is None:
        raise ToolInputError(f"未找到客户 {customer_id}，请确认客户ID是否正确。")
    if branch not in session.branches:
        raise ToolInputError("该客户不属于您有权查看的分行，无法提供信息。")


def scoped_branch(branch: str | None, session: Session) -> str | None:
    """A branch filter the user may use: for a scoped user, one of their own branches by its full
    name. A part of a name ("上海分行") would match sub-branches outside the scope in the services,
    so it is resolved to the one branch of theirs it names, or refused."""
    if branch is None or session.branches is None:
        return branch
    if branch in session.branches:
        return branch
    allowed = [b for b in session.branches if branch in b]
    if len(allowed) == 1:
        return allowed[0]
    mine = "、".join(session.branches[:10]) or "（无）"
    if not allowed:
        raise ToolInputError(f"您只能查看自己负责的分行：{mine}。")
    raise ToolInputError(f"“{branch}”对应您负责的多个网点，请写完整的网点名称：{mine}。")
