"""Masking of ID numbers and phones, as the manuals show them (1*****82): one rule for every page.

The first character and the last two stay visible, the rest is five stars whatever the length,
so a masked value tells neither the number nor its length. Masking a masked value changes nothing.
"""
from __future__ import annotations

from rules.permissions import may_see_identifiers

STARS = "*****"


def mask(value: str | None) -> str:
    """'330106198507210020' → '3*****20'; '13800000001' → '1*****01'; short values are starred."""
    if not value:
        return ""
    value = str(value)
    if len(value) <= 3:
        return "*" * len(value)
    return value[0] + STARS + value[-2:]


mask_id = mask
mask_phone = mask


#: Who sees full numbers on every page (the same rule as exports).
sees_full_identifiers = may_see_identifiers


def shown(actor, value: str | None) -> str:
    """``value`` as ``actor`` may see it on a page."""
    if not value:
        return ""
    return str(value) if sees_full_identifiers(actor) else mask(value)


def _full(value) -> str:
    return str(value) if value else ""


def shown_by(actor):
    """The function showing a value as ``actor`` may see it: ``shown`` with the actor's right
    decided once (an export applies it to a whole column)."""
    return _full if sees_full_identifiers(actor) else mask
