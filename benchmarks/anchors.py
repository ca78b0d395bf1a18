"""The anchors the project is measured against, side by side in one process.

``stock_flask_admin(uri)`` is Flask-Admin 2.2.1 as its documentation sets it up, over the
project's own ``person``, ``unit`` and ``enrollment`` tables (reflected, so it reads the very
same rows), no authentication, no menu beyond its three views. Each anchor, exactly:

- ``/admin/person/``: ``ModelView`` over ``person``, ``page_size=20``, columns id, id_no, name,
  gender, birth_date, phone, created_at, newest first (``ORDER BY id DESC``), a stock filter on
  ``id``, contains-search on ``name`` (``LIKE '%term%'``), csv and xlsx export of up to 100,000
  rows. Its list counts every row it filters (``count(*)``) for its numbered pager. It is the
  configuration ``../shared/research/performance-anchors.md`` measured, and the anchor for the
  staff person list, the contains-search and the exports.
- ``/admin/enrollment/?flt0_0=<unit id>``: the anchor for the unit console's 参保职工 list
  (``/unit/unit_enrollment/``), the same question: ``ModelView`` over ``enrollment``,
  ``page_size=20``, the columns the unit console shows (person.name, person.id_no,
  insurance_kinds, start_date, wage, status), newest first, and stock's "equals" filter on
  ``unit_id`` (``flt0_0``), so the unit's enrolments (about 10) are chosen in SQL by the unit:
  one ``count(*) … WHERE unit_id = ?`` and one page query joining ``person`` (Flask-Admin's
  ``column_auto_select_related`` joinedload of the many-to-one relations).
- ``/admin/unit/``: ``ModelView`` over ``unit``, contains-search on ``name``, newest first.

    from benchmarks.anchors import stock_flask_admin
    client = stock_flask_admin("sqlite:////tmp/wangban-scale.sqlite3").test_client()
    client.get("/admin/person/?search=伟")
    client.get(f"/admin/enrollment/?flt0_0={unit_id}")
"""
from __future__ import annotations

import warnings

import sqlalchemy as sa
from flask import Flask
from flask_admin import Admin
from flask_babel import Babel
from flask_admin.contrib.sqla import ModelView
from sqlalchemy.orm import DeclarativeBase, relationship, scoped_session, sessionmaker


def _reflected(engine):
    class Base(DeclarativeBase):
        pass

    metadata = sa.MetaData()
    metadata.reflect(engine, only=["unit", "person", "enrollment"])

    class Unit(Base):
        __table__ = metadata.tables["unit"]

        def __str__(self):
            return self.name

    class Person(Base):
        __table__ = metadata.tables["person"]

        def __str__(self):
            return self.name

    class Enrollment(Base):
        __table__ = metadata.tables["enrollment"]
        person = relationship(Person)
        unit = relationship(Unit)

    return Unit, Person, Enrollment


def stock_flask_admin(uri: str) -> Flask:
    """A stock Flask-Admin app over the project's database at ``uri``."""
    engine = sa.create_engine(uri)
    Unit, Person, Enrollment = _reflected(engine)
    session = scoped_session(sessionmaker(bind=engine))

    class PersonView(ModelView):
        page_size = 20
        column_list = ["id", "id_no", "name", "gender", "birth_date", "phone", "created_at"]
        column_filters = ["id"]
        column_searchable_list = ["name"]
        column_default_sort = ("id", True)
        can_export = True
        export_types = ["csv", "xlsx"]
        export_max_rows = 100_000

    class UnitView(ModelView):
        page_size = 20
        column_searchable_list = ["name"]
        column_default_sort = ("id", True)

    class EnrollmentView(ModelView):
        page_size = 20
        column_list = ["person.name", "person.id_no", "insurance_kinds", "start_date", "wage",
                       "status"]
        column_filters = ["unit_id"]  # flt0_0: unit_id equals
        column_default_sort = ("id", True)

    # No template folder: Flask would take the project's templates/ (the working directory)
    # and render the project's own admin/model/list.html instead of Flask-Admin's.
    app = Flask("stock_flask_admin", template_folder=None)
    app.config["SECRET_KEY"] = "anchor"
    Babel(app)  # Flask-Admin needs it once Flask-Babel is installed
    admin = Admin(app, name="anchor")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        admin.add_view(PersonView(Person, session, endpoint="person"))
        admin.add_view(UnitView(Unit, session, endpoint="unit"))
        admin.add_view(EnrollmentView(Enrollment, session, endpoint="enrollment"))

    app.extensions["anchor_engine"] = engine  # for a caller that disposes of it

    @app.teardown_appcontext
    def _remove(_exc=None):
        session.remove()

    return app
