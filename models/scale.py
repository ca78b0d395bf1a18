"""A city's scale of synthetic data (a million people, a hundred thousand units) for
benchmarks: valid ID numbers and credit codes, written in bulk."""
from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import sqlalchemy as sa
from stdnum.cn import ric, uscc

from models.base import db, utcnow
from models.enrollment import Enrollment
from models.finance import Contribution, PensionAccount
from models.person import Person
from models.unit import Unit
from rules.codes import InsuranceKind
from rules.contribution import amounts
from rules.identity import region_in_force

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬斌宇浩凯"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
REGION_CANDIDATES = ["330102", "330105", "330106", "330108", "330109", "330902", "330903",
                     "330203", "330302", "320102", "320106", "360102", "360426", "340104",
                     "410105", "430102", "510104", "370102", "110101", "310101"]
BATCH = 20_000


def _regions() -> list[str]:
    """Region codes valid for every birth year generated (1965-2003)."""
    return [r for r in REGION_CANDIDATES if all(region_in_force(r, y)
                                                for y in (1965, 1980, 2003))]


def _batches(rows: Iterator[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(table, rows: Iterator[dict]) -> int:
    count = 0
    for batch in _batches(rows):
        db.session.execute(sa.insert(table), batch)
        count += len(batch)
    db.session.commit()
    return count


def seed_scale(people: int = 1_000_000, units: int = 100_000, period: str = "202610",
               say: Callable[[str], None] = print) -> None:
    """Add ``units`` units and ``people`` enrolled people, each with one period's
    contributions and a pension account; every ID number passes ``rules.identity``."""
    rng = random.Random(2026)
    regions = _regions()
    now = utcnow()
    first_unit = (db.session.scalar(sa.select(sa.func.max(Unit.id))) or 0) + 1
    first_person = (db.session.scalar(sa.select(sa.func.max(Person.id))) or 0) + 1
    start = time.perf_counter()

    def unit_rows():
        for n in range(units):
            region = regions[n % len(regions)]
            body = "91" + region + "".join(rng.choice(USCC_CHARS) for _ in range(9))
            yield {"id": first_unit + n, "uscc": body + uscc.calc_check_digit(body),
                   "unit_no": f"S{region}{n:07d}", "name": f"规模测试单位{n:06d}有限公司",
                   "unit_type": "enterprise", "region_code": region, "address": "",
                   "status": "normal", "online_status": "active", "created_at": now}
    _insert(Unit, unit_rows())
    say(f"units: {units:,} in {time.perf_counter() - start:.0f} s")

    base_day = dt.date(1965, 1, 1)
    wages = [Decimal(w) for w in range(3000, 30000, 250)]

    def person_rows():
        for n in range(people):
            birth = base_day + dt.timedelta(days=(n // 1000) % 13_800)
            body = f"{regions[n % len(regions)]}{birth:%Y%m%d}{n % 1000:03d}"
            id_no = body + ric.calc_check_digit(body + "0")
            yield {"id": first_person + n, "id_type": "01", "id_no": id_no,
                   "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                   "gender": "M" if int(id_no[16]) % 2 else "F", "birth_date": birth,
                   "phone": f"1{5 + n // 100_000_000}{n:09d}"[:11], "created_at": now}
    _insert(Person, person_rows())
    say(f"people: {people:,} in {time.perf_counter() - start:.0f} s")

    def enrollment_rows():
        for n in range(people):
            yield {"person_id": first_person + n, "unit_id": first_unit + n % units,
                   "insurance_kinds": "110,210,310,410,510", "start_date": dt.date(2020, 1, 1),
                   "wage": wages[n % len(wages)], "status": "active", "created_at": now}
    _insert(Enrollment, enrollment_rows())
    say(f"enrollments: {people:,} in {time.perf_counter() - start:.0f} s")

    rates = {(w, k): amounts(w, k) for w in wages for k in InsuranceKind}

    def contribution_rows():
        for n in range(people):
            wage = wages[n % len(wages)]
            for kind in InsuranceKind:
                base, unit_part, personal = rates[(wage, kind)]
                yield {"unit_id": first_unit + n % units, "person_id": first_person + n,
                       "period": period, "kind": kind.value, "base": base,
                       "unit_amount": unit_part, "personal_amount": personal,
                       "status": "paid", "paid_on": dt.date(2026, 10, 15)}
    _insert(Contribution, contribution_rows())
    say(f"contributions: {people * 5:,} in {time.perf_counter() - start:.0f} s")

    def pension_rows():
        for n in range(people):
            wage = wages[n % len(wages)]
            base, _, personal = rates[(wage, InsuranceKind.PENSION)]
            yield {"person_id": first_person + n, "year": 2026, "months_paid": 10,
                   "base_total": base * 10, "personal_paid": personal * 10,
                   "interest": Decimal("0"), "balance": personal * 10}
    _insert(PensionAccount, pension_rows())
    say(f"pension accounts: {people:,} in {time.perf_counter() - start:.0f} s")
    db.session.execute(sa.text("ANALYZE"))  # fresh statistics for the query planner
    db.session.commit()
    say(f"done in {time.perf_counter() - start:.0f} s")
