"""The bulk import's mechanisms for speed: the cyclic collector paused while a batch builds
its rows, and a set of values matched as one bound parameter (``bulk.one_of``)."""
from __future__ import annotations

import gc
import threading

import sqlalchemy as sa

import models.handlers
import models.imports
from models import Application, ImportBatch, Person, db
from models.bulk import one_of
from models.collector import paused
from tests.conftest import csrf_token
from tests.helpers import review, switch
from tests.test_imports import filled, fresh_ids, upload


def test_the_collector_is_paused_inside_and_restored_after_nested_uses():
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer use is not over
    assert gc.isenabled()


def test_a_use_ending_in_another_thread_does_not_restart_the_collector_early():
    inside, leave = threading.Event(), threading.Event()

    def other():
        with paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with paused():
        thread.start()
        inside.wait(5)
    assert not gc.isenabled()  # the other thread's batch is still running
    leave.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_upload_and_approval_build_their_rows_with_the_collector_paused(unit_a, monkeypatch):
    seen = []
    for module in (models.imports, models.handlers):
        original = module.check_against_records

        def spy(*args, _original=original, **kwargs):
            seen.append(gc.isenabled())
            return _original(*args, **kwargs)
        monkeypatch.setattr(module, "check_against_records", spy)
    ids = fresh_ids(2, 81)
    batch, _ = upload(unit_a, filled(unit_a, [[i, f"停{n}", None, "2026-11-01", 8000, "五险"]
                                              for n, i in enumerate(ids)]))
    unit_a.post(f"/unit/import/batch/{batch.id}/save/", data={"csrf_token": csrf_token(unit_a)})
    filing_id = db.session.get(ImportBatch, batch.id).application_id
    switch(unit_a, "staff", "reviewer")
    review(unit_a, filing_id, "accept")
    review(unit_a, filing_id, "approve")
    assert db.session.get(Application, filing_id).state == "completed"
    assert seen == [False, False] and gc.isenabled()


def test_one_of_matches_a_set_as_one_parameter_on_either_database(app):
    people = list(db.session.execute(sa.select(Person.id_no, Person.id)).all())
    wanted = dict(people[::2])
    asked = [*wanted, *wanted, "110101199003070011'", "不存在", *(str(n) for n in range(3000))]
    found = dict(db.session.execute(sa.select(Person.id_no, Person.id).where(
        one_of(Person.id_no, asked))).all())
    assert found == wanted
    assert db.session.scalars(sa.select(Person.id).where(one_of(Person.id_no, []))).all() == []


def test_insert_rows_converts_each_distinct_value_once_and_stores_what_the_orm_would(
        app, monkeypatch):
    """The bind processors are memoised per column: a batch's repeated dates and times are
    converted once each, and the stored values equal those of one row added by the ORM."""
    import datetime as dt
    from decimal import Decimal

    from models import Enrollment, Unit
    from models.bulk import _Memo, insert_rows
    from models.handlers import ENROLLMENT_COLUMNS

    calls = []

    class Counted(_Memo):
        def __init__(self, process):
            super().__init__(lambda value: calls.append(value) or process(value))

    monkeypatch.setattr(models.bulk, "_Memo", Counted)
    unit_id = db.session.scalar(sa.select(Unit.id))
    person_ids = db.session.scalars(sa.select(Person.id).limit(3)).all()
    now, day = dt.datetime(2026, 11, 30, 1, 2, 3), dt.date(2026, 11, 1)
    wages = (Decimal("8000"), Decimal("8000.00"), 8000, 8000.5)
    rows = [(pid, unit_id, "110", day, wage, "active", now)
            for pid in person_ids for wage in wages]
    ids = [i for (i,) in insert_rows(Enrollment.__table__, ENROLLMENT_COLUMNS, rows)]
    assert len(ids) == len(rows)
    if db.engine.dialect.name == "sqlite":  # DATE, DATETIME and NUMERIC convert on SQLite
        # one day, one time, one status; 8000 as Decimal (twice equal), int, float 8000.5
        assert sorted(map(repr, calls)) == sorted(map(repr, [
            day, now, "active", Decimal("8000"), 8000, 8000.5]))
    stored = db.session.execute(sa.select(Enrollment.start_date, Enrollment.wage,
                                          Enrollment.created_at)
                                .where(Enrollment.id.in_(ids))).all()
    assert {tuple(r) for r in stored} == {(day, Decimal("8000.00"), now),
                                          (day, Decimal("8000.50"), now)}
