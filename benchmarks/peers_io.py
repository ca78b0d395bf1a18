"""Exports, imports and ID validation side by side with the peers, in one process.

    .venv/bin/python -m benchmarks.peers_io [--runs N] [--db PATH]

* **Export** of 100,000 people as csv and xlsx: our staff console (/admin/admin_person/,
  masking, scope, labels) against stock Flask-Admin 2.2.1 over the same table
  (benchmarks.anchors), and our unit console's 参保职工 (a join, 险种 labels).
* **Import** of a 10,000-row 人员批量新参保 workbook: our upload + 保存 + approval through the
  HTTP client against django-import-export 4.4.3 tuned (use_bulk, force_init_instance,
  skip_diff), configured in-process on a SQLite file, reading the same workbook with the
  same row checks (rules.identity, rules.fields).
* **ID validation**: rules.identity against python-stdnum's ``cn.ric.validate``.

Each figure is the median of N runs (interleaved: ours, then the peer, each round), with
the peak RSS the step added (VmHWM reset before each step). Needs benchmarks/requirements.txt.
"""
from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.anchors import stock_flask_admin
from benchmarks.common import CHEAP_ARGON2, batch_id, id_numbers, logged_in
from benchmarks.export_bench import build, peak_mib, reset_peak

ROWS_EXPORT = 100_000
ROWS_IMPORT = 10_000


def measured(step) -> tuple[float, float]:
    """(seconds, MiB of peak RSS the step added) of ``step()``."""
    reset_peak()
    before = peak_mib()
    start = time.perf_counter()
    step()
    return time.perf_counter() - start, peak_mib() - before


def body(client, url) -> int:
    """Read a (streamed) response chunk by chunk, as a WSGI server would."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return sum(len(chunk) for chunk in response.response)


def table(title: str, results: dict[str, list[tuple[float, float]]], pairs, unit="s"):
    print(f"\n{title}")
    medians = {k: (statistics.median(t for t, _ in v), max(m for _, m in v))
               for k, v in results.items()}
    for name, (seconds, mib) in medians.items():
        shown = f"{seconds:8.2f} s" if unit == "s" else f"{seconds:8.2f} µs"
        print(f"  {name:52s} {shown}   peak +{mib:6.1f} MiB")
    for ours, theirs in pairs:
        print(f"  → {ours} is {medians[theirs][0] / medians[ours][0]:.1f}× faster than "
              f"{theirs}")
    return medians


# --- export ------------------------------------------------------------------------------------

def exports(path: Path, runs: int) -> None:
    from app import create_app

    # EXPORT_JOB_ROWS 0: every export streams in the request, as Flask-Admin's does (by
    # default one of more than 20,000 rows is a background job running the same code).
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "ARGON2_PARAMS": CHEAP_ARGON2, "WTF_CSRF_ENABLED": False,
                      "EXPORT_JOB_ROWS": 0})
    staff = logged_in(app, "staff", "admin", "")
    unit = logged_in(app, "unit")
    anchor = stock_flask_admin(f"sqlite:///{path}").test_client()
    steps = {
        "ours: staff 人员 csv (masked, labelled)": (staff, "/admin/admin_person/export/csv/"),
        "stock Flask-Admin: person csv": (anchor, "/admin/person/export/csv/"),
        "ours: unit 参保职工 csv (join, 险种 labels)": (unit, "/unit/unit_enrollment/export/csv/"),
        "ours: staff 人员 xlsx": (staff, "/admin/admin_person/export/xlsx/"),
        "stock Flask-Admin: person xlsx": (anchor, "/admin/person/export/xlsx/"),
        "ours: unit 参保职工 xlsx": (unit, "/unit/unit_enrollment/export/xlsx/"),
    }
    for client, url in steps.values():  # warm up (and check) every path once
        client.get(url.replace("export/csv/", "").replace("export/xlsx/", ""))
    results: dict[str, list] = {name: [] for name in steps}
    for _ in range(runs):
        for name, (client, url) in steps.items():
            results[name].append(measured(lambda c=client, u=url: body(c, u)))
    table(f"Export of {ROWS_EXPORT:,} rows (median of {runs})", results, [
        ("ours: staff 人员 csv (masked, labelled)", "stock Flask-Admin: person csv"),
        ("ours: staff 人员 xlsx", "stock Flask-Admin: person xlsx")])


# --- import ------------------------------------------------------------------------------------

def django_importer(path: Path):
    """A django-import-export resource over an ``employee`` table in a SQLite file, tuned
    as its documentation advises for speed, checking rows with our own rules."""
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "import_export"],
        USE_TZ=False, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField")
    django.setup()
    from django.db import connection, models
    from import_export import fields, resources, widgets

    from rules.fields import validate_wage
    from rules.identity import validate_mobile, validate_resident_id

    class Employee(models.Model):
        id_no = models.CharField(max_length=18, unique=True)
        name = models.CharField(max_length=50)
        phone = models.CharField(max_length=11, null=True)
        start_date = models.DateField()
        wage = models.DecimalField(max_digits=12, decimal_places=2)
        insurance_kinds = models.CharField(max_length=40)

        class Meta:
            app_label = "peers"

    with connection.schema_editor() as editor:
        editor.create_model(Employee)

    class EmployeeResource(resources.ModelResource):
        id_no = fields.Field(attribute="id_no", column_name="身份证号码")
        name = fields.Field(attribute="name", column_name="姓名")
        phone = fields.Field(attribute="phone", column_name="手机号码")
        start_date = fields.Field(attribute="start_date", column_name="参保日期",
                                  widget=widgets.DateWidget("%Y-%m-%d"))
        wage = fields.Field(attribute="wage", column_name="月缴费工资",
                            widget=widgets.DecimalWidget())
        insurance_kinds = fields.Field(attribute="insurance_kinds", column_name="参保险种")

        class Meta:
            model = Employee
            fields = ("id_no", "name", "phone", "start_date", "wage", "insurance_kinds")
            import_id_fields = ("id_no",)
            use_bulk, batch_size = True, 1000
            force_init_instance, skip_diff, skip_html_diff = True, True, True

        def before_import_row(self, row, **kwargs):  # the same checks as ours
            row["身份证号码"] = validate_resident_id(str(row["身份证号码"]))
            if row.get("手机号码"):
                row["手机号码"] = validate_mobile(str(row["手机号码"]))
            validate_wage(row["月缴费工资"])

    def run(data: bytes) -> int:
        import tablib

        Employee.objects.all().delete()
        dataset = tablib.Dataset().load(io.BytesIO(data), format="xlsx")
        result = EmployeeResource().import_data(dataset, dry_run=False, raise_errors=True,
                                                use_transactions=True)
        assert not result.has_errors() and not result.has_validation_errors()
        return Employee.objects.count()

    return run


def imports(runs: int) -> None:
    from benchmarks.common import fresh_app
    from benchmarks.import_bench import workbook

    app, path = fresh_app()
    dj = django_importer(path.parent / "django.sqlite3")
    results: dict[str, list] = {"ours: upload + 保存 + approval (HTTP)": [],
                                "django-import-export tuned: import_data": []}
    client = logged_in(app)
    reviewer = logged_in(app, "staff", "reviewer", "")

    def ours(data: bytes) -> None:
        response = client.post("/unit/import/upload/SB_ENROLL_BATCH/", data={
            "file": (io.BytesIO(data), "bench.xlsx")}, content_type="multipart/form-data")
        saved = client.post(f"/unit/import/batch/{batch_id(response.location)}/save/")
        assert saved.status_code == 302, saved.status_code
        application = int(saved.location.rstrip("/").rsplit("/", 1)[1])
        url = f"/admin/admin_application/review/{application}/"
        reviewer.post(url, data={"action": "accept"})
        approved = reviewer.post(url, data={"action": "approve"})
        assert approved.status_code == 302, approved.status_code

    for round_no in range(runs + 1):  # round 0 warms up
        data = workbook(ROWS_IMPORT, 0.0, 100 + round_no)
        t_ours = measured(lambda: ours(data))
        t_dj = measured(lambda: dj(data))
        if round_no:
            results["ours: upload + 保存 + approval (HTTP)"].append(t_ours)
            results["django-import-export tuned: import_data"].append(t_dj)
    with app.app_context():
        from models import Enrollment, db
        enrolled = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment))
    medians = table(f"Import of {ROWS_IMPORT:,} rows (median of {runs}; {enrolled:,} "
                    "enrolments in our database after the runs)", results,
                    [("ours: upload + 保存 + approval (HTTP)",
                      "django-import-export tuned: import_data")])
    for name, (seconds, _) in medians.items():
        print(f"  {name:52s} {ROWS_IMPORT / seconds:8,.0f} rows/s")


# --- ID validation -----------------------------------------------------------------------------

def identities(runs: int) -> None:
    from stdnum.cn import ric

    from rules import identity

    numbers = id_numbers(20_000, seed=7)
    calls = {"ours: rules.identity.validate_resident_id": identity.validate_resident_id,
             "python-stdnum 2.2: cn.ric.validate": ric.validate}
    for validate in calls.values():  # warm: region codes and birth dates seen once
        for number in numbers:
            validate(number)
    results: dict[str, list] = {name: [] for name in calls}
    for _ in range(runs):
        for name, validate in calls.items():
            seconds, mib = measured(lambda v=validate: [v(n) for n in numbers])
            results[name].append((seconds / len(numbers) * 1e6, mib))
    table(f"ID validation, µs per number ({len(numbers):,} numbers, warm caches, "
          f"median of {runs})",
          results, [("ours: rules.identity.validate_resident_id",
                     "python-stdnum 2.2: cn.ric.validate")], unit="µs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="a database built by an earlier run (kept)")
    parser.add_argument("--only", choices=["export", "import", "identity"])
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"peers_io: Python {sys.version.split()[0]}, SQLite, medians of {args.runs} runs "
          "in one process")
    if args.only in (None, "identity"):
        identities(args.runs)
    if args.only in (None, "import"):
        imports(args.runs)
    if args.only in (None, "export"):
        path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "peers-100k.sqlite3"
        if not path.exists():
            start = time.perf_counter()
            build(path, ROWS_EXPORT)
            print(f"\n(built {ROWS_EXPORT:,} extra people and enrolments in "
                  f"{time.perf_counter() - start:.0f} s: {path})")
        exports(path, args.runs)


if __name__ == "__main__":
    main()
