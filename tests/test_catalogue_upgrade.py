"""An existing database upgraded to a release whose bundled item definitions changed.

``load-catalogue`` runs on every ``make run`` / deploy. An office that loaded RC_TALENT before
issue 15 holds its old definition (filed by units too, 5 fields); the upgrade must bring the
bundled one in as a new published version unless the office's own designer changed the item,
and the individuals-only rule must hold whatever definition the database holds.
"""
from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from models import Application, ServiceItem, ServiceItemVersion, db
from models.catalogue import CATALOGUE_DIR, latest_version, load_catalogue, versions_of
from rules.codes import Filer
from tests.conftest import PERSON, UNIT_A
from tests.helpers import new_filing

OLD = json.loads((Path(__file__).parent / "fixtures" / "rc_talent_before_15.json").read_text())
BUNDLED = json.loads((CATALOGUE_DIR / "rc_talent.json").read_text())


def _talent() -> ServiceItem:
    return db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == "RC_TALENT"))


def _as_before_15(by_id=None, label="系统") -> ServiceItem:
    """The item as a database loaded before issue 15 holds it: its latest version the old
    bundled definition, published by load-catalogue (by_id None) or by the office."""
    item = _talent()
    previous = latest_version(item)
    definition = {k: v for k, v in OLD.items() if k != "format"}
    db.session.add(ServiceItemVersion(item_id=item.id, number=previous.number + 1,
                                      definition=definition, published_by_id=by_id,
                                      published_by_label=label))
    item.filer, item.form_fields, item.materials = Filer.BOTH, OLD["fields"], OLD["materials"]
    db.session.flush()
    return item


def _talent_filings() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Application).join(
        ServiceItem).where(ServiceItem.code == "RC_TALENT"))


def test_load_catalogue_publishes_the_newer_bundled_definition(app):
    item = _as_before_15()
    before = latest_version(item).number
    load_catalogue()
    db.session.refresh(item)
    latest = latest_version(item)
    assert latest.number == before + 1
    assert latest.definition == {k: v for k, v in BUNDLED.items() if k != "format"}
    assert item.filer == Filer.PERSON and len(item.form_fields) == len(BUNDLED["fields"])
    assert load_catalogue() == [] and latest_version(item).number == before + 1  # once


def test_an_upgraded_database_refuses_a_unit_talent_filing(app, unit_a):
    _as_before_15()
    load_catalogue()
    before = _talent_filings()
    forged = new_filing(unit_a, "unit", "RC_TALENT", {
        "name": "张伟", "id_no": PERSON, "level": "C", "unit_uscc": UNIT_A})
    assert forged.status_code in (403, 404)
    assert _talent_filings() == before


def test_the_office_s_own_version_is_kept_yet_units_still_may_not_file(app, unit_a):
    """A version the office's designer published is its decision: the upgrade does not
    overwrite it, but the talent handler is the individual's alone whatever it says."""
    from models import Account

    admin = db.session.scalar(sa.select(Account.id).where(Account.username == "admin"))
    item = _as_before_15(by_id=admin, label="系统管理员")
    mine = latest_version(item)
    load_catalogue()
    assert latest_version(item).id == mine.id and len(versions_of(item)) == mine.number
    before = _talent_filings()
    forged = new_filing(unit_a, "unit", "RC_TALENT", {
        "name": "张伟", "id_no": PERSON, "level": "C", "unit_uscc": UNIT_A})
    assert forged.status_code in (403, 404)
    assert _talent_filings() == before


def test_the_designer_may_not_publish_a_talent_item_for_units(app):
    from models.catalogue import problems_of

    for filer in ("unit", "both"):
        problems = problems_of({**BUNDLED, "filer": filer})
        assert any("申报主体只能是：个人" in p for p in problems), filer
    assert problems_of(BUNDLED) == []


def test_a_draft_in_the_designer_is_not_overwritten_and_the_upgrade_says_so(app):
    item = _as_before_15()
    item.draft = {**{k: v for k, v in OLD.items() if k != "format"}, "time_limit_days": 12}
    db.session.flush()
    before, notes = latest_version(item).id, []
    load_catalogue(notes=notes)
    assert latest_version(item).id == before and item.draft["time_limit_days"] == 12
    assert any(n.startswith("RC_TALENT：本局已修改该事项") for n in notes), notes


def test_the_command_reports_the_item_it_brought_up_to_date(app):
    _as_before_15()
    result = app.test_cli_runner().invoke(args=["load-catalogue"])
    assert result.exit_code == 0, result.output
    assert "RC_TALENT：已发布随版本提供的新定义" in result.output
    assert _talent().filer == Filer.PERSON
