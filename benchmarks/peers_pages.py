"""Pages side by side with stock Flask-Admin, in one process, over the same scale database.

    .venv/bin/flask --app app seed-scale          # a million people and filings (or see below)
    .venv/bin/python -m benchmarks.peers_pages [sqlite-file] [rounds] [only-pages-containing]

Every page goes through the HTTP test client; the two apps' requests are interleaved round by
round and the medians compared (``ours`` / ``stock`` = how many times faster). The stock
app is ``benchmarks.anchors.stock_flask_admin`` over the very same tables. Search rows also
give both sides' hit counts (same hits expected for name terms: ours is a contains-search
too, served by an index). The last rows are pages that grow with the number of filings
(no stock counterpart): the filings count is printed with them.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from benchmarks.anchors import stock_flask_admin
from benchmarks.common import CHEAP_ARGON2, as_served
from benchmarks.scale_bench import DEFAULT, login, scale_member
from models import Application, Person, Unit, db, search
from rules.search import person_search, unit_search

TERMS = ["伟", "伟明", "张伟明", "芳娜秀"]
UNIT_TERMS = ["测试单位0123", "有限"]


def timed(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def medians(pairs: list[tuple], rounds: int) -> list[list[float]]:
    """Interleaved: every round fetches every page once, in order."""
    for client, url in pairs:  # warm
        if client is not None:
            timed(client, url)
    times = [[] for _ in pairs]
    for _ in range(rounds):
        for i, (client, url) in enumerate(pairs):
            if client is not None:
                times[i].append(timed(client, url))
    return [statistics.median(t) * 1000 if t else float("nan") for t in times]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    uri = f"sqlite:///{path}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "bench",
                      "ARGON2_PARAMS": CHEAP_ARGON2, "WTF_CSRF_ENABLED": False})
    uscc, id_no, _name, _ = scale_member(app)
    stock = stock_flask_admin(uri).test_client()
    member = login(app, "unit", id_no, uscc, "Bench#2026")
    staff = login(app, "staff", "admin", "", "Demo@2026")
    as_served()  # both apps, as a gunicorn worker settles its heap
    with app.app_context():
        people = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
        filings = db.session.scalar(sa.select(sa.func.count()).select_from(Application))
        unit_id = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == uscc))
        hits = {}
        for term in TERMS:
            ours = db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(
                search.clause(Person, person_search(term))))
            theirs = db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(
                Person.name.like(f"%{term}%")))
            hits[term] = (ours, theirs)
        for term in UNIT_TERMS:
            ours = db.session.scalar(sa.select(sa.func.count()).select_from(Unit).where(
                search.clause(Unit, unit_search(term))))
            theirs = db.session.scalar(sa.select(sa.func.count()).select_from(Unit).where(
                Unit.name.like(f"%{term}%")))
            hits["unit " + term] = (ours, theirs)
    print(f"{path}: {people:,} people, {filings:,} filings; medians of {rounds} rounds, ms")
    rows = [
        ("person list (staff, 20 rows)", (staff, "/admin/admin_person/"),
         (stock, "/admin/person/")),
        ("unit-scoped list (a unit's people)", (member, "/unit/unit_enrollment/"),
         (stock, f"/admin/enrollment/?flt0_0={unit_id}")),
    ]
    for term in TERMS:
        rows.append((f"contains-search {term}", (staff, f"/admin/admin_person/?search={term}"),
                     (stock, f"/admin/person/?search={term}")))
    for term in UNIT_TERMS:
        rows.append((f"unit search {term}", (staff, f"/admin/admin_unit/?search={term}"),
                     (stock, f"/admin/unit/?search={term}")))
    rows += [
        ("staff dashboard", (staff, "/admin/"), (None, "")),
        ("办件 queue (deadline, id)", (staff, "/admin/admin_application/"), (None, "")),
        ("unit home", (member, "/unit/"), (None, "")),
    ]
    if len(sys.argv) > 3:
        rows = [r for r in rows if sys.argv[3] in r[0]]
    pairs = [p for _, ours, theirs in rows for p in (ours, theirs)]
    results = medians(pairs, rounds)  # no app context around: each request has its own g
    print(f"{'page':36s} {'ours':>8s} {'stock':>8s} {'ratio':>7s}  hits (ours / stock)")
    for i, (label, _, _) in enumerate(rows):
        ours, theirs = results[2 * i], results[2 * i + 1]
        ratio = f"{theirs / ours:6.1f}×" if theirs == theirs else "     -"
        key = label.split(" ", 2)[-1] if "search" in label else None
        key = ("unit " + key) if label.startswith("unit search") else key
        found = "{} / {}".format(*hits[key]) if key in hits else ""
        stock_ms = f"{theirs:8.1f}" if theirs == theirs else "       -"
        print(f"{label:36s} {ours:8.1f} {stock_ms} {ratio:>7s}  {found}")


if __name__ == "__main__":
    main()
