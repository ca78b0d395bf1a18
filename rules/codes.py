"""Coded values of the domain, each with the Chinese label users see."""
from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A StrEnum whose members carry a Chinese label: ``Member = "code", "标签"``."""

    def __new__(cls, value: str, label: str = ""):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label or value
        return obj

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs for select fields."""
        return [(m.value, m.label) for m in cls]

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The Chinese label of a stored value, or the value itself if unknown."""
        try:
            return cls(value).label
        except ValueError:
            return value or ""


class AccountKind(Labelled):
    STAFF = "staff", "工作人员"
    UNIT_MEMBER = "unit_member", "单位用户"
    INSTITUTION = "institution", "机构"
    INDIVIDUAL = "individual", "个人"


class StaffRoleName(Labelled):
    SYSTEM_ADMIN = "system_admin", "系统管理员"
    COUNTER_CLERK = "counter_clerk", "受理窗口"
    REVIEWER = "reviewer", "审核人员"
    AUDITOR = "auditor", "审计人员"


class GrantLevel(Labelled):
    LEGAL_REP = "legal_rep", "法定代表人"
    ADMIN = "admin", "管理员"
    AGENT = "agent", "经办人"


class UnitType(Labelled):
    ENTERPRISE = "enterprise", "企业"
    NON_ENTERPRISE = "non_enterprise", "民办非企业"
    PUBLIC = "public", "机关事业单位"


class UnitStatus(Labelled):
    NORMAL = "normal", "正常"
    CLOSED = "closed", "注销"


class OnlineStatus(Labelled):
    PENDING = "pending", "待核验"
    ACTIVE = "active", "已开通"
    CANCELLED = "cancelled", "已注销"


class DeliveryMethod(Labelled):
    """How the filer receives the result (结果领取方式)."""

    WINDOW = "window", "窗口领取"
    POST = "post", "快递寄送"


class IdType(Labelled):
    RESIDENT = "01", "居民身份证"
    PASSPORT = "02", "护照"
    HK_MACAO = "03", "港澳居民来往内地通行证"
    TAIWAN = "04", "台湾居民来往大陆通行证"
    FOREIGN_PR = "05", "外国人永久居留身份证"


class Gender(Labelled):
    MALE = "M", "男"
    FEMALE = "F", "女"


class InstitutionType(Labelled):
    TRAINING = "training", "培训机构"
    APPRAISAL = "appraisal", "鉴定机构"
    TECH_SCHOOL = "tech_school", "技工院校"
    HR_SERVICE = "hr_service", "人力资源服务机构"


class InstitutionLevel(Labelled):
    PROVINCE = "province", "省级"
    CITY = "city", "市级"
    COUNTY = "county", "县级"


class InsuranceKind(Labelled):
    """Insurance kinds by their national codes (险种类型)."""

    PENSION = "110", "企业职工基本养老保险"
    UNEMPLOYMENT = "210", "失业保险"
    MEDICAL = "310", "职工基本医疗保险"
    INJURY = "410", "工伤保险"
    MATERNITY = "510", "生育保险"


class EnrollmentStatus(Labelled):
    ACTIVE = "active", "参保缴费"
    SUSPENDED = "suspended", "暂停参保"


class Filer(Labelled):
    UNIT = "unit", "单位"
    PERSON = "person", "个人"
    BOTH = "both", "单位和个人"


class PaymentStatus(Labelled):
    PAID = "paid", "已缴费"
    UNPAID = "unpaid", "未缴费"
    OVERDUE = "overdue", "欠缴"


class BenefitKind(Labelled):
    PENSION = "pension", "养老待遇"
    MATERNITY = "maternity", "生育待遇"
    INJURY = "injury", "工伤待遇"


class TalentLevel(Labelled):
    A = "A", "A类"
    B = "B", "B类"
    C = "C", "C类"
    D = "D", "D类"
    E = "E", "E类"


class ImportStatus(Labelled):
    CHECKED = "checked", "已校验"
    FILED = "filed", "已保存"
    DISCARDED = "discarded", "已放弃"


class JobKind(Labelled):
    IMPORT = "import", "批量导入"
    EXPORT = "export", "导出"


class JobState(Labelled):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "进行中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"
    EXPIRED = "expired", "已过期"


def kinds_label(codes: str | None) -> str:
    """'110,310' → '企业职工基本养老保险、职工基本医疗保险'."""
    return "、".join(InsuranceKind.label_of(c) for c in (codes or "").split(",") if c)


# --- code tables (字典) ----------------------------------------------------------------------
#: Reasons a reviewer gives most often when sending a filing back (退回原因).
REJECT_REASONS = [
    ("materials_missing", "材料不齐全，请补充上传"),
    ("materials_unclear", "材料不清晰，请重新上传清晰的扫描件或照片"),
    ("info_mismatch", "填报信息与材料不一致，请核对后修改"),
    ("identity_wrong", "证件号码或姓名有误，请核对"),
    ("enrollment_wrong", "参保日期或缴费工资填写有误"),
    ("out_of_scope", "不属于本事项办理范围"),
]
#: The districts this office serves (行政区划, GB/T 2260).
REGIONS = [
    ("330100", "杭州市"), ("330102", "上城区"), ("330105", "拱墅区"), ("330106", "西湖区"),
    ("330108", "滨江区"), ("330109", "萧山区"), ("330110", "余杭区"), ("330900", "舟山市"),
    ("330902", "定海区"), ("330903", "普陀区"),
]
INSURANCE_KIND_SETS = [("110,210,310,410,510", "五险（养老、失业、医疗、工伤、生育）"),
                       ("110,310,410", "养老、医疗、工伤")]
#: 地市历史用户升级: the old systems whose accounts may be upgraded (the manual's three and the
#: two cities' old halls this office took over); staff keep the list in 字典管理.
LEGACY_SYSTEMS = [("JS_WB", "江苏省人社网办大厅"),
                  ("JS_SBJ", "江苏省社会保险基金管理中心网上业务大厅"),
                  ("TZ_WB", "泰州市人社网办大厅"), ("HZ_WB", "杭州社保旧网办"),
                  ("ZS_WB", "舟山人社旧网办")]

SUSPEND_REASONS = [("leave", "解除或终止劳动关系"), ("retire", "退休"), ("death", "死亡"),
                   ("other", "其他")]

#: The talent filing form's lists (manual 003, 人才认定备案申请表).
POLITICAL_STATUSES = [("01", "中共党员"), ("02", "中共预备党员"), ("03", "共青团员"),
                      ("04", "民主党派"), ("05", "无党派人士"), ("13", "群众")]
EDUCATIONS = [("10", "研究生"), ("20", "大学本科"), ("30", "大学专科"), ("40", "中等专科"),
              ("50", "技工学校"), ("60", "高中"), ("90", "其他")]
DEGREES = [("1", "博士"), ("2", "硕士"), ("3", "学士"), ("0", "无学位")]
INDUSTRIES = [("digital", "数字经济"), ("manufacturing", "高端装备制造"),
              ("bio", "生物医药"), ("materials", "新材料"), ("energy", "新能源"),
              ("culture", "文化创意"), ("finance", "金融服务"), ("education", "教育"),
              ("health", "医疗卫生"), ("other", "其他")]
WORK_STATUSES = [("employed", "在职"), ("founder", "自主创业"), ("retired", "退休返聘")]
#: 主管部门 a unit chooses when it first registers for talent filing (manual 003).
COMPETENT_DEPTS = [("rsj", "市人力资源和社会保障局"), ("kjj", "市科学技术局"),
                   ("jyj", "市教育局"), ("wjw", "市卫生健康委员会"), ("jxj", "市经济和信息化局"),
                   ("swj", "市商务局"), ("whj", "市文化广电旅游局"), ("xihu", "西湖区人力社保局"),
                   ("binjiang", "滨江区人力社保局"), ("other", "其他")]

#: The fixed lists the console ships, seeded into the code tables (字典管理) of every
#: database: table code → (name, [(code, label)]). Staff may add and retire codes; these
#: seeded ones are what the program relies on, so they are never deleted.
CODE_TABLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "insurance_kind": ("险种类型", InsuranceKind.choices()),
    "insurance_kind_set": ("参保险种组合", INSURANCE_KIND_SETS),
    "unit_type": ("单位类型", UnitType.choices()),
    "id_type": ("证件类型", IdType.choices()),
    "reject_reason": ("退回原因", REJECT_REASONS),
    "region": ("行政区划", REGIONS),
    "suspend_reason": ("暂停参保原因", SUSPEND_REASONS),
    "talent_level": ("人才层次", TalentLevel.choices()),
    "institution_type": ("机构类型", InstitutionType.choices()),
    "gender": ("性别", Gender.choices()),
    "political_status": ("政治面貌", POLITICAL_STATUSES),
    "education": ("学历", EDUCATIONS),
    "degree": ("学位", DEGREES),
    "industry": ("从事产业类别", INDUSTRIES),
    "work_status": ("在职状态", WORK_STATUSES),
    "competent_dept": ("主管部门", COMPETENT_DEPTS),
    "legacy_system": ("历史系统", LEGACY_SYSTEMS),
    "city_channel": ("地市频道", REGIONS),
}


def seeded(table: str, code: str) -> bool:
    """True if the program ships this code (it is then retired, never deleted)."""
    return code in dict(CODE_TABLES.get(table, ("", []))[1])
