"""Who may publish and retire public notices: pure predicates, no Flask, no session."""
from __future__ import annotations

from rules.codes import AccountKind
from rules.permissions import CATALOG, WRITE, Actor, staff_may


def may_publish(actor: Actor | None) -> bool:
    """Staff who maintain the catalogue (system administrators) publish and retire notices."""
    return actor is not None and actor.kind == AccountKind.STAFF and \
        staff_may(actor.roles, CATALOG, WRITE)


def publish_refusal(published: bool, retired: bool) -> str | None:
    """Why a notice cannot be published now, or None."""
    if published and not retired:
        return "该公告已发布"
    return None


def retire_refusal(published: bool, retired: bool) -> str | None:
    """Why a notice cannot be retired now, or None."""
    if not published:
        return "该公告尚未发布，无需撤下"
    if retired:
        return "该公告已撤下"
    return None
