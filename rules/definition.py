"""A service item's definition as data, and the pure check a definition must pass.

A definition is the JSON the designer edits, a version stores and a catalogue file ships::

    {"code", "name", "category", "filer", "needs_unit_submit", "time_limit_days", "handler",
     "fields": [{"name", "label", "type", "required", "help", "max_length", "min", "max",
                 "code_table", "validator", "import"}],
     "materials": [{"code", "label", "required", "types", "max_mb", "auto", "shown"}],
     "steps": [{"name", "role", "share"}]}

``check_definition`` says, in Chinese, everything wrong with one; the designer saves drafts
with problems but publishes only a definition without any.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from rules.codes import Filer, StaffRoleName
from rules.fields import FIELD_TYPES, VALIDATORS
from rules.permissions import APPLICATIONS, REVIEW, STAFF_MATRIX

FORMAT = "wangban-item/1"
CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MATERIAL_TYPES = {"pdf": "PDF", "jpg": "JPG", "png": "PNG"}
MAX_MATERIAL_MB = 10
#: A material shown on the case page (``"shown": true``, e.g. the applicant's photo) is an image.
IMAGE_TYPES = {"jpg", "png"}
MAX_TEXT_LENGTH = 200
MAX_FIELDS = 40
MAX_STEPS = 5
#: The staff roles a review step may name: those the permission matrix lets review filings.
STEP_ROLES = {r.value: r.label for r in StaffRoleName
              if REVIEW in STAFF_MATRIX.get(r, {}).get(APPLICATIONS, ())}
DEFAULT_STEPS = ({"name": "审核", "role": StaffRoleName.REVIEWER.value, "share": 100},)
FACTS = ("code", "name", "category", "filer", "needs_unit_submit", "time_limit_days", "handler")


@dataclass(frozen=True)
class Spec:
    """One definition as the filing desk reads it: what ``form_for`` and the pages need."""

    code: str
    name: str
    category: str = ""
    filer: str = Filer.UNIT.value
    needs_unit_submit: bool = False
    time_limit_days: int = 5
    handler: str | None = None
    form_fields: list = field(default_factory=list)
    materials: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    number: int | None = None  # the version number, None for an unpublished draft

    @classmethod
    def of(cls, definition: dict, number: int | None = None) -> Spec:
        """The Spec of a (checked) definition dict."""
        return cls(code=definition.get("code", ""), name=definition.get("name", ""),
                   category=definition.get("category", ""),
                   filer=definition.get("filer", Filer.UNIT.value),
                   needs_unit_submit=bool(definition.get("needs_unit_submit")),
                   time_limit_days=int(definition.get("time_limit_days") or 5),
                   handler=definition.get("handler") or None,
                   form_fields=list(definition.get("fields") or []),
                   materials=list(definition.get("materials") or []),
                   steps=list(definition.get("steps") or DEFAULT_STEPS), number=number)

    @property
    def import_columns(self) -> list[dict]:
        """The fields that are columns of the item's import template."""
        return [f for f in self.form_fields if f.get("import")]


def definition_of(item) -> dict:
    """The definition held in a ServiceItem's columns (its published one)."""
    return {"code": item.code, "name": item.name, "category": item.category or "",
            "filer": str(getattr(item.filer, "value", item.filer)),
            "needs_unit_submit": bool(item.needs_unit_submit),
            "time_limit_days": item.time_limit_days, "handler": item.handler or None,
            "fields": list(item.form_fields or []), "materials": list(item.materials or []),
            "steps": list(getattr(item, "steps", None) or DEFAULT_STEPS)}


def _number(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError from None
    if not number.is_finite():
        raise ValueError
    return number


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    return dt.date.fromisoformat(str(value))


def _check_field(n: int, spec, names: set, tables: set[str]) -> list[str]:
    if not isinstance(spec, dict):
        return [f"第{n}个字段格式无效"]
    problems = []
    name, label = spec.get("name"), spec.get("label")
    shown = label or name or f"第{n}个字段"
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(f"“{shown}”的字段名应为小写字母开头的字母、数字或下划线（至多32个）")
    elif name in names:
        problems.append(f"字段名“{name}”重复")
    names.add(name)
    if not isinstance(label, str) or not label.strip() or len(label) > 50:
        problems.append(f"第{n}个字段须有名称（至多50个字）")
    kind = spec.get("type")
    if kind not in FIELD_TYPES:
        problems.append(f"“{shown}”的类型无效，可选：{'、'.join(FIELD_TYPES.values())}")
    for flag in ("required", "import"):
        if not isinstance(spec.get(flag, False), bool):
            problems.append(f"“{shown}”的{'必填' if flag == 'required' else '导入列'}应为是或否")
    if not isinstance(spec.get("help", ""), str) or len(spec.get("help") or "") > 200:
        problems.append(f"“{shown}”的填写说明至多200个字")
    length = spec.get("max_length")
    if length not in (None, "") and (kind != "text" or not isinstance(length, int)
                                     or isinstance(length, bool)
                                     or not 1 <= length <= MAX_TEXT_LENGTH):
        problems.append(f"“{shown}”的长度限制只用于文本字段，应为1至{MAX_TEXT_LENGTH}")
    low, high = spec.get("min"), spec.get("max")
    if (low not in (None, "") or high not in (None, "")):
        parse = {"number": _number, "date": _date}.get(kind)
        if parse is None:
            problems.append(f"“{shown}”的范围只用于数字或日期字段")
        else:
            try:
                low_v, high_v = parse(low), parse(high)
            except (ValueError, TypeError):
                problems.append(f"“{shown}”的范围无效（数字，或日期如 2026-01-01）")
            else:
                if low_v is not None and high_v is not None and low_v > high_v:
                    problems.append(f"“{shown}”的最小值大于最大值")
    if kind == "choice":
        table = spec.get("code_table")
        if table:
            if table not in tables:
                problems.append(f"“{shown}”引用的代码表“{table}”不存在")
        elif not spec.get("choices"):
            problems.append(f"选项字段“{shown}”须选择代码表")
    elif spec.get("code_table"):
        problems.append(f"“{shown}”不是选项字段，不能引用代码表")
    if spec.get("validator") and spec["validator"] not in VALIDATORS:
        problems.append(f"“{shown}”的校验规则“{spec['validator']}”不存在")
    return problems


def _check_material(n: int, spec, codes: set) -> list[str]:
    if not isinstance(spec, dict):
        return [f"第{n}项材料格式无效"]
    problems = []
    code, label = spec.get("code"), spec.get("label")
    shown = label or code or f"第{n}项材料"
    if not isinstance(code, str) or not NAME_RE.match(code):
        problems.append(f"材料“{shown}”的代码应为小写字母开头的字母、数字或下划线")
    elif code in codes:
        problems.append(f"材料代码“{code}”重复")
    codes.add(code)
    if not isinstance(label, str) or not label.strip() or len(label) > 50:
        problems.append(f"第{n}项材料须有名称（至多50个字）")
    types = spec.get("types", list(MATERIAL_TYPES))
    if not isinstance(types, list) or not types or not set(types) <= set(MATERIAL_TYPES):
        problems.append(f"材料“{shown}”的文件类型应为{'、'.join(MATERIAL_TYPES.values())}中的一种或几种")
    size = spec.get("max_mb", MAX_MATERIAL_MB)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_MATERIAL_MB:
        problems.append(f"材料“{shown}”的大小限制应为1至{MAX_MATERIAL_MB}MB")
    for flag in ("required", "auto", "shown"):
        if not isinstance(spec.get(flag, False), bool):
            problems.append(f"材料“{shown}”的选项应为是或否")
    if spec.get("shown") and isinstance(types, list) and not set(types) <= IMAGE_TYPES:
        problems.append(f"材料“{shown}”在办件页显示为图片，文件类型只能是JPG、PNG")
    return problems


def _check_steps(steps) -> list[str]:
    if steps in (None, []):
        return []
    if not isinstance(steps, list) or len(steps) > MAX_STEPS:
        return [f"审核环节至多{MAX_STEPS}个"]
    problems, total = [], 0
    for n, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            problems.append(f"第{n}个审核环节格式无效")
            continue
        if not isinstance(step.get("name"), str) or not step["name"].strip() \
                or len(step["name"]) > 20:
            problems.append(f"第{n}个审核环节须有名称（至多20个字）")
        if step.get("role") not in STEP_ROLES:
            problems.append(f"第{n}个审核环节的岗位应为：{'、'.join(STEP_ROLES.values())}")
        share = step.get("share")
        if not isinstance(share, int) or isinstance(share, bool) or not 1 <= share <= 100:
            problems.append(f"第{n}个审核环节的时限占比应为1至100")
        else:
            total += share
    if not problems and total != 100:
        problems.append(f"各审核环节的时限占比之和应为100（现为{total}）")
    return problems


#: Handlers whose filer the law fixes, whatever a definition says: a talent recognition is the
#: individual's own application (manual 003: 单位账号无法替个人进行备案申请).
HANDLER_FILERS: dict[str, Filer] = {"talent": Filer.PERSON}


def check_definition(definition, *, tables: set[str] | frozenset = frozenset(),
                     handlers: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Everything wrong with ``definition``, in Chinese; empty when it may be published.

    ``tables`` are the code tables that exist; ``handlers`` maps each registered handler
    to the field names it needs.
    """
    if not isinstance(definition, dict):
        return ["事项定义应为对象"]
    handlers = handlers or {}
    problems = []
    code = definition.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        problems.append("事项编码应为大写字母开头的大写字母、数字或下划线（2至32个）")
    name = definition.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        problems.append("请填写事项名称（至多100个字）")
    category = definition.get("category", "")
    if not isinstance(category, str) or len(category) > 50:
        problems.append("事项分类至多50个字")
    if definition.get("filer") not in {f.value for f in Filer}:
        problems.append(f"申报主体应为：{'、'.join(f.label for f in Filer)}")
    limit = definition.get("time_limit_days")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 365:
        problems.append("办理时限应为1至365个工作日")
    if not isinstance(definition.get("needs_unit_submit", False), bool):
        problems.append("“须由单位提交”应为是或否")
    elif definition.get("needs_unit_submit") and definition.get("filer") == Filer.UNIT.value:
        problems.append("只有个人可申报的事项才能设置“须由单位提交”")
    fields = definition.get("fields", [])
    names: set = set()
    if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
        problems.append(f"表单字段应为列表，至多{MAX_FIELDS}个")
        fields = []
    for n, spec in enumerate(fields, 1):
        problems += _check_field(n, spec, names, set(tables))
    materials = definition.get("materials", [])
    if not isinstance(materials, list):
        problems.append("申报材料应为列表")
        materials = []
    codes: set = set()
    for n, spec in enumerate(materials, 1):
        problems += _check_material(n, spec, codes)
    problems += _check_steps(definition.get("steps"))
    handler = definition.get("handler")
    if handler in HANDLER_FILERS and definition.get("filer") != HANDLER_FILERS[handler].value:
        problems.append(f"办结处理“{handler}”的申报主体只能是：{HANDLER_FILERS[handler].label}")
    if handler:
        if handler not in handlers:
            problems.append(f"办结处理“{handler}”不存在")
        else:
            missing = [n for n in handlers[handler] if n not in names]
            if missing:
                problems.append(f"办结处理“{handler}”需要字段：{'、'.join(missing)}")
    unknown = set(definition) - set(FACTS) - {"fields", "materials", "steps", "format"}
    if unknown:
        problems.append(f"无法识别的项：{'、'.join(sorted(unknown))}")
    return problems


def diff(before: dict, after: dict) -> list[tuple[str, str, str]]:
    """What changed from one definition to another: (what, before, after), in Chinese."""
    rows = []
    labels = {"code": "事项编码", "name": "事项名称", "category": "分类", "filer": "申报主体",
              "needs_unit_submit": "须由单位提交", "time_limit_days": "办理时限（工作日）",
              "handler": "办结处理"}
    for key, label in labels.items():
        if before.get(key) != after.get(key):
            rows.append((label, _shown(before.get(key)), _shown(after.get(key))))
    for kind, key, title in (("fields", "name", "字段"), ("materials", "code", "材料"),
                             ("steps", "name", "审核环节")):
        old = {s.get(key): s for s in before.get(kind) or [] if isinstance(s, dict)}
        new = {s.get(key): s for s in after.get(kind) or [] if isinstance(s, dict)}
        for name in old.keys() - new.keys():
            rows.append((f"{title}“{old[name].get('label') or name}”", _spec(old[name]),
                         "（删除）"))
        for name in new.keys() - old.keys():
            rows.append((f"{title}“{new[name].get('label') or name}”", "（新增）",
                         _spec(new[name])))
        for name in old.keys() & new.keys():
            if old[name] != new[name]:
                rows.append((f"{title}“{new[name].get('label') or name}”", _spec(old[name]),
                             _spec(new[name])))
        if [k for k in old if k in new] != [k for k in new if k in old]:
            rows.append((f"{title}顺序", "、".join(str(k) for k in old),
                         "、".join(str(k) for k in new)))
    return rows


def _shown(value) -> str:
    if value is True:
        return "是"
    if value in (False, None, ""):
        return "否" if value is False else "（无）"
    return str(value)


def _spec(spec: dict) -> str:
    return "；".join(f"{k}={_shown(v)}" for k, v in spec.items() if v not in (None, "", []))


#: How a field type reads from a spreadsheet cell (rules.imports parsers); the form's own
#: validators then check ranges, lengths and required values as for a single filing.
IMPORT_KINDS = {"text": "text", "number": "text", "date": "date", "choice": "choice",
                "id_no": "id_no", "person": "id_no", "phone": "phone", "unit": "uscc"}
EXAMPLES = {"text": "示例", "id_no": "110101199003070011", "person": "110101199003070011",
            "phone": "13900001111", "unit": "91330106MA2ABCDE1G", "date": "2026-01-01",
            "number": "1"}


def batch_schema(spec: Spec, choices: dict[str, list[tuple[str, str]]]):
    """The import template and row checker of a published definition with import columns
    (None without any); ``choices`` holds the code tables its choice fields name."""
    from rules.imports import BatchSchema, Column

    columns = []
    for f in spec.import_columns:
        kind = f["type"]
        options = tuple(choices.get(f.get("code_table") or "", ()))
        example = options[0][1] if kind == "choice" and options else \
            str(f.get("min") or EXAMPLES.get(kind, "")) if kind in ("number", "date") else \
            EXAMPLES.get(kind, "")
        columns.append(Column(f["name"], f["label"], IMPORT_KINDS[kind],
                              required=bool(f.get("required")), choices=options,
                              example=example, note=f.get("help") or ""))
    if not columns:
        return None
    return BatchSchema(spec.code, spec.name, f"v{spec.number or 0}", tuple(columns), "")
