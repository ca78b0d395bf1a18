"""Rendering: the project's list and details pages against stock Flask-Admin, one process.

    .venv/bin/flask --app app seed-scale         # or let scale_bench build the database
    .venv/bin/python -m benchmarks.render_bench [sqlite-file] [--rounds N] [--profile]

Over the same million-person SQLite file, the project's pages (logged in: the staff admin,
a synthetic unit's legal representative) and ``benchmarks.anchors.stock_flask_admin`` are
fetched round-robin through the test client, N rounds after a warm-up, and the medians
printed side by side with their ratio (stock ÷ project: above 1 means the project is faster),
in wall time and in the CPU time of the serving thread (steadier on a shared machine):

- the staff person list, unfiltered (prev/next pager) against stock's list;
- a unit-scoped list (the unit's 参保职工) against stock's enrollment list filtered by the same
  unit id in SQL with its stock "equals" filter (the same question, the same rows);
- a person's details page against stock's (``can_view_details`` switched on for it).

``--profile`` adds cProfile's top entries (own time) for the staff person list and stock's.
"""
from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from benchmarks.anchors import stock_flask_admin
from benchmarks.common import CHEAP_ARGON2, as_served
from benchmarks.scale_bench import DEFAULT, build, login, scale_member
from models import Enrollment, Person, Unit, db


def _stock_view(app, endpoint):
    admin = app.extensions["admin"][0]
    return next(v for v in admin._views if v.endpoint == endpoint)


def _get(client, url) -> tuple[float, float]:
    """(wall, CPU) seconds of one request; the CPU time (this thread's) is what the page
    costs, the wall time adds waiting for a core on a shared machine."""
    start, cpu = time.perf_counter(), time.thread_time()
    response = client.get(url)
    elapsed = time.perf_counter() - start, time.thread_time() - cpu
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def _profile(client, url, repeat: int = 20, top: int = 12) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    total = next(line for line in lines if "function calls" in line)
    return "\n".join([f"  {total.strip()} ({repeat} requests)"] +
                     ["  " + line for line in lines[start:]])


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 30
    if "--rounds" in sys.argv:
        args.remove(str(rounds))
    path = Path(args[0]) if args else DEFAULT
    if not path.exists():
        build(path)
    uri = f"sqlite:///{path}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "bench",
                      "ARGON2_PARAMS": CHEAP_ARGON2, "WTF_CSRF_ENABLED": False})
    uscc, id_no, _, _ = scale_member(app)
    with app.app_context():
        person = db.session.scalar(sa.select(Person).where(Person.id_no == id_no))
        unit_id = db.session.scalar(sa.select(Unit.id).where(Unit.uscc == uscc))
        members = db.session.scalars(sa.select(Enrollment.person_id).where(
            Enrollment.unit_id == unit_id).order_by(Enrollment.person_id)).all()
        people = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
    unit = login(app, "unit", id_no, uscc, "Bench#2026")
    staff = login(app, "staff", "admin", "", "Demo@2026")

    stock_app = stock_flask_admin(uri)
    person_view = _stock_view(stock_app, "person")
    person_view.can_view_details = True
    with stock_app.app_context():
        person_view._refresh_cache()  # builds the details columns
    stock = stock_app.test_client()
    as_served()  # both apps, as a gunicorn worker settles its heap

    pages = [
        ("staff person list, 1M people",
         (staff, "/admin/admin_person/"), (stock, "/admin/person/")),
        (f"unit-scoped list ({len(members)} people)",
         (unit, "/unit/unit_enrollment/"), (stock, f"/admin/enrollment/?flt0_0={unit_id}")),
        ("person details page",
         (staff, f"/admin/admin_person/details/?id={person.id}"),
         (stock, f"/admin/person/details/?id={person.id}")),
    ]
    times = {(label, side): [] for label, *_ in pages for side in (0, 1)}
    for label, *sides in pages:  # warm-up
        for side, (client, url) in enumerate(sides):
            _get(client, url)
    for _ in range(rounds):
        for label, *sides in pages:
            for side, (client, url) in enumerate(sides):
                times[(label, side)].append(_get(client, url))

    print(f"{people:,} people; medians of {rounds} rounds, round-robin, one process")
    print(f"{'':36s} {'---------- wall ms ----------':>30s} {'---------- CPU ms -----------':>30s}")
    print(f"{'page':36s}" + f" {'project':>9s} {'stock':>9s} {'ratio':>9s}" * 2)
    for label, *_ in pages:
        cells = []
        for kind in (0, 1):  # wall, CPU
            ours = statistics.median(t[kind] for t in times[(label, 0)]) * 1000
            theirs = statistics.median(t[kind] for t in times[(label, 1)]) * 1000
            cells.append(f" {ours:9.1f} {theirs:9.1f} {theirs / ours:8.1f}×")
        print(f"{label:36s}" + "".join(cells))

    if "--profile" in sys.argv:
        for title, (client, url) in (("project: staff person list", pages[0][1]),
                                     ("stock Flask-Admin: person list", pages[0][2])):
            print(f"\ncProfile, {title} {url}, top entries by own time")
            print(_profile(client, url))


if __name__ == "__main__":
    main()
