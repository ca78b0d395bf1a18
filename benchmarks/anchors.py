"""The anchors the project is measured against, side by side in one process.

``stock_flask_admin(uri)`` is Flask-Admin 2.2.1 as its documentation sets it up, over the
project's own ``person`` and ``unit`` tables (reflected, so it reads the very same rows):
``ModelView`` with ``page_size=20``, a ``unit_id`` filter, contains-search on ``name``,
newest first, csv and xlsx export of up to 100,000 rows, no authentication. It is the
configuration ``../shared/research/performance-anchors.md`` measured.

    from benchmarks.anchors import stock_flask_admin
    client = stock_flask_admin("sqlite:////tmp/wangban-scale.sqlite3").test_client()
    client.get("/admin/person/?search=伟")
"""
from __future__ import annotations

import warnings

import sqlalchemy as sa
from flask import Flask
from flask_admin import Admin
from flask_babel import Babel
from flask_admin.contrib.sqla import ModelView
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker


def _reflected(engine):
    class Base(DeclarativeBase):
        pass

    metadata = sa.MetaData()
    metadata.reflect(engine, only=["unit", "person"])

    class Unit(Base):
        __table__ = metadata.tables["unit"]

        def __str__(self):
            return self.name

    class Person(Base):
        __table__ = metadata.tables["person"]

    return Unit, Person


def stock_flask_admin(uri: str) -> Flask:
    """A stock Flask-Admin app over the project's database at ``uri``."""
    engine = sa.create_engine(uri)
    Unit, Person = _reflected(engine)
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

    @app.teardown_appcontext
    def _remove(_exc=None):
        session.remove()

    return app
