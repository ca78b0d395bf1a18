"""Code tables (字典管理): the fixed lists of the domain as data a system administrator keeps.

A table (险种类型, 单位类型 …) holds codes with labels and an order; a code that anything uses
is retired (no longer offered) rather than deleted, so what was filed keeps its label.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import db
from models.errors import Refusal
from rules.codes import CODE_TABLES, seeded


class CodeTable(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(50))

    codes: Mapped[list[Code]] = relationship(back_populates="table", order_by="Code.sort")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Code(db.Model):
    __table_args__ = (sa.UniqueConstraint("table_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(sa.ForeignKey("code_table.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    label: Mapped[str] = mapped_column(sa.String(100))
    sort: Mapped[int] = mapped_column(default=0)
    retired: Mapped[bool] = mapped_column(default=False)

    table: Mapped[CodeTable] = relationship(back_populates="codes")

    def __str__(self) -> str:
        return self.label


def _codes(table: str, *, current_only: bool):
    query = sa.select(Code.code, Code.label).join(CodeTable).where(CodeTable.code == table)
    if current_only:
        query = query.where(Code.retired.is_(False))
    return db.session.execute(query.order_by(Code.sort, Code.id)).all()


def choices_of(table: str) -> list[tuple[str, str]]:
    """(code, label) pairs a form offers: the table's codes that are not retired, in order."""
    return [tuple(row) for row in _codes(table, current_only=True)]


def labels_of(table: str) -> dict[str, str]:
    """code → label for display, retired codes included (older filings hold them)."""
    return dict(_codes(table, current_only=False))


def table_codes() -> list[str]:
    """The codes of every code table, for the designer's choice fields."""
    return list(db.session.scalars(sa.select(CodeTable.code).order_by(CodeTable.code)))


def seed_code_tables() -> int:
    """Add the shipped tables and codes a database lacks (never changes what staff edited)."""
    added = 0
    for table_code, (name, codes) in CODE_TABLES.items():
        table = db.session.scalar(sa.select(CodeTable).where(CodeTable.code == table_code))
        if table is None:
            table = CodeTable(code=table_code, name=name)
            db.session.add(table)
            db.session.flush()
        have = set(db.session.scalars(sa.select(Code.code).where(Code.table_id == table.id)))
        for sort, (code, label) in enumerate(codes, 1):
            if code not in have:
                db.session.add(Code(table_id=table.id, code=code, label=label, sort=sort * 10))
                added += 1
    db.session.flush()
    return added


#: Master-data columns that hold the codes of a table.
def _columns(table: str):
    from models.person import Person
    from models.unit import Unit

    return {"unit_type": [Unit.unit_type], "id_type": [Person.id_type],
            "region": [Unit.region_code]}.get(table, [])


def use_of(code: Code) -> str | None:
    """Why ``code`` cannot be deleted (in Chinese), or None if nothing uses it."""
    table = code.table.code
    if seeded(table, code.code):
        return "系统内置代码"
    for column in _columns(table):
        if db.session.scalar(sa.select(sa.literal(1)).where(column == code.code).limit(1)):
            return "基础数据中有记录使用"
    from models.catalogue import fields_using
    from models.service import Application

    for item_id, names in fields_using(table).items():
        payloads = db.session.scalars(sa.select(Application.payload).where(
            Application.item_id == item_id))
        if any(isinstance(p, dict) and any(p.get(n) == code.code for n in names)
               for p in payloads):
            return "已有办件使用"
    return None


def check_deletable(code: Code) -> None:
    """Refuse deleting a code in use: it can only be retired (停用)."""
    reason = use_of(code)
    if reason:
        raise Refusal(f"代码“{code.label}”正在使用（{reason}），不能删除，只能停用")
