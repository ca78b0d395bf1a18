"""Materials through the file store, as users meet them, on both backends (the local directory
and S3 on moto's server): upload, the filing's page, download, the reviewer's case page; and a
download out of scope answers 404 without touching the store."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from models import Account, Application, Attachment, db, storage
from tests.conftest import REP_B, UNIT_B
from tests.helpers import PDF, PNG, act, filing_id, fresh_id_no, new_filing, switch, upload

ENROLL = {"name": "存储测试", "phone": "13912345678", "start_date": "2026-11-01",
          "wage": "8000", "insurance_kinds": "110,210,310,410,510"}
SCAN = PNG + b"scan of a contract " * 5000  # about 95 KB: several chunks


def test_the_attachment_journey_on_each_backend(unit_a, storage_kind):
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL",
                                          {**ENROLL, "id_no": fresh_id_no(21)}))
    page = upload(unit_a, "unit", application_id, "contract", SCAN, "劳动合同.png")
    assert "材料已上传" in page.get_data(as_text=True)
    attachment = db.session.scalar(sa.select(Attachment).where(
        Attachment.application_id == application_id))
    digest = hashlib.sha256(SCAN).hexdigest()
    assert attachment.stored_path == f"materials/{digest[:2]}/{digest}"
    assert attachment.size == len(SCAN)
    assert storage.backend().kind == storage_kind and storage.exists(attachment.stored_path)

    detail = unit_a.get(f"/unit/filing/{application_id}/").get_data(as_text=True)
    link = f"/unit/filing/attachment/{attachment.id}/"
    assert link in detail and "劳动合同.png" in detail
    download = unit_a.get(link)
    assert download.status_code == 200 and download.data == SCAN
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Length"] == str(len(SCAN))
    assert "attachment" in download.headers["Content-Disposition"] \
        and "filename*=UTF-8''%E5%8A%B3" in download.headers["Content-Disposition"]

    act(unit_a, "unit", application_id, "submit")
    assert db.session.get(Application, application_id).state == "submitted"
    switch(unit_a, "staff", "reviewer")
    case = unit_a.get(f"/admin/admin_application/details/?id={application_id}")
    assert f"/admin/admin_application/attachment/{attachment.id}/preview/" in case.get_data(
        as_text=True)
    preview = unit_a.get(f"/admin/admin_application/attachment/{attachment.id}/preview/")
    assert preview.status_code == 200 and preview.data == SCAN
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert unit_a.get(f"/admin/admin_application/attachment/{attachment.id}/").data == SCAN


def test_the_same_content_is_stored_once(unit_a, storage_kind, monkeypatch):
    first = filing_id(new_filing(unit_a, "unit", "SB_ENROLL", {**ENROLL, "id_no": fresh_id_no(22)}))
    second = filing_id(new_filing(unit_a, "unit", "SB_ENROLL",
                                  {**ENROLL, "id_no": fresh_id_no(23)}))
    upload(unit_a, "unit", first, "contract", PDF + b"once")
    saves = []
    store = type(storage.backend())
    original = store.save
    monkeypatch.setattr(store, "save", lambda self, key, stream: saves.append(key) or
                        original(self, key, stream))
    upload(unit_a, "unit", second, "contract", PDF + b"once")
    paths = db.session.scalars(sa.select(Attachment.stored_path).where(
        Attachment.application_id.in_([first, second]))).all()
    assert len(paths) == 2 and paths[0] == paths[1] and saves == []


def test_a_refused_upload_stores_nothing(unit_a, storage_kind, monkeypatch):
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL",
                                          {**ENROLL, "id_no": fresh_id_no(24)}))
    saves = []
    monkeypatch.setattr(type(storage.backend()), "save", lambda *args: saves.append(args))
    big = upload(unit_a, "unit", application_id, "contract", b"%PDF" + b"0" * (10 << 20))
    assert "10MB" in big.get_data(as_text=True)
    fake = upload(unit_a, "unit", application_id, "contract", b"MZ not a pdf", "x.pdf")
    assert "只接受PDF、JPG、PNG" in fake.get_data(as_text=True)
    assert saves == [] and not db.session.get(Application, application_id).attachments


class Spy:
    """Records every call the views make on the store."""

    def __init__(self, monkeypatch, store_class):
        self.calls = []
        for name in ("open", "exists", "save", "delete"):
            original = getattr(store_class, name)
            monkeypatch.setattr(store_class, name, self._wrap(name, original))

    def _wrap(self, name, original):
        def spied(store, *args):
            self.calls.append((name, args[0]))
            return original(store, *args)
        return spied


@pytest.mark.parametrize("path", ["/unit/filing/attachment/{}/"])
def test_an_out_of_scope_download_answers_404_and_never_touches_the_store(
        unit_a, storage_kind, monkeypatch, path):
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL",
                                          {**ENROLL, "id_no": fresh_id_no(25)}))
    upload(unit_a, "unit", application_id, "contract", PDF + b"unit A's secret")
    act(unit_a, "unit", application_id, "submit")
    attachment = db.session.scalar(sa.select(Attachment).where(
        Attachment.application_id == application_id))
    spy = Spy(monkeypatch, type(storage.backend()))

    switch(unit_a, "unit", REP_B, UNIT_B)
    assert unit_a.get(path.format(attachment.id)).status_code == 404
    reviewer = db.session.scalar(sa.select(Account).where(Account.username == "reviewer"))
    for role in reviewer.roles:  # a reviewer of unit B's region only
        role.region_code = "330902"
    db.session.commit()
    switch(unit_a, "staff", "reviewer")
    for url in (f"/admin/admin_application/attachment/{attachment.id}/",
                f"/admin/admin_application/attachment/{attachment.id}/preview/"):
        assert unit_a.get(url).status_code == 404, url
    assert spy.calls == []

    # The spy sees what a permitted download reads: the store is asked once, for this key.
    switch(unit_a, "unit", "330106198507210020", "91330106MA2ABCDE1G")
    assert unit_a.get(path.format(attachment.id)).data == PDF + b"unit A's secret"
    assert spy.calls == [("open", attachment.stored_path)]


def test_a_file_missing_from_the_store_answers_404(unit_a, storage_kind):
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL",
                                          {**ENROLL, "id_no": fresh_id_no(26)}))
    upload(unit_a, "unit", application_id, "contract", PDF + b"soon gone")
    attachment = db.session.scalar(sa.select(Attachment).where(
        Attachment.application_id == application_id))
    storage.delete(attachment.stored_path)
    response = unit_a.get(f"/unit/filing/attachment/{attachment.id}/")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_healthz_checks_the_configured_store(client, storage_kind):
    body = client.get("/healthz").get_json()
    assert body["checks"]["storage"]["ok"] and body["checks"]["storage"]["backend"] == \
        storage_kind
    assert not list(storage.backend().keys("healthz/"))


def test_a_download_closes_the_stream_it_opened(unit_a, storage_kind, monkeypatch):
    """Streamed in chunks, and the store's stream (a file handle or an HTTP connection to the
    object store) is closed when the response ends."""
    application_id = filing_id(new_filing(unit_a, "unit", "SB_ENROLL",
                                          {**ENROLL, "id_no": fresh_id_no(27)}))
    upload(unit_a, "unit", application_id, "contract", SCAN)
    attachment = db.session.scalar(sa.select(Attachment).where(
        Attachment.application_id == application_id))
    opened, reads, closed = [], [], []
    store_class = type(storage.backend())
    original = store_class.open

    def tracked(store, key):
        stream = original(store, key)
        read, close = stream.read, stream.close
        stream.read = lambda size=-1: reads.append(size) or read(size)
        stream.close = lambda: closed.append(key) or close()
        opened.append(key)
        return stream

    monkeypatch.setattr(store_class, "open", tracked)
    assert unit_a.get(f"/unit/filing/attachment/{attachment.id}/").data == SCAN
    assert opened == closed == [attachment.stored_path]
    assert reads and all(0 < size <= storage.CHUNK for size in reads)
