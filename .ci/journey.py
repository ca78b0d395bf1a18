"""A short journey through a running server over HTTP: health, login, lists, a filing with a
material uploaded and downloaded, an export, a Chinese error page, metrics summed over the
workers. Exits 1 at the first failure.

    .venv/bin/python .ci/journey.py http://127.0.0.1:PORT [server.log]
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import time
from pathlib import Path

import httpx

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "Demo@2026"
UNIT_A, REP_A = "91330106MA2ABCDE1G", "330106198507210020"
NEW_PERSON = "110101199003070011"  # the import template's example: valid, not in the demo
checks = 0


def check(condition, what: str) -> None:
    global checks
    if not condition:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1
    print(f"ok   {what}")


def token(client: httpx.Client, url: str) -> str:
    match = CSRF.search(client.get(url).text)
    check(match, f"a CSRF token on {url}")
    return match.group(1)


def login(client: httpx.Client, kind: str, name: str, unit_code: str = "") -> httpx.Response:
    return client.post("/login", data={"csrf_token": token(client, "/login"), "kind": kind,
                                       "unit_code": unit_code, "login": name,
                                       "password": PASSWORD})


def wait_until_up(base: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/healthz", timeout=5)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    check(False, f"{base}/healthz answers 200 within 60 s")


def attachment_journey(unit: httpx.Client, filing: str, s3: bool) -> None:
    """A material uploaded to the draft, listed on its page, downloaded byte for byte; with
    STORAGE_URL on S3, the object is in the bucket (and so is the demo's signed form)."""
    scan = b"%PDF-1.4\n" + b"journey material " * 40_000  # ~680 KB: many chunks
    response = unit.post(f"{filing}upload/", data={
        "csrf_token": token(unit, filing), "material": "contract"},
        files={"file": ("劳动合同.pdf", scan, "application/pdf")})
    check(response.status_code == 302, "a material is uploaded to the draft")
    page = unit.get(filing).text
    match = re.search(r'href="(/unit/filing/attachment/\d+/)"', page)
    check(match and "劳动合同.pdf" in page, "the filing's page lists the material")
    download = unit.get(match.group(1))
    check(download.status_code == 200 and download.content == scan,
          f"the material downloads byte for byte ({len(download.content)} bytes)")
    if s3:
        import boto3

        bucket, _, prefix = os.environ["STORAGE_URL"][len("s3://"):].partition("/")
        client = boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None)
        digest = hashlib.sha256(scan).hexdigest()
        stored = client.head_object(Bucket=bucket,
                                    Key=f"{prefix}/materials/{digest[:2]}/{digest}")
        check(stored["ContentLength"] == len(scan), "the material is an object in the bucket")
        listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/materials/")
        check(listed["KeyCount"] >= 2, "the demo's materials are in the bucket too")


def main(base: str, log_path: str | None) -> None:
    health = wait_until_up(base)
    check(health["checks"]["database"].get("dialect") == "postgresql", "healthz: PostgreSQL")
    check(health["checks"]["redis"]["ok"] and "skipped" not in health["checks"]["redis"],
          "healthz: Redis checked and up")
    check(health["checks"]["storage"]["ok"], "healthz: upload storage writable")
    s3 = os.environ.get("STORAGE_URL", "").startswith("s3://")
    if s3:
        check(health["checks"]["storage"].get("backend") == "s3", "healthz: the object store")

    unit = httpx.Client(base_url=base, timeout=30)
    response = login(unit, "unit", REP_A, UNIT_A)
    check(response.status_code == 302 and response.headers["location"].endswith("/unit/"),
          "unit legal representative logs in")
    check(unit.get("/unit/").status_code == 200, "unit home")
    enrollments = unit.get("/unit/unit_enrollment/")
    check(enrollments.status_code == 200 and "details/?id=" in enrollments.text,
          "unit list of enrolled employees has rows")
    check(unit.get("/unit/unit_application/").status_code == 200, "unit list of filings")

    form = {"csrf_token": token(unit, "/unit/filing/new/SB_ENROLL/"), "intent": "draft",
            "id_no": NEW_PERSON, "name": "冒烟测试", "phone": "13912345678",
            "start_date": "2026-11-01", "wage": "8000", "insurance_kinds": "110,210,310,410,510"}
    response = unit.post("/unit/filing/new/SB_ENROLL/", data=form)
    location = response.headers.get("location", "")
    check(response.status_code == 302 and re.search(r"/unit/filing/\d+/$", location),
          "a draft enrollment filing is saved")
    filing = unit.get(location)
    check(filing.status_code == 200 and "冒烟测试" in filing.text, "the filing's page shows it")
    attachment_journey(unit, location, s3)

    export = unit.get("/unit/unit_enrollment/export/csv/")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    check(export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
          and len(rows) > 10, f"csv export streams ({len(rows) - 1} rows)")

    staff = httpx.Client(base_url=base, timeout=30)
    check(login(staff, "staff", "admin").status_code == 302, "staff admin logs in")
    check(staff.get("/admin/").status_code == 200, "staff dashboard")
    check(staff.get("/admin/admin_application/").status_code == 200, "staff review queue")

    missing = unit.get("/unit/no-such-page/")
    check(missing.status_code == 404 and "页面不存在" in missing.text
          and missing.headers["x-request-id"] in missing.text,
          "a missing page answers the Chinese 404 with its request id")

    text = ""
    for _ in range(10):  # either worker may answer; both report every worker's counts
        text = httpx.get(f"{base}/metrics").text
        match = re.search(r'wangban_logins_total\{outcome="success"\} (\S+)', text)
        if match and float(match.group(1)) >= 2:
            break
        time.sleep(0.2)
    check(match and float(match.group(1)) >= 2, "metrics count both logins over the workers")
    check('wangban_export_rows_total{format="csv"}' in text, "metrics count exported rows")

    if log_path:
        text = Path(log_path).read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        requests = [entry for entry in lines if entry.get("endpoint")]
        workers = text.count("Booting worker with pid")
        check(workers == 2, f"gunicorn booted {workers} workers")
        check(len(requests) >= 10, f"the server logged {len(requests)} request lines as JSON")
        check(not [e for e in lines if e.get("level") == "ERROR"], "the server logged no error")
    print(f"journey through {base}: {checks} checks passed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
