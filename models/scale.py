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

from models.account import Account
from models.base import db, utcnow
from models.enrollment import Enrollment
from models.finance import Contribution, PensionAccount
from models.person import Person
from models.service import Application, ApplicationEvent, ServiceItem, recount_decisions
from models.unit import Unit
from rules.codes import AccountKind, InsuranceKind
from rules.contribution import amounts
from rules.identity import region_in_force
from rules.workflow import IN_PROGRESS, State

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
               say: Callable[[str], None] = print, filings: int = 1_000_000) -> None:
    """Add ``units`` units and ``people`` enrolled people, each with one period's
    contributions and a pension account; every ID number passes ``rules.identity``. Then
    ``filings`` filings with their events (``seed_filings``)."""
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
    if filings:
        seed_filings(filings, say=say)
    refresh_statistics()
    say(f"done in {time.perf_counter() - start:.0f} s")


#: Shares of the seeded filings by state, out of 100: most were decided long ago.
STATE_SHARES = [(State.COMPLETED, 70), (State.REJECTED, 8), (State.APPROVED, 6),
                (State.WITHDRAWN, 2), (State.IN_REVIEW, 5), (State.SUBMITTED, 5),
                (State.DRAFT, 3), (State.AWAITING_UNIT, 1)]
#: Filings a day across the city, and the days the office takes to decide one.
DAILY, OPEN_DAYS = 1000, 20
#: States of filings made in the last OPEN_DAYS days.
RECENT = [State.SUBMITTED] * 3 + [State.IN_REVIEW] * 3 + [State.APPROVED, State.REJECTED] + \
    [State.COMPLETED] * 2


def seed_filings(filings: int, say: Callable[[str], None] = print) -> None:
    """Add ``filings`` filings by the synthetic units about their people, spread over three
    years, with the events the timeline and the dashboard read (submit, decide)."""
    rng = random.Random(18)
    start = time.perf_counter()
    now = utcnow()
    units = db.session.execute(sa.select(sa.func.min(Unit.id), sa.func.max(Unit.id)).where(
        Unit.unit_no.like("S%"))).one()
    people = db.session.execute(sa.select(sa.func.min(Person.id), sa.func.max(Person.id))).one()
    items = db.session.scalars(sa.select(ServiceItem.id)).all()
    reviewers = db.session.scalars(sa.select(Account.id).where(
        Account.kind == AccountKind.STAFF)).all()
    if units[0] is None or not items or not reviewers:
        raise ValueError("seed_filings needs synthetic units, service items and staff")
    first = (db.session.scalar(sa.select(sa.func.max(Application.id))) or 0) + 1
    states = [s for s, share in STATE_SHARES for _ in range(share)]
    recent, span = RECENT, max(OPEN_DAYS * 2, filings // DAILY) * 86400
    # Filings already there keep the latest days: these go before them, a longer history.
    before = (db.session.scalar(sa.select(sa.func.count()).select_from(Application))
              // DAILY) * 86400
    events: list[dict] = []

    def filing_rows():
        for n in range(filings):
            state = rng.choice(states)
            filed = state not in (State.DRAFT, State.AWAITING_UNIT)
            # A steady DAILY filings a day: more filings means a longer history, not a
            # busier month. The office decides within OPEN_DAYS; older ones are decided.
            at = now - dt.timedelta(seconds=before + rng.randrange(span))
            if at > now - dt.timedelta(days=OPEN_DAYS):
                state = rng.choice(recent)
            elif state in IN_PROGRESS:
                state = State.COMPLETED
            decided = state in (State.COMPLETED, State.REJECTED, State.APPROVED)
            app_id, reviewer = first + n, rng.choice(reviewers)
            if filed:
                events.append({"application_id": app_id, "revision": 1, "action": "submit",
                               "from_state": "draft", "to_state": "submitted",
                               "actor_id": None, "comment": "", "at": at, "payload": None})
            if decided:
                events.append({"application_id": app_id, "revision": 1,
                               "action": "reject" if state == State.REJECTED else "approve",
                               "from_state": "in_review", "to_state": state.value,
                               "actor_id": reviewer, "comment": "",
                               "at": at + dt.timedelta(days=3), "payload": None})
            yield {"id": app_id, "item_id": rng.choice(items),
                   "unit_id": rng.randint(*units), "institution_id": None,
                   "subject_person_id": rng.randint(*people), "filed_by_id": None,
                   "state": state.value, "payload": {}, "revision": 1, "step": 0,
                   "submitted_at": at if filed else None,
                   "deadline": (at + dt.timedelta(days=20)).date() if filed else None,
                   "deadline_estimated": False,
                   "decided_at": at + dt.timedelta(days=3) if decided else None,
                   "decided_by_id": reviewer if decided else None, "client_token": None,
                   "rating": None, "rating_comment": "", "rated_at": None, "courier": "",
                   "tracking_no": "", "updated_at": at, "version": 1, "created_at": at}

    count = 0
    for batch in _batches(filing_rows()):
        db.session.execute(sa.insert(Application.__table__), batch)
        db.session.execute(sa.insert(ApplicationEvent.__table__), events)
        count += len(batch)
        events.clear()
    recount_decisions()  # the events went in bulk, past the ORM's tally
    db.session.commit()
    say(f"filings: {count:,} with their events in {time.perf_counter() - start:.0f} s")


def refresh_statistics() -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL: ANALYZE; SQLite: ANALYZE
    then ``PRAGMA optimize`` keeps them current from then on)."""
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
