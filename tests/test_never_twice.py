"""Never file twice: a person in an unfinished filing of the same business (single or
batch, any batch of the unit) is refused with that filing's number: at upload, at save,
at a single filing's submission, and when two saves race."""
from __future__ import annotations

import sqlalchemy as sa

import models.claims
from models import Account, Application, ImportBatch, ServiceItem, Unit, clock, db
from models.auth import actor_for
from models.workflow import create_filing
from tests.conftest import UNIT_A, csrf_token
from tests.helpers import act, filing_id, new_filing, review, switch, upload
from tests.test_imports import filled, fresh_ids, reasons
from tests.test_imports import upload as upload_file

ENROLL = {"name": "重复测试", "phone": "13912345678", "start_date": "2026-11-01",
          "wage": "8000", "insurance_kinds": "110,210,310,410,510"}


def applications() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Application))


def submitted_single(client, id_no) -> int:
    application_id = filing_id(new_filing(client, "unit", "SB_ENROLL", {**ENROLL,
                                                                         "id_no": id_no}))
    upload(client, "unit", application_id, "contract")
    act(client, "unit", application_id, "submit")
    assert db.session.get(Application, application_id).state == "submitted"
    return application_id


def save(client, batch_id):
    return client.post(f"/unit/import/batch/{batch_id}/save/",
                       data={"csrf_token": csrf_token(client)}, follow_redirects=True)


def rows(ids, name="批量"):
    return [[i, f"{name}{n}", None, "2026-11-01", 8000, "五险"] for n, i in enumerate(ids)]


def test_upload_holds_a_person_already_in_an_unfinished_single_filing(unit_a):
    ids = fresh_ids(2, 61)
    earlier = submitted_single(unit_a, ids[0])
    batch, page = upload_file(unit_a, filled(unit_a, rows(ids)))
    assert (batch.rows_good, batch.rows_bad) == (1, 1)
    assert f"已在办件{earlier}中申报" in reasons(batch)[2]
    assert f"已在办件{earlier}中申报" in page


def test_save_refuses_people_another_batch_filed_since_the_upload(unit_a):
    ids = fresh_ids(3, 62)
    first, _ = upload_file(unit_a, filled(unit_a, rows(ids[:2])))
    second, _ = upload_file(unit_a, filled(unit_a, rows(ids[1:], "另")))  # both pass now
    assert first.rows_good == 2 and second.rows_good == 2
    save(unit_a, first.id)
    filed = db.session.get(ImportBatch, first.id).application_id
    before = applications()
    page = save(unit_a, second.id).get_data(as_text=True)
    assert f"{ids[1]}（办件{filed}）" in page and "不能重复申报" in page
    assert applications() == before
    assert db.session.get(ImportBatch, second.id).status == "checked"


def test_a_single_filing_is_refused_while_a_batch_names_the_person(unit_a):
    ids = fresh_ids(1, 63)
    batch, _ = upload_file(unit_a, filled(unit_a, rows(ids)))
    save(unit_a, batch.id)
    filed = db.session.get(ImportBatch, batch.id).application_id
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", {**ENROLL,
                                                                         "id_no": ids[0]}))
    upload(unit_a, "unit", application_id, "contract")
    page = act(unit_a, "unit", application_id, "submit").get_data(as_text=True)
    assert f"办件{filed}" in page and "不能重复申报" in page
    assert db.session.get(Application, application_id).state == "draft"


def test_a_finished_filing_frees_its_people(unit_a):
    ids = fresh_ids(1, 64)
    earlier = submitted_single(unit_a, ids[0])
    switch(unit_a, "staff", "reviewer")
    review(unit_a, earlier, "accept")
    review(unit_a, earlier, "reject", comment="材料不齐")
    switch(unit_a, "unit", "330106198507210020", UNIT_A)
    batch, _ = upload_file(unit_a, filled(unit_a, rows(ids)))
    assert batch.rows_good == 1
    save(unit_a, batch.id)
    assert db.session.get(ImportBatch, batch.id).application_id is not None


def test_two_saves_racing_for_one_person_answer_a_message(unit_a, monkeypatch):
    ids = fresh_ids(2, 65)
    first, _ = upload_file(unit_a, filled(unit_a, rows(ids[:1])))
    second, _ = upload_file(unit_a, filled(unit_a, rows(ids, "另")))
    save(unit_a, first.id)
    # The second save read the claims before the first one committed: only the unique
    # key stands between it and a second filing of the same person.
    monkeypatch.setattr(models.claims, "_claims", lambda *args: [])
    before = applications()
    response = save(unit_a, second.id)
    assert response.status_code == 200
    assert "其他办件刚刚申报了相同人员" in response.get_data(as_text=True)
    assert applications() == before


def test_approval_refuses_a_row_whose_person_another_unfinished_filing_names(unit_a):
    """Approval checks only the people whose claim the batch does not hold: a claim found
    with another unfinished filing (however it got there) refuses that row."""
    ids = fresh_ids(3, 67)
    other = submitted_single(unit_a, ids[2])
    batch, _ = upload_file(unit_a, filled(unit_a, rows(ids[:2])))
    save(unit_a, batch.id)
    filing = db.session.get(ImportBatch, batch.id).application_id
    db.session.execute(sa.update(models.claims.FilingClaim).where(
        models.claims.FilingClaim.id_no == ids[1]).values(application_id=other))
    db.session.commit()
    switch(unit_a, "staff", "reviewer")
    review(unit_a, filing, "accept")
    page = review(unit_a, filing, "approve").get_data(as_text=True)
    assert "1行已不能办理" in page and f"第3行已在办件{other}中申报" in page
    assert db.session.get(Application, filing).state == "in_review"


def test_a_double_click_on_save_files_one_batch(unit_a):
    batch, _ = upload_file(unit_a, filled(unit_a, rows(fresh_ids(2, 66))))
    before = applications()
    first, second = save(unit_a, batch.id), save(unit_a, batch.id)
    assert first.status_code == second.status_code == 200
    assert "请勿重复提交" in second.get_data(as_text=True) or \
        "已保存或没有可保存的数据" in second.get_data(as_text=True)
    assert applications() == before + 1


def test_an_empty_batch_filing_cannot_be_approved(unit_a):
    unit = db.session.scalar(sa.select(Unit).where(Unit.uscc == UNIT_A))
    item = db.session.scalar(sa.select(ServiceItem).where(
        ServiceItem.code == "SB_ENROLL_BATCH"))
    account = db.session.scalar(sa.select(Account).where(Account.unit_id == unit.id))
    application = create_filing(item, actor_for(account, clock.today()), {"rows": []},
                                unit_id=unit.id)
    application.state = "in_review"
    db.session.commit()
    switch(unit_a, "staff", "reviewer")
    response = review(unit_a, application.id, "approve")
    assert response.status_code == 200
    assert "没有数据行" in response.get_data(as_text=True)
    assert db.session.get(Application, application.id).state == "in_review"


def test_two_connections_racing_for_one_person_leave_one_claim(app):
    """Two transactions at once on real connections (not the test's savepoints): the unique
    key lets one claim through and answers the other with IntegrityError, on either database."""
    import threading

    from sqlalchemy.exc import IntegrityError

    from models import FilingClaim

    engine = db.engine
    with engine.connect() as conn:
        application_id, unit_id = conn.execute(sa.select(Application.id, Application.unit_id)
                                               .where(Application.unit_id.is_not(None))
                                               .limit(1)).one()
    row = {"unit_id": unit_id, "business": "enroll", "id_no": "RACE-TEST-000000000",
           "application_id": application_id}
    outcome = []

    def second():
        with engine.connect() as conn:
            try:
                with conn.begin():
                    conn.execute(sa.insert(FilingClaim), row)
                outcome.append("inserted")
            except IntegrityError:
                outcome.append("refused")

    first = engine.connect()
    try:
        transaction = first.begin()
        first.execute(sa.insert(FilingClaim), row)
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(0.5)  # the second waits on the first's uncommitted row
        transaction.commit()
        racer.join(10)
        assert outcome == ["refused"]
    finally:
        first.close()
        with engine.begin() as conn:
            conn.execute(sa.delete(FilingClaim).where(FilingClaim.id_no == row["id_no"]))
