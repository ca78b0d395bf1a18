"""Contains-search on people and units: the index's hits are exactly a plain Python filter's,
on whichever database the suite runs (CI runs it on SQLite and on PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from stdnum.cn import ric

from models import Account, Enrollment, Person, StaffRole, Unit, db, search
from models.bulk import insert_rows
from models.handlers import PERSON_COLUMNS
from models.scope import scope_clause
from rules.codes import AccountKind
from rules.permissions import Actor
from rules.search import matches, person_search, unit_search
from tests.conftest import UNIT_A, UNIT_B, login

#: Names a search must not confuse: spacing characters, LIKE wildcards, Latin letters.
ODD_NAMES = ["伟", "李伟伟", "阿卜杜·买买提", "Li Ming", "百分%之百", "下_划线", "欧阳娜娜",
             "买提", "张 三", "欧阳娜娜丽华明江", "司马欧阳丽华明江伟"]
PERSON_TERMS = ["伟", "张伟", "伟伟", "王丽华", "丽华", "欧阳娜", "·", "杜·买", "杜买", "%",
                "明江", "江伟", "华明江伟",
                "_", "%之", "li", "LI M", "ng", "张 三", "0106", "01", "1", "x", "19900",
                "360426199101010071", "13800000003", "不存在的人", "'", '"', "a\"b"]
UNIT_TERMS = ["示例", "科技", "西湖示例科技", "海运", "杭", "91330106", "MA2", "ma2", "3301",
              "33", "X", "不存在的单位", "%", "有限公司"]


def _add_people():
    for n, name in enumerate(ODD_NAMES):
        body = f"33010619900101{n:03d}"
        db.session.add(Person(id_type="01", id_no=body + ric.calc_check_digit(body + "0"),
                              name=name, gender="M" if n % 2 else "F",
                              birth_date=dt.date(1990, 1, 1)))
    db.session.commit()


def _hits(model, rule, term):
    wanted = rule(term)
    return set(db.session.scalars(sa.select(model.id).where(search.clause(model, wanted))))


def _reference(model, rule, term):
    wanted = rule(term)
    columns = [c.key for c in sa.inspect(model).columns]
    return {row.id for row in db.session.scalars(sa.select(model))
            if matches(wanted, {c: getattr(row, c) for c in columns})}


@pytest.mark.parametrize("term", PERSON_TERMS)
def test_person_search_finds_what_a_python_filter_finds(term):
    _add_people()
    found = _hits(Person, person_search, term)
    assert found == _reference(Person, person_search, term)


def test_the_person_terms_are_not_trivial():
    _add_people()
    sizes = [len(_reference(Person, person_search, t)) for t in PERSON_TERMS]
    assert sum(1 for s in sizes if s == 0) < len(sizes) // 2
    assert len(_reference(Person, person_search, "伟")) >= 3  # 伟 alone, inside, doubled


@pytest.mark.parametrize("term", UNIT_TERMS)
def test_unit_search_finds_what_a_python_filter_finds(term):
    assert _hits(Unit, unit_search, term) == _reference(Unit, unit_search, term)


def test_a_changed_or_removed_name_is_found_by_its_new_name_only():
    _add_people()
    person = db.session.scalar(sa.select(Person).where(Person.name == "欧阳娜娜"))
    person.name = "司马光明"
    db.session.commit()
    assert person.id not in _hits(Person, person_search, "欧阳")
    assert person.id not in _hits(Person, person_search, "欧阳娜")
    assert person.id in _hits(Person, person_search, "马光")
    assert person.id in _hits(Person, person_search, "司马光")
    other = db.session.scalar(sa.select(Person).where(Person.name == "李伟伟"))
    db.session.delete(other)
    db.session.commit()
    assert other.id not in _hits(Person, person_search, "伟伟")
    assert other.id not in _hits(Person, person_search, "李伟伟")


def test_a_clerk_finds_a_person_by_a_given_name(as_staff):
    client = as_staff("clerk")
    html = client.get("/admin/admin_person/", query_string={"search": "伟"}).get_data(
        as_text=True)
    assert "张伟" in html
    html = client.get("/admin/admin_person/", query_string={"search": "丽华"}).get_data(
        as_text=True)
    assert "王丽华" in html and "张伟" not in html


def test_a_clerk_finds_a_unit_by_part_of_its_name(as_staff):
    client = as_staff("clerk")
    html = client.get("/admin/admin_unit/", query_string={"search": "西湖示例"}).get_data(
        as_text=True)
    assert "杭州西湖示例科技有限公司" in html and "舟山定海示例海运有限公司" not in html


def test_a_short_code_is_paged_without_counting_every_row(as_staff):
    client = as_staff("clerk")
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement.lower())

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        response = client.get("/admin/admin_person/", query_string={"search": "01"})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert response.status_code == 200
    assert not [s for s in statements if "count(" in s and "from person" in s]


def test_a_search_an_index_serves_is_counted(as_staff):
    client = as_staff("clerk")
    for term in ("0106", "王丽华", "丽华"):
        statements = []

        def capture(conn, cursor, statement, *args):
            statements.append(statement.lower())

        sa.event.listen(db.engine, "before_cursor_execute", capture)
        try:
            # Past the last page: a short page is its own count (views.paging), this one is not.
            assert client.get("/admin/admin_person/", query_string={"search": term, "page": 5}
                              ).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", capture)
        assert [s for s in statements if "count(" in s and "from person" in s], term


def _regional_clerk(client, unit_uscc):
    region = db.session.scalar(sa.select(Unit.region_code).where(Unit.uscc == unit_uscc))
    account = db.session.scalar(sa.select(Account).where(Account.username == "clerk"))
    for role in db.session.scalars(sa.select(StaffRole).where(
            StaffRole.account_id == account.id)):
        role.region_code = region
    db.session.commit()
    assert login(client, "staff", "clerk").status_code == 302
    return client


def test_search_results_stay_in_the_actors_scope(client):
    unit_b = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_B))
    theirs = db.session.scalar(sa.select(Person).join(Enrollment).where(
        Enrollment.unit_id == unit_b).order_by(Person.id).limit(1))
    region_a = db.session.scalar(sa.select(Unit.region_code).where(Unit.uscc == UNIT_A))
    assert db.session.scalar(sa.select(Unit.region_code).where(Unit.id == unit_b)) != region_a
    row_link = f"id={theirs.id}&"
    assert login(client, "staff", "clerk").status_code == 302
    html = client.get("/admin/admin_person/", query_string={"search": theirs.name}).get_data(
        as_text=True)
    assert row_link in html  # unlimited, the clerk finds them
    _regional_clerk(client, UNIT_A)
    html = client.get("/admin/admin_person/", query_string={"search": theirs.name}).get_data(
        as_text=True)
    assert row_link not in html
    # The same search for a unit: the index's hits, then the unit's scope.
    unit_a = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == UNIT_A))
    actor = Actor(0, AccountKind.UNIT_MEMBER, unit_id=unit_a)
    for term in ("伟", "王丽", theirs.name):
        found = set(db.session.scalars(sa.select(Person.id).where(
            search.clause(Person, person_search(term)), scope_clause(Person, actor))))
        mine = set(db.session.scalars(sa.select(Person.id).where(scope_clause(Person, actor))))
        assert found == _reference(Person, person_search, term) & mine


@pytest.mark.parametrize("term", ["伟", "王", "娜"])
def test_a_common_character_read_in_order_finds_the_same_people(term):
    _add_people()
    assert _hits(Person, person_search, term) == _reference(Person, person_search, term)
    assert search.bounded(Person, person_search(term))


def test_a_search_of_spaces_is_no_error_and_lists_people(as_staff):
    client = as_staff("clerk")
    html = client.get("/admin/admin_person/", query_string={"search": "   "}).get_data(
        as_text=True)
    assert "张伟" in html or "王丽华" in html


def _bigrams(names) -> list[str]:
    """Every two adjacent characters of ``names`` that a search sends to an index."""
    return sorted({n[i:i + 2] for n in names for i in range(len(n) - 1)
                   if n[i:i + 2].isalnum()})


BULK_NAMES = ["鑫淼", "焱垚鑫", "淼淼焱垚", "垚鑫淼焱犇", "犇鑫淼焱垚森林木", "森犇鑫淼焱垚林木木",
              "Ab Cd"]


def _bulk_insert(names, first=900):
    now = dt.datetime(2026, 11, 1)
    rows = []
    for n, name in enumerate(names, first):
        body = f"33010619900101{n:03d}"
        rows.append(("01", body + ric.calc_check_digit(body + "0"), name, None,
                     dt.date(1990, 1, 1), "M", now))
    return [i for (i,) in insert_rows(Person.__table__, PERSON_COLUMNS, rows)]


def _indexed(term):
    """The rows the bigram index itself answers for ``term`` (SQLite), before the check."""
    return set(db.session.scalars(sa.select(sa.column("rowid")).select_from(
        search._fts("person_bigrams", None, term).subquery())))


def test_people_inserted_in_bulk_are_found_by_every_part_of_their_names():
    _bulk_insert(BULK_NAMES)  # models.bulk: what the approval of a batch uses
    db.session.commit()
    names = BULK_NAMES + [n for n in db.session.scalars(sa.select(Person.name))]
    for term in _bigrams(BULK_NAMES) + ["鑫淼焱", "木木", "林木木", "ab", "b c"]:
        assert _hits(Person, person_search, term) == _reference(Person, person_search, term)
    if db.session.get_bind().dialect.name == "sqlite":  # the index matches the table
        for term in _bigrams(names):
            if term.isascii():
                continue  # folded by the tokenizer; the LIKE check above decides
            assert _indexed(term) == _reference(Person, person_search, term), term


def test_a_rolled_back_bulk_insert_leaves_nothing_in_the_index():
    savepoint = db.session.begin_nested()
    ids = _bulk_insert(BULK_NAMES)
    assert ids and _hits(Person, person_search, "淼焱")
    savepoint.rollback()
    assert not _hits(Person, person_search, "淼焱")
    assert not _hits(Person, person_search, "焱垚鑫")
    if db.session.get_bind().dialect.name == "sqlite":
        assert not _indexed("淼焱") and not _indexed("鑫淼")
    _bulk_insert(BULK_NAMES[:1], first=950)  # the same rowids again, indexed once
    db.session.commit()
    found = _hits(Person, person_search, "鑫淼")
    assert len(found) == 1 and found == _reference(Person, person_search, "鑫淼")
