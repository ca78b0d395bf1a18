"""经办人管理: who may grant, edit or revoke which level, and how many of each a unit has."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from rules.codes import GrantLevel

MAX_ADMINS = 1
MAX_AGENTS = 10

#: granter level → levels it may add, edit and revoke.
MAY_MANAGE = {
    GrantLevel.LEGAL_REP: frozenset({GrantLevel.ADMIN, GrantLevel.AGENT}),
    GrantLevel.ADMIN: frozenset({GrantLevel.AGENT}),
    GrantLevel.AGENT: frozenset(),
}


class DelegationRefused(Exception):
    """The grant change is not allowed; the message says why in Chinese."""


def check_manage(granter: GrantLevel, target: GrantLevel) -> None:
    """Refused unless ``granter`` may manage grants of level ``target``."""
    if GrantLevel(target) not in MAY_MANAGE[GrantLevel(granter)]:
        if granter == GrantLevel.AGENT:
            raise DelegationRefused("经办人不能授权他人")
        raise DelegationRefused(
            f"{GrantLevel(granter).label}不能管理{GrantLevel(target).label}的授权")


def check_add(granter: GrantLevel, target: GrantLevel, counts: Mapping[str, int]) -> None:
    """Refused if ``granter`` may not add one more grant of ``target`` given current counts."""
    check_manage(granter, target)
    if target == GrantLevel.ADMIN and counts.get(GrantLevel.ADMIN, 0) >= MAX_ADMINS:
        raise DelegationRefused(f"每个单位最多{MAX_ADMINS}个管理员")
    if target == GrantLevel.AGENT and counts.get(GrantLevel.AGENT, 0) >= MAX_AGENTS:
        raise DelegationRefused(f"每个单位最多{MAX_AGENTS}个经办人")


def check_period(valid_from: dt.date, valid_to: dt.date | None,
                 granter_valid_to: dt.date | None) -> None:
    """The period must be ordered and may not outlast the granter's own."""
    if valid_to is not None and valid_to < valid_from:
        raise DelegationRefused("授权结束日期不能早于开始日期")
    if granter_valid_to is not None and (valid_to is None or valid_to > granter_valid_to):
        raise DelegationRefused(f"授权期限不能超过您本人的授权期限（{granter_valid_to}）")


LIMITS = {GrantLevel.ADMIN: MAX_ADMINS, GrantLevel.AGENT: MAX_AGENTS}


def most_in_force(periods, start: dt.date, end: dt.date | None) -> int:
    """The largest number of ``periods`` ((from, to or None), to inclusive) in force together
    on any one day of [start, end] (end None: for ever)."""
    far = dt.date.max
    clipped = [(max(f, start), min(t or far, end or far)) for f, t in periods]
    clipped = [(f, t) for f, t in clipped if f <= t]
    # The most overlapping periods are all in force on the latest of their first days.
    return max((sum(1 for f, t in clipped if f <= day <= t) for day, _ in clipped), default=0)


def check_limit(level: GrantLevel, others, valid_from: dt.date, valid_to: dt.date | None) -> None:
    """Refused if a grant of ``level`` for [valid_from, valid_to] would make more than the
    limit in force on some day, given the unit's ``others`` (periods of the same level)."""
    limit = LIMITS.get(GrantLevel(level))
    if limit is not None and most_in_force(others, valid_from, valid_to) >= limit:
        label = "管理员" if level == GrantLevel.ADMIN else "经办人"
        raise DelegationRefused(f"每个单位同一时间最多{limit}个{label}（授权期间内已满）")
