"""Deterministic demo data: two units, their members and employees, filings in every state."""
from __future__ import annotations

import datetime as dt
import io
import random
from decimal import Decimal

import sqlalchemy as sa
from stdnum.cn import ric

from models import (
    Account,
    Application,
    ApplicationEvent,
    BenefitPayment,
    Contribution,
    Enrollment,
    Grant,
    Institution,
    PensionAccount,
    Person,
    ServiceItem,
    StaffRole,
    TalentRecognition,
    Unit,
    clock,
    db,
    hash_password,
)
from models.attachments import store_attachment
from models.calendar import deadline_after
from models.catalogue import load_catalogue, stamp_versions
from models.claims import claim_people
from rules.codes import (
    AccountKind,
    BenefitKind,
    EnrollmentStatus,
    GrantLevel,
    InstitutionLevel,
    InstitutionType,
    InsuranceKind,
    PaymentStatus,
    StaffRoleName,
    TalentLevel,
    UnitType,
)
from rules.contribution import amounts
from rules.eligibility import TALENT_FILING_AFTER_MONTHS, add_months
from rules.workflow import TRANSITIONS, Action, State

DEMO_PASSWORD = "Demo@2026"
ALL_KINDS = ",".join(k.value for k in InsuranceKind)
#: Real county codes (杭州、舟山、宁波、温州、南京、南昌、德安 …) for generated ID numbers.
REGIONS = ["330102", "330105", "330106", "330108", "330109", "330110", "330902", "330903",
           "330203", "330212", "330302", "320102", "320106", "360102", "360426", "340104",
           "410105", "430102", "510104", "370102"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯"

STAFF = [("admin", "系统管理员", StaffRoleName.SYSTEM_ADMIN),
         ("clerk", "窗口受理员", StaffRoleName.COUNTER_CLERK),
         ("reviewer", "业务审核员", StaffRoleName.REVIEWER),
         ("auditor", "审计员", StaffRoleName.AUDITOR)]

UNITS = [
    dict(uscc="91330106MA2ABCDE1G", unit_no="3301060001", name="杭州西湖示例科技有限公司",
         region_code="330106", address="杭州市西湖区文三路100号",
         rep=("王丽华", "330106198507210020", "13800000001"),
         institution="杭州西湖示例职业技能培训学校"),
    dict(uscc="91330902MA2XYW0Q7T", unit_no="3309020001", name="舟山定海示例海运有限公司",
         region_code="330902", address="舟山市定海区海港路8号",
         rep=("李海明", "330902199002270055", "13800000002"),
         institution="舟山定海示例船员培训中心"),
]
INDIVIDUAL = ("张伟", "360426199101010071", "13800000003")

#: The service items come from the catalogue files (catalogue/*.json), as in every database.


#: City codes that existed before 1983 (the county codes above are valid only from then):
#: the birthplaces of the retirees, born 1955-1964.
OLD_REGIONS = ["330100", "330200", "330300", "320100", "360100"]


def make_id_no(rng: random.Random, used: set[str], born_from: dt.date = dt.date(1965, 1, 1),
               born_days: int = 38 * 365, regions: list[str] = REGIONS) -> str:
    """A valid resident ID number with a real region code, unique within ``used``, born in
    ``born_days`` days from ``born_from`` (the defaults keep the demo's numbers)."""
    while True:
        region = rng.choice(regions)
        birth = born_from + dt.timedelta(days=rng.randrange(0, born_days))
        body = f"{region}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
        number = body + ric.calc_check_digit(body + "0")  # stdnum skips the last character
        # stdnum's stricter birth-year rule keeps the README's demo accounts the same numbers
        # whatever the office's own (more lenient) region rule becomes.
        if not ric.is_valid(number):
            continue
        if number not in used:
            used.add(number)
            return number


def is_empty() -> bool:
    """True if no unit has been stored yet."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 0


def _periods(last: str, n: int) -> list[str]:
    year, month = int(last[:4]), int(last[4:])
    out = []
    for _ in range(n):
        out.append(f"{year:04d}{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(out)


class _Loader:
    def __init__(self) -> None:
        self.rng = random.Random(2026)
        self.used_ids = {u["rep"][1] for u in UNITS} | {INDIVIDUAL[1]}
        self.phone_seq = 13900000000
        self.password_hash = hash_password(DEMO_PASSWORD)  # one hash: demo accounts share it

    def person(self, name, id_no, phone=None) -> Person:
        person = Person(id_no=id_no, name=name, phone=phone)
        db.session.add(person)
        return person

    def random_person(self) -> Person:
        self.phone_seq += 1
        name = self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
        id_no = make_id_no(self.rng, self.used_ids)
        return self.person(name, id_no, str(self.phone_seq))

    def account(self, kind, person=None, unit=None, institution=None, username=None,
                display_name="") -> Account:
        account = Account(
            kind=kind, username=username, person=person, unit=unit, institution=institution,
            display_name=display_name or (person.name if person else username),
            login_key=Account.key_for(kind, username=username,
                                      person_id=person.id if person else None,
                                      unit_id=unit.id if unit else None,
                                      institution_id=institution.id if institution else None),
            password_hash=self.password_hash, must_change_password=False)
        db.session.add(account)
        return account

    def load(self) -> str:
        for username, display, role in STAFF:
            account = self.account(AccountKind.STAFF, username=username, display_name=display)
            account.roles.append(StaffRole(role=role))
        load_catalogue()
        items = {i.code: i for i in db.session.scalars(sa.select(ServiceItem))}
        zhang = self.person(*INDIVIDUAL)
        db.session.flush()
        self.account(AccountKind.INDIVIDUAL, person=zhang)

        today = dt.date(2026, 11, 2)
        periods = _periods("202610", 12)
        units = []
        for index, spec in enumerate(UNITS):
            unit = Unit(uscc=spec["uscc"], unit_no=spec["unit_no"], name=spec["name"],
                        unit_type=UnitType.ENTERPRISE, region_code=spec["region_code"],
                        address=spec["address"])
            db.session.add(unit)
            rep = self.person(*spec["rep"])
            admin, agent1, agent2, expired = (self.random_person() for _ in range(4))
            db.session.flush()
            grants = [
                (rep, GrantLevel.LEGAL_REP, None, ""),
                (admin, GrantLevel.ADMIN, dt.date(2030, 12, 31), ""),
                (agent1, GrantLevel.AGENT, dt.date(2029, 12, 31), "SB_ENROLL,SB_SUSPEND"),
                (agent2, GrantLevel.AGENT, dt.date(2029, 12, 31), "RC_TALENT,JY_RECORD"),
                (expired, GrantLevel.AGENT, dt.date(2024, 12, 31), "SB_ENROLL"),
            ]
            for person, level, valid_to, codes in grants:
                db.session.add(Grant(unit=unit, person=person, level=level,
                                     valid_from=dt.date(2024, 1, 1), valid_to=valid_to,
                                     item_codes=codes))
                self.account(AccountKind.UNIT_MEMBER, person=person, unit=unit)
            employees = [self.random_person() for _ in range(self.rng.randint(30, 60))]
            if index == 0:
                employees.append(zhang)
            db.session.flush()
            for person in employees:
                wage = Decimal(self.rng.randrange(3000, 30000, 100))
                start = dt.date(2018, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 2000))
                enrollment = Enrollment(person=person, unit=unit, insurance_kinds=ALL_KINDS,
                                        start_date=start, wage=wage)
                db.session.add(enrollment)
                self.money(unit, person, wage, periods)
            units.append((unit, employees, admin))
            inst = Institution(unit=unit, institution_no=f"JG{spec['unit_no']}",
                               name=spec["institution"], institution_type=InstitutionType.TRAINING,
                               level=InstitutionLevel.CITY, admin_person=admin)
            db.session.add(inst)
            db.session.flush()
            self.account(AccountKind.INSTITUTION, person=admin, institution=inst,
                         display_name=inst.name)
        self.recognitions(zhang, units[0][1][0], units[1][1][0])
        db.session.flush()
        for unit, employees, _ in units:
            self.filings(unit, employees, items, today)
        self.talent_filing(zhang, units[0][0], items["RC_TALENT"], today)
        self.retirees([unit for unit, _, _ in units], periods)
        db.session.commit()
        people = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
        return f"演示数据已载入：{len(units)} 个单位，{people} 名人员，{len(periods)} 个结算期。"

    def money(self, unit, person, wage, periods) -> None:
        contributions = []
        for n, period in enumerate(periods):
            for kind in InsuranceKind:
                base, unit_part, personal_part = amounts(wage, kind)
                overdue = n == len(periods) - 1 and self.rng.random() < 0.1
                contributions.append(dict(
                    unit_id=unit.id, person_id=person.id, period=period, kind=kind.value,
                    base=base, unit_amount=unit_part, personal_amount=personal_part,
                    status=(PaymentStatus.OVERDUE if overdue else PaymentStatus.PAID).value,
                    paid_on=None if overdue else dt.date(int(period[:4]), int(period[4:]), 15)))
        db.session.execute(sa.insert(Contribution), contributions)
        balance = Decimal("0.00")
        for year in (2025, 2026):
            months = [p for p in periods if p.startswith(str(year))]
            base, _, personal = amounts(wage, InsuranceKind.PENSION)
            paid = personal * len(months)
            interest = pension_interest(balance, paid)
            balance = balance + paid + interest  # the running total, year after year
            db.session.add(PensionAccount(
                person_id=person.id, year=year, months_paid=len(months),
                base_total=base * len(months), personal_paid=paid, interest=interest,
                balance=balance))
        if self.rng.random() < 0.1:
            kind = self.rng.choice([BenefitKind.MATERNITY, BenefitKind.INJURY])
            db.session.add(BenefitPayment(
                unit_id=unit.id, person_id=person.id, period=periods[-2], kind=kind,
                item="生育津贴" if kind == BenefitKind.MATERNITY else "一次性伤残补助金",
                amount=Decimal(self.rng.randrange(3000, 30000)), paid_on=dt.date(2026, 9, 20)))

    def filings(self, unit, employees, items, today) -> None:
        """One filing in every state, with a timeline that reached it."""
        filer = db.session.scalar(sa.select(Account).where(
            Account.unit_id == unit.id, Account.kind == AccountKind.UNIT_MEMBER).limit(1))
        reviewer = db.session.scalar(sa.select(Account).where(Account.username == "reviewer"))
        paths = {
            State.DRAFT: [],
            State.SUBMITTED: [Action.SUBMIT],
            State.WITHDRAWN: [Action.SUBMIT, Action.WITHDRAW],
            State.IN_REVIEW: [Action.SUBMIT, Action.ACCEPT],
            State.REJECTED: [Action.SUBMIT, Action.ACCEPT, Action.REJECT],
            State.APPROVED: [Action.SUBMIT, Action.ACCEPT, Action.APPROVE],
            State.COMPLETED: [Action.SUBMIT, Action.ACCEPT, Action.APPROVE, Action.COMPLETE],
        }
        item_cycle = ["JY_RECORD", "SB_UNIT_CHANGE", "JY_RECORD", "SB_ENROLL", "SB_SUSPEND",
                      "JY_RECORD", "JY_RECORD"]
        for n, (state, path) in enumerate(paths.items()):
            item = items[item_cycle[n]]
            person = employees[n]
            submitted = dt.datetime.combine(today - dt.timedelta(days=20 - n), dt.time(9, 30))
            payload, subject = self.payload_for(item.code, person, unit, today)
            app = Application(item=item, unit=unit, subject_person=subject, filed_by=filer,
                              state=State.DRAFT, payload=payload)
            db.session.add(app)
            db.session.flush()
            db.session.add(ApplicationEvent(application=app, action="create",
                                            to_state=State.DRAFT, actor=filer, at=submitted))
            current = State.DRAFT
            for step, action in enumerate(path):
                nxt = TRANSITIONS[(current, action)].to
                by_reviewer = action in (Action.ACCEPT, Action.APPROVE, Action.REJECT,
                                         Action.COMPLETE)
                comment = "材料不齐，请补充劳动合同复印件" if action == Action.REJECT else ""
                db.session.add(ApplicationEvent(
                    application=app, action=action.value, from_state=current, to_state=nxt,
                    actor=reviewer if by_reviewer else filer, comment=comment,
                    at=submitted + dt.timedelta(hours=step * 5)))
                if action == Action.SUBMIT:
                    app.submitted_at = submitted
                    deadline = deadline_after(submitted.date(), item.time_limit_days)
                    app.deadline, app.deadline_estimated = deadline.day, deadline.estimated
                if action in (Action.APPROVE, Action.REJECT):
                    app.decided_at = submitted + dt.timedelta(hours=step * 5)
                current = nxt
            assert current == state, (current, state)
            app.state = current
            claim_people(app)


    def payload_for(self, code, person, unit, today) -> tuple[dict, Person | None]:
        """A filled-in form for a demo filing of item ``code``, and its subject person."""
        if code == "SB_ENROLL":  # someone new to the system
            id_no = make_id_no(self.rng, self.used_ids)
            return {"id_no": id_no, "name": "新" + self.rng.choice(GIVEN) * 2, "phone": "",
                    "start_date": str(today), "wage": "8000.00",
                    "insurance_kinds": ALL_KINDS}, None
        if code == "SB_SUSPEND":
            return {"id_no": person.id_no, "suspend_date": str(today), "reason": "leave"}, person
        if code == "SB_UNIT_CHANGE":
            return {"name": "", "address": unit.address + "（新址）", "reason": "迁址"}, None
        return {"id_no": person.id_no, "hire_date": str(today), "position": "职员"}, person

    def retirees(self, units, periods) -> None:
        """Three retired former employees per unit, with a pension paid every period.

        Drawn from a second generator so the demo accounts above keep their numbers.
        """
        rng = random.Random(7)
        for unit in units:
            for n in range(3):
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
                # Retired in 2025: born 1955-1964, so every one is past retirement age.
                person = Person(id_no=make_id_no(rng, self.used_ids, dt.date(1955, 1, 1),
                                                 3652, OLD_REGIONS), name=name)
                db.session.add(person)
                db.session.flush()
                db.session.add(Enrollment(
                    person=person, unit=unit, insurance_kinds=ALL_KINDS,
                    start_date=dt.date(1995, 3, 1), end_date=dt.date(2025, 6, 30),
                    wage=Decimal("6000"), status=EnrollmentStatus.SUSPENDED))
                pension = Decimal(3200 + 450 * n + rng.randrange(0, 300))
                db.session.add_all(BenefitPayment(
                    unit_id=unit.id, person_id=person.id, period=period,
                    kind=BenefitKind.PENSION, item="基本养老金", amount=pension,
                    paid_on=dt.date(int(period[:4]), int(period[4:]), 20)) for period in periods)

    def recognitions(self, zhang, colleague, other) -> None:
        """张伟's current recognition, in its renewal month (filing opens 23 months after it:
        dated from the day the demo is loaded, so it is current and he may renew), and an
        earlier one it renewed; two more people recognised lately, for the public 公示."""
        recognised = add_months(clock.today(), -TALENT_FILING_AFTER_MONTHS) - \
            dt.timedelta(days=10)
        earlier = add_months(recognised, -24)
        rows = [(zhang, TalentLevel.D, "RC%d330100123", earlier),
                (zhang, TalentLevel.D, "RC%d330100456", recognised),
                (colleague, TalentLevel.C, "RC%d330100789", clock.today() - dt.timedelta(days=40)),
                (other, TalentLevel.E, "RC%d330900012", clock.today() - dt.timedelta(days=95))]
        for person, level, number, day in rows:
            db.session.add(TalentRecognition(
                person=person, level=level, certificate_no=number % day.year,
                recognised_on=day, valid_until=add_months(day, 24) - dt.timedelta(days=1)))

    def talent_filing(self, person, unit, item, today) -> None:
        """An individual's talent filing, prepared and waiting for the unit to submit."""
        account = db.session.scalar(sa.select(Account).where(
            Account.kind == AccountKind.INDIVIDUAL, Account.person_id == person.id))
        at = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(20, 15))
        app = Application(item=item, unit=unit, subject_person=person, filed_by=account,
                          state=State.AWAITING_UNIT,
                          payload=talent_payload(person, unit))
        db.session.add(app)
        db.session.add_all([
            ApplicationEvent(application=app, action="create", to_state=State.DRAFT,
                             actor=account, at=at),
            ApplicationEvent(application=app, action=Action.PREPARE.value,
                             from_state=State.DRAFT, to_state=State.AWAITING_UNIT,
                             actor=account, at=at + dt.timedelta(minutes=10)),
        ])
        db.session.flush()
        # The filing waits for the unit with its required materials: the signed form
        # (签字盖章的申请表) and the applicant's photo.
        store_attachment(app, "form", "人才认定备案申请表（已签字）.pdf",
                         io.BytesIO(signed_form_pdf(person, unit)), account.id)
        store_attachment(app, "photo", "证件照.png", io.BytesIO(portrait_png()), account.id)
        claim_people(app)


#: Yearly interest on a personal pension account: on the opening balance for the year, and
#: on the year's contributions for half a year on average.
PENSION_RATE = Decimal("0.0262")


def pension_interest(opening: Decimal, paid: Decimal) -> Decimal:
    """A year's interest on the account, as the office credits it at the year's end."""
    return (opening * PENSION_RATE + paid * PENSION_RATE / 2).quantize(Decimal("0.01"))


def talent_payload(person: Person, unit: Unit) -> dict:
    """张伟's talent filing as the manual's form holds it (every required answer)."""
    return {"name": person.name, "gender": "M", "id_type": "01", "id_no": person.id_no,
            "phone": person.phone or "13800000003", "birth_date": str(person.birth_date),
            "nation": "汉族", "birthplace": "江西星子", "political_status": "01",
            "arrived_on": "2015-07-01", "industry": "digital", "work_status": "employed",
            "unit_uscc": unit.uscc, "unit_category": "enterprise", "post": "无",
            "specialty": "软件工程", "education": "10", "education_major": "计算机科学与技术",
            "school": "浙江大学", "graduated_on": "2015-06-30", "degree": "2",
            "degree_major": "计算机科学与技术", "degree_grantor": "浙江大学",
            "degree_on": "2015-06-30", "title": "高级工程师", "level": "D",
            "condition": "省级重点企业研究院核心技术骨干（高级工程师）"}


def portrait_png() -> bytes:
    """The demo's passport photo: a 90×120 PNG of a plain silhouette (Pillow)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (90, 120), (66, 133, 244))
    draw = ImageDraw.Draw(image)
    draw.ellipse((27, 18, 63, 58), fill=(245, 222, 200))
    draw.pieslice((10, 62, 80, 150), 180, 360, fill=(40, 40, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def signed_form_pdf(person: Person, unit: Unit) -> bytes:
    """The demo's scanned, signed 人才认定备案申请表 (a one-page PDF)."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setFont("STSong-Light", 16)
    pdf.drawCentredString(A4[0] / 2, A4[1] - 72, "人才认定备案申请表")
    pdf.setFont("STSong-Light", 11)
    for n, line in enumerate([f"姓名：{person.name}", f"工作单位：{unit.name}",
                              "申请人（签字）：" + person.name, f"单位（盖章）：{unit.name}"]):
        pdf.drawString(72, A4[1] - 120 - 24 * n, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def load_demo() -> str:
    """Load the demo data (the database must be empty) and say what was loaded."""
    if not is_empty():
        raise RuntimeError("数据库已有数据；演示数据只载入空数据库")
    summary = _Loader().load()
    stamp_versions()
    db.session.commit()
    return summary


def demo_accounts_text() -> str:
    """The demo accounts as stored, as `make run` prints them."""
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}）:",
             "  工作人员 (kind=staff): " + ", ".join(f"{u}（{d}）" for u, d, _ in STAFF)]
    members = db.session.execute(
        sa.select(Unit.uscc, Unit.unit_no, Unit.name, Grant.level, Grant.valid_to, Person.name,
                  Person.id_no, Person.phone)
        .join(Grant, Grant.unit_id == Unit.id).join(Person, Person.id == Grant.person_id)
        .order_by(Unit.id, Grant.id)).all()
    current = None
    for uscc, unit_no, unit_name, level, valid_to, name, id_no, phone in members:
        if uscc != current:
            lines.append(f"  单位 (kind=unit) {unit_name}: "
                         f"统一社会信用代码 {uscc} 或 单位编号 {unit_no}")
            current = uscc
        expired = "（授权已过期）" if valid_to and valid_to < clock.today() else ""
        lines.append(f"    {GrantLevel.label_of(level)} {name}: {id_no} 或 {phone}{expired}")
    for inst_no, inst_name, id_no in db.session.execute(
            sa.select(Institution.institution_no, Institution.name, Person.id_no)
            .join(Person, Person.id == Institution.admin_person_id)):
        lines.append(f"  机构 (kind=institution) {inst_name}: 机构编号 {inst_no} + 管理员 {id_no}")
    lines.append(f"  个人 (kind=person): {INDIVIDUAL[0]} {INDIVIDUAL[1]} 或 {INDIVIDUAL[2]}")
    return "\n".join(lines)
