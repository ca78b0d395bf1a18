"""WTForms forms built from a service item's field definitions (the low-code part)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.validators import (
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from models.codes import choices_of, labels_of
from rules.fields import TYPE_VALIDATORS, VALIDATORS
from rules.codes import AccountKind
from rules.identity import InvalidValue, validate_uscc
from rules.masking import mask, shown
from views.forms import rule as rule_validator
from views.hardening import date_in_range, finite_number, no_control_characters

#: A number field of a service item: at most this size (the payload's money columns).
NUMBER_LIMIT = 10**12


def _choices(spec: dict) -> list[tuple[str, str]]:
    """A choice field's options: its code table's current codes (or a list of its own)."""
    if spec.get("code_table"):
        return choices_of(spec["code_table"])
    return [tuple(c) for c in spec.get("choices", [])]


class Present:
    """Required: a value was given. Unlike WTForms' DataRequired, a number 0 is a value; unlike
    InputRequired, it also checks a stored payload (no raw input)."""

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        value = field.data
        if value is None or (isinstance(value, str) and not value.strip()):
            field.errors[:] = []
            raise StopValidation(self.message)


def _date_range(label: str, low: dt.date | None, high: dt.date | None):
    def check(form, field):
        if field.data is None:
            return
        if (low and field.data < low) or (high and field.data > high):
            raise ValidationError(f"“{label}”应在{low or '不限'}至{high or '不限'}之间")
    return check


def _bound(value, parse):
    return None if value in (None, "") else parse(str(value))


def _field(spec: dict, strict: bool):
    label = spec.get("label") or spec["name"]
    required = strict and spec.get("required")
    checks = [Present(f"请填写“{label}”") if required else Optional()]
    for name in (TYPE_VALIDATORS.get(spec["type"]), spec.get("validator")):
        if name:
            checks.append(rule_validator(VALIDATORS[name]))
    kind, help_text = spec["type"], spec.get("help") or ""
    if kind == "number":
        low, high = _bound(spec.get("min"), Decimal), _bound(spec.get("max"), Decimal)
        if low is not None or high is not None:
            checks.append(NumberRange(low, high, message=(
                f"“{label}”应在{'不限' if low is None else low}至"
                f"{'不限' if high is None else high}之间")))
        return DecimalField(label, validators=[finite_number(NUMBER_LIMIT), *checks], places=2,
                            description=help_text)
    if kind == "date":
        low, high = (_bound(spec.get(k), dt.date.fromisoformat) for k in ("min", "max"))
        if low or high:
            checks.append(_date_range(label, low, high))
        return DateField(label, validators=[date_in_range(spec["name"]), *checks],
                         render_kw={"type": "date"}, description=help_text)
    if kind == "choice":
        choices = [("", "请选择")] + _choices(spec)
        return SelectField(label, choices=choices, validators=checks, validate_choice=True,
                           description=help_text)
    limit = spec.get("max_length") or 200
    checks.append(Length(max=limit, message=f"“{label}”不能超过{limit}个字符"))
    return StringField(label, validators=[no_control_characters, *checks],
                       description=help_text)


class ItemForm(FlaskForm):
    class Meta:
        locales = ["zh_CN", "zh"]


def form_for(item, *, strict: bool, formdata=None, data: dict | None = None,
             csrf: bool = True) -> FlaskForm:
    """The form of ``item``; ``strict`` enforces required fields (submit, not draft).

    ``csrf=False`` checks a stored payload rather than a posted form.
    """
    return _form_class(item, strict)(formdata=formdata, data=_from_payload(item, data or {}),
                                     meta={"csrf": csrf})


def _form_class(item, strict: bool) -> type[FlaskForm]:
    return type(f"ItemForm_{item.code}", (ItemForm,), {
        spec["name"]: _field(spec, strict) for spec in item.form_fields or []})


def _from_payload(item, payload: dict) -> dict:
    out = dict(payload)
    for spec in item.form_fields or []:
        value = payload.get(spec["name"])
        if spec["type"] == "date" and isinstance(value, str) and value:
            out[spec["name"]] = dt.date.fromisoformat(value)
        if spec["type"] == "number" and value not in (None, ""):
            out[spec["name"]] = Decimal(str(value))
    return out


def payload_of(item, form) -> dict:
    """The form's values as JSON-safe payload, keyed by field name."""
    payload = {}
    for spec in item.form_fields or []:
        value = form[spec["name"]].data
        if isinstance(value, (dt.date, Decimal)):
            value = str(value)
        payload[spec["name"]] = value if value is not None else ""
    return payload


def resolve_units(item, formdata):
    """The posted form with each 工作单位 chosen by name (the search offers names) given as
    that registered unit's credit code; a credit code typed in stays as typed."""
    from models.lookups import unit_code_of

    if formdata is None:
        return None
    names = [s["name"] for s in item.form_fields or [] if s["type"] == "unit"]
    if not any(formdata.get(n) for n in names):
        return formdata
    formdata = formdata.copy()
    for name in names:
        value = (formdata.get(name) or "").strip()
        try:
            validate_uscc(value)
        except InvalidValue:
            formdata[name] = unit_code_of(value) or value
    return formdata


def units_by_name(item, data: dict) -> dict:
    """A payload as its form shows it: each unit's credit code as the unit's name."""
    from models.lookups import unit_name_of

    shown_data = dict(data)
    for spec in item.form_fields or []:
        if spec["type"] == "unit" and shown_data.get(spec["name"]):
            shown_data[spec["name"]] = unit_name_of(shown_data[spec["name"]]) or \
                shown_data[spec["name"]]
    return shown_data


def labelled_payload(item, payload: dict, actor) -> list[tuple[str, str]]:
    """(label, shown value) pairs for display, choices shown by their label; ID numbers and
    phones as ``actor`` may see them (rules.masking.shown: masked for agents, auditors and
    for ``None``, a printed sheet)."""
    rows = []
    for spec in item.form_fields or []:
        value = payload.get(spec["name"], "")
        if spec["type"] == "choice":
            labels = labels_of(spec["code_table"]) if spec.get("code_table") else \
                dict(tuple(c) for c in spec.get("choices", []))
            value = labels.get(value, value)
        elif spec["type"] in MASKED_TYPES and value:
            value = shown(actor, value)
        elif spec["type"] == "unit" and value:
            from models.lookups import unit_name_of

            # A unit's credit code in full for staff and the unit's managers; masked for the
            # filer who found it by name (the search shows it masked), agents and prints.
            name = unit_name_of(value)
            code = shown(actor, value) if actor is not None and \
                actor.kind != AccountKind.INDIVIDUAL else mask(value)
            value = f"{name}（{code}）" if name else code
        rows.append((spec.get("label") or spec["name"], value))
    return rows


def row_checker(spec):
    """A checker of import rows by the item's own form (built once for the whole file):
    ``check(values) -> (reasons, payload as a filing holds)``."""
    from werkzeug.datastructures import MultiDict

    form_class = _form_class(spec, strict=True)

    def check(values: dict) -> tuple[list[str], dict]:
        form = form_class(formdata=MultiDict(
            {k: "" if v is None else str(v) for k, v in values.items()}), meta={"csrf": False})
        if not form.validate():
            return [f"{form[name].label.text}：{errors[0]}"
                    for name, errors in form.errors.items()], {}
        return [], payload_of(spec, form)
    return check


#: Field types printed masked (the manuals' 公示表 and prints show 3*****20, 1*****01).
MASKED_TYPES = frozenset({"id_no", "person", "phone"})


def printed_payload(item, payload: dict) -> list[tuple[str, str]]:
    """``labelled_payload`` for a printed sheet: ID numbers and phones masked for everyone."""
    return labelled_payload(item, payload, None)
