"""One person per login phone: the phones several people share (older data), for staff to fix."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from models.base import db
from models.person import Person


def shared_phones(scope: sa.ColumnElement[bool],
                  limit: int = 200) -> list[tuple[str, list[Person]]]:
    """Phones on file for more than one person, each with those of its people the viewer
    reaches (``scope``, his row scope of ``Person``), by phone; a phone none of whose people
    he reaches is not listed."""
    phones = sa.select(Person.phone).where(Person.phone.is_not(None)).group_by(
        Person.phone).having(sa.func.count() > 1)
    reached = sa.select(Person.phone).where(Person.phone.in_(phones), scope).group_by(
        Person.phone).order_by(Person.phone).limit(limit)
    people = db.session.scalars(sa.select(Person).where(
        Person.phone.in_(reached), scope).order_by(Person.phone, Person.id))
    grouped: dict[str, list[Person]] = defaultdict(list)
    for person in people:
        grouped[person.phone].append(person)
    return sorted(grouped.items())
