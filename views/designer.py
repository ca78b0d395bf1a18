"""系统管理 → 事项设计: system administrators define service items without code.

The page edits a draft through a form (facts, fields, materials, review steps, handler); a
preview renders the draft with the form builder filers get (``views.item_form``); publishing,
export and import are operations in ``models.catalogue``.
"""
from __future__ import annotations

from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from models import ServiceItem, ServiceItemVersion, db
from models.catalogue import (
    DefinitionRefused,
    discard_draft,
    export_definition,
    handler_needs,
    import_definition,
    latest_version,
    new_item,
    problems_of,
    publish,
    save_draft,
    versions_of,
    working_definition,
)
from models.codes import table_codes
from models.errors import Refusal
from models.handlers import HANDLERS
from models.operations import By
from rules import permissions as p
from rules.codes import AccountKind, Filer
from rules.definition import DEFAULT_STEPS, MATERIAL_TYPES, STEP_ROLES, Spec, diff
from rules.fields import FIELD_TYPES
from views.auth import client_ip, current_actor
from views.base import KindGate, flash_refusal
from views.item_form import form_for

LISTS = ("fields", "materials", "steps")


class FieldRow(Form):
    name = StringField("字段名")
    label = StringField("名称")
    type = SelectField("类型", choices=list(FIELD_TYPES.items()))
    required = BooleanField("必填")
    help = StringField("填写说明")
    max_length = IntegerField("长度上限", validators=[Optional()])
    min = StringField("最小值")
    max = StringField("最大值")
    code_table = SelectField("代码表", choices=[], validate_choice=False)
    import_column = BooleanField("导入列")


class MaterialRow(Form):
    code = StringField("材料代码")
    label = StringField("材料名称")
    required = BooleanField("必需")
    types = SelectMultipleField("文件类型", choices=list(MATERIAL_TYPES.items()),
                                widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput(), validate_choice=False)
    max_mb = IntegerField("大小上限(MB)", validators=[Optional()])
    auto = BooleanField("系统自动获取")
    shown = BooleanField("办件页显示（如照片）")


class StepRow(Form):
    name = StringField("环节名称")
    role = SelectField("岗位", choices=list(STEP_ROLES.items()))
    share = IntegerField("时限占比(%)", validators=[Optional()])


class DesignerForm(FlaskForm):
    class Meta:
        locales = ["zh_CN", "zh"]

    code = StringField("事项编码")
    name = StringField("事项名称")
    category = StringField("分类")
    filer = SelectField("申报主体", choices=Filer.choices())
    needs_unit_submit = BooleanField("个人填报后须由单位提交")
    time_limit_days = IntegerField("办理时限（工作日）", validators=[Optional()])
    handler = SelectField("办结处理", choices=[])
    fields = FieldList(FormField(FieldRow))
    materials = FieldList(FormField(MaterialRow))
    steps = FieldList(FormField(StepRow))


def _clean(value):
    return value.strip() if isinstance(value, str) else value


def definition_from(form: DesignerForm) -> dict:
    """The definition a designer form holds (unchecked)."""
    fields = []
    for row in form.fields.data:
        spec = {"name": _clean(row["name"]), "label": _clean(row["label"]), "type": row["type"],
                "required": bool(row["required"])}
        if _clean(row["help"]):
            spec["help"] = _clean(row["help"])
        if row["max_length"] is not None and row["type"] == "text":
            spec["max_length"] = row["max_length"]
        for key in ("min", "max"):
            if _clean(row[key]) and row["type"] in ("number", "date"):
                spec[key] = _clean(row[key])
        if row["type"] == "choice":
            spec["code_table"] = row["code_table"] or ""
        if row["import_column"]:
            spec["import"] = True
        fields.append(spec)
    materials = [{"code": _clean(m["code"]), "label": _clean(m["label"]),
                  "required": bool(m["required"]), "types": list(m["types"] or []),
                  "max_mb": m["max_mb"] if m["max_mb"] is not None else 10,
                  "auto": bool(m["auto"]), **({"shown": True} if m.get("shown") else {})}
                 for m in form.materials.data]
    steps = [{"name": _clean(s["name"]), "role": s["role"], "share": s["share"]}
             for s in form.steps.data]
    return {"code": _clean(form.code.data), "name": _clean(form.name.data),
            "category": _clean(form.category.data) or "", "filer": form.filer.data,
            "needs_unit_submit": bool(form.needs_unit_submit.data),
            "time_limit_days": form.time_limit_days.data, "handler": form.handler.data or None,
            "fields": fields, "materials": materials, "steps": steps}


def form_data(definition: dict) -> dict:
    """A definition as the designer form's data."""
    data = {k: definition.get(k) for k in ("code", "name", "category", "filer",
                                           "needs_unit_submit", "time_limit_days")}
    data["handler"] = definition.get("handler") or ""
    data["fields"] = [{**f, "import_column": bool(f.get("import")),
                       "code_table": f.get("code_table") or ""}
                      for f in definition.get("fields") or []]
    data["materials"] = [{**m, "types": m.get("types") or list(MATERIAL_TYPES)}
                         for m in definition.get("materials") or []]
    data["steps"] = list(definition.get("steps") or DEFAULT_STEPS)
    return data


def apply_op(definition: dict, op: str) -> dict:
    """Add, remove or move a row of a definition's lists (``add:fields``, ``up:steps:2``)."""
    parts = op.split(":")
    if len(parts) < 2 or parts[1] not in LISTS:
        return definition
    rows = list(definition.get(parts[1]) or [])
    if parts[0] == "add":
        rows.append({"fields": {"name": "", "label": "", "type": "text", "required": False},
                     "materials": {"code": "", "label": "", "required": False,
                                   "types": list(MATERIAL_TYPES), "max_mb": 10},
                     "steps": {"name": "", "role": "reviewer", "share": None}}[parts[1]])
    elif len(parts) == 3 and parts[2].isdigit() and int(parts[2]) < len(rows):
        n = int(parts[2])
        if parts[0] == "remove":
            rows.pop(n)
        elif parts[0] == "up" and n > 0:
            rows[n - 1], rows[n] = rows[n], rows[n - 1]
        elif parts[0] == "down" and n + 1 < len(rows):
            rows[n + 1], rows[n] = rows[n], rows[n + 1]
    return {**definition, parts[1]: rows}


def _preview(definition: dict) -> dict:
    """What the preview shows: the form from the filers' builder, and the problems left."""
    spec = Spec.of(definition)
    try:
        form = form_for(spec, strict=True, formdata=None, csrf=False)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        form = None
    return {"item": spec, "form": form, "problems": problems_of(definition)}


def _download(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


class DesignerView(KindGate, BaseView):
    """事项设计: drafts, preview, publish, versions and their differences, export, import."""

    kinds = frozenset({AccountKind.STAFF})
    staff_right = (p.CATALOG, p.WRITE)

    @property
    def by(self) -> By:
        return By(current_actor(), str(current_user), client_ip())

    def _item(self, item_id: int) -> ServiceItem:
        item = db.session.get(ServiceItem, item_id)
        if item is None:
            abort(404)
        return item

    def _form(self, definition: dict | None = None, formdata=None) -> DesignerForm:
        form = DesignerForm(formdata=formdata, data=form_data(definition) if definition else None)
        tables = [("", "请选择")] + [(t, t) for t in table_codes()]
        for row in form.fields:
            row.code_table.choices = tables
        form.handler.choices = [("", "无（仅登记）")] + [
            (name, f"{HANDLERS[name].label}（需要字段：{'、'.join(needs) or '无'}）")
            for name, needs in handler_needs().items()]
        if definition and definition.get("handler") in HANDLERS and \
                definition["handler"] not in handler_needs():
            form.handler.choices.append((definition["handler"],
                                         HANDLERS[definition["handler"]].label))
        return form

    @expose("/")
    def index(self):
        items = db.session.scalars(sa.select(ServiceItem).order_by(
            ServiceItem.category, ServiceItem.code)).all()
        return self.render("designer/index.html", items=items,
                           versions={i.id: latest_version(i) for i in items})

    @expose("/new/", methods=("GET", "POST"))
    def new(self):
        if request.method == "POST":
            code = (request.form.get("code") or "").strip().upper()
            try:
                item = new_item(self.by, {
                    "code": code, "name": (request.form.get("name") or "").strip(),
                    "category": "", "filer": Filer.UNIT.value, "needs_unit_submit": False,
                    "time_limit_days": 5, "handler": None, "fields": [], "materials": [],
                    "steps": list(DEFAULT_STEPS)})
                db.session.commit()
            except Refusal as refusal:
                flash_refusal(refusal)
                return redirect(url_for(".index"))
            return redirect(url_for(".edit", item_id=item.id))
        return redirect(url_for(".index"))

    @expose("/<int:item_id>/", methods=("GET", "POST"))
    def edit(self, item_id):
        item = self._item(item_id)
        if request.method == "GET":
            definition = working_definition(item)
            return self._page(item, self._form(definition), definition)
        form = self._form(formdata=request.form)
        definition = definition_from(form)
        op = request.form.get("op", "save")
        if op not in ("save", "publish", "discard"):
            definition = apply_op(definition, op)
        try:
            if op == "discard":
                discard_draft(self.by, item)
                db.session.commit()
                flash("已放弃草稿", "info")
                return redirect(url_for(".edit", item_id=item.id))
            problems = save_draft(self.by, item, definition)
            if op == "publish":
                version = publish(self.by, item)
                db.session.commit()
                flash(f"已发布第{version.number}版，新办件将按此版本办理", "info")
                return redirect(url_for(".versions", item_id=item.id))
            db.session.commit()
        except DefinitionRefused:
            db.session.commit()  # the draft is kept; only publishing was refused
            flash("未发布：请先改正下列问题", "error")
            return redirect(url_for(".edit", item_id=item.id))
        except Refusal as refusal:
            flash_refusal(refusal)
            return redirect(url_for(".edit", item_id=item.id))
        if op == "save":
            flash("草稿已保存" + ("（尚有问题，发布前须改正）" if problems else ""), "info")
        return redirect(url_for(".edit", item_id=item.id))

    def _page(self, item, form, definition):
        preview = _preview(definition)
        return self.render("designer/edit.html", item=item, form=form,
                           problems=preview["problems"], preview=preview,
                           draft=item.draft is not None, version=latest_version(item),
                           field_types=FIELD_TYPES)

    @expose("/<int:item_id>/preview/", methods=("GET", "POST"))
    def preview(self, item_id):
        """The form as a filer will see it: the saved draft (GET) or the unsaved page (POST,
        as the live preview sends it; ``fragment=1`` answers the preview alone)."""
        item = self._item(item_id)
        definition = definition_from(self._form(formdata=request.form)) \
            if request.method == "POST" else working_definition(item)
        template = "designer/_preview.html" if request.args.get("fragment") \
            else "designer/preview.html"
        return self.render(template, preview=_preview(definition))

    @expose("/<int:item_id>/versions/")
    def versions(self, item_id):
        item = self._item(item_id)
        return self.render("designer/versions.html", item=item, versions=versions_of(item))

    @expose("/<int:item_id>/diff/")
    def diff(self, item_id):
        item = self._item(item_id)
        numbers = {v.number: v for v in versions_of(item)}
        a, b = request.args.get("a", type=int), request.args.get("b", type=int)
        if a not in numbers or (b not in numbers and b != 0):
            flash("请选择两个已发布的版本", "error")
            return redirect(url_for(".versions", item_id=item.id))
        after = numbers[b].definition if b else working_definition(item)
        return self.render("designer/diff.html", item=item, a=a, b=b,
                           rows=diff(numbers[a].definition, after))

    @expose("/<int:item_id>/export/")
    def export(self, item_id):
        item = self._item(item_id)
        number = request.args.get("version", type=int)
        version = db.session.scalar(sa.select(ServiceItemVersion).where(
            ServiceItemVersion.item_id == item.id, ServiceItemVersion.number == number)) \
            if number else latest_version(item)
        if version is None:
            abort(404)
        return _download(export_definition(item, version),
                         f"{item.code}_v{version.number}.json")

    @expose("/import/", methods=("POST",))
    def import_view(self):
        upload = request.files.get("file")
        try:
            item = import_definition(self.by, upload.read() if upload else b"")
            db.session.commit()
        except DefinitionRefused as refused:
            db.session.rollback()
            flash("导入失败，文件未被接受：" + "；".join(refused.problems), "error")
            return redirect(url_for(".index"))
        except Refusal as refusal:
            flash_refusal(refusal)
            return redirect(url_for(".index"))
        flash(f"已导入“{item.name}”为草稿，请检查后发布", "info")
        return redirect(url_for(".edit", item_id=item.id))


def register(admin) -> None:
    """Add 事项设计 to the staff console's 系统管理."""
    admin.add_view(DesignerView(name="事项设计", category="系统管理", endpoint="admin_designer",
                                url="designer"))
