"""List exports: the column-wise path (views.export_plan) writes exactly what the row-by-row
path writes, for every exportable view of every console, sorted and filtered; and it is the
path the large lists take."""
from __future__ import annotations

import csv
import io

import pytest
from flask_admin.contrib.sqla import ModelView
from openpyxl import load_workbook

from app import create_app
from tests.conftest import PERSON, REP_A, UNIT_A, login
from views import export_plan
from views.export_plan import ExportPlan

WHO = {"admin": ("staff", "admin", ""), "unit": ("unit", REP_A, UNIT_A),
       "me": ("person", PERSON, "")}


def _exportable():
    probe = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "probe"})
    return [(console, view.endpoint) for console in WHO
            for view in probe.extensions["consoles"][console]._views
            if isinstance(view, ModelView) and view.can_export]


EXPORTABLE = _exportable()


def _xlsx_values(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def _both(client, monkeypatch, url):
    fast = client.get(url)
    with monkeypatch.context() as patched:
        patched.setattr(ExportPlan, "of", classmethod(lambda cls, *a: None))
        slow = client.get(url)
    assert fast.status_code == slow.status_code == 200
    return fast.data, slow.data


@pytest.mark.parametrize(("console", "endpoint"), EXPORTABLE, ids=[e for _, e in EXPORTABLE])
def test_column_wise_export_equals_row_by_row(client, monkeypatch, console, endpoint):
    assert login(client, *WHO[console]).status_code == 302
    for query in ("", "?sort=0", "?sort=1&desc=1"):
        fast, slow = _both(client, monkeypatch, f"/{console}/{endpoint}/export/csv/{query}")
        assert fast.decode("utf-8-sig") == slow.decode("utf-8-sig")
    fast, slow = _both(client, monkeypatch, f"/{console}/{endpoint}/export/xlsx/")
    assert _xlsx_values(fast) == _xlsx_values(slow)


@pytest.mark.parametrize(("console", "endpoint"), [
    ("admin", "admin_person"), ("admin", "admin_unit"),
    ("unit", "unit_enrollment")])
def test_large_lists_export_column_wise(app, console, endpoint):
    view = next(v for v in app.extensions["consoles"][console]._views
                if v.endpoint == endpoint)
    names = [name for name, _ in view.get_export_columns()]
    assert ExportPlan.of(view, names, None) is not None, endpoint


def test_column_wise_export_masks_and_neutralises(client, monkeypatch, unit_a):
    calls = []
    original = export_plan._converter

    def spy(view, name):
        calls.append(name)
        return original(view, name)
    monkeypatch.setattr(export_plan, "_converter", spy)
    rows = list(csv.reader(io.StringIO(
        unit_a.get("/unit/unit_enrollment/export/csv/").get_data(as_text=True).lstrip("\ufeff"))))
    assert "person.id_no" in calls  # the column-wise path ran
    assert rows[0][:2] == ["姓名", "证件号码"] and len(rows) > 1


def test_cells_are_neutralised_and_masks_apply_per_actor():
    from rules.masking import shown, shown_by
    from rules.permissions import Actor
    from rules.codes import AccountKind
    from views.spreadsheets import cell

    for actor in (Actor(0, AccountKind.UNIT_MEMBER, unit_id=1, roles=frozenset()),
                  Actor(0, AccountKind.STAFF, roles=frozenset({"auditor"})),
                  Actor(0, AccountKind.STAFF, roles=frozenset({"clerk"}))):
        for value in ("330106198507210020", "13800000001", "12", "", None):
            assert shown_by(actor)(value) == shown(actor, value)
    assert [cell(v) for v in ("=1+1", "+1", "-1", "@x", "a=1")] == \
        ["'=1+1", "'+1", "'-1", "'@x", "a=1"]


def test_a_distinct_text_column_is_converted_as_value_by_value():
    """The pass over a whole column of distinct text (``_texts``) quotes exactly the cells
    the per-value conversion quotes, and leaves a column with other values to it."""
    from rules.codes import AccountKind
    from views.spreadsheets import cell

    texts = [f"职工{n}" for n in range(20)] + ["=1+1", "+86", "-3", "@x", "\tx", "\ry", "a=1",
                                                "x\x00=y"]
    column = ExportPlan(None, [export_plan.ExportColumn(None, cell, True)]).columns[0]
    assert column.cells(tuple(texts)) == [cell(v) for v in texts]
    assert column.cells(tuple(texts))[20:24] == ["'=1+1", "'+86", "'-3", "'@x"]
    mixed = (*texts, None, 7, AccountKind.STAFF)  # not all plain str: value by value
    assert column.cells(mixed) == [cell(v) for v in mixed]


@pytest.mark.parametrize(("console", "endpoint"), [("admin", "admin_person"),
                                                   ("unit", "unit_enrollment")])
def test_export_chunks_hold_every_row_once(client, monkeypatch, console, endpoint):
    """Rows travel in chunks from the fetch to the writer: with chunks of 2 rows the file
    is the same as with one chunk, and the export-rows counter counts each row once."""
    from observability import EXPORT_ROWS
    from views import base

    assert login(client, *WHO[console]).status_code == 302
    url = f"/{console}/{endpoint}/export/csv/"
    whole = client.get(url).data
    counter = EXPORT_ROWS.labels("csv")
    monkeypatch.setattr(base, "EXPORT_CHUNK", 2)
    before = counter._value.get()
    chunked = client.get(url).data
    assert chunked == whole
    assert counter._value.get() - before == len(whole.decode("utf-8-sig").splitlines()) - 1 > 2
