"""WTForms forms built from a service item's field definitions (the low-code part)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from rules.fields import TYPE_VALIDATORS, VALIDATORS
from rules.masking import mask
from views.forms import rule as rule_validator


def _field(spec: dict, strict: bool):
    label = spec.get("label") or spec["name"]
    required = strict and spec.get("required")
    checks = [DataRequired(f"请填写“{label}”") if required else Optional()]
    for name in (TYPE_VALIDATORS.get(spec["type"]), spec.get("validator")):
        if name:
            checks.append(rule_validator(VALIDATORS[name]))
    kind = spec["type"]
    if kind == "number":
        return DecimalField(label, validators=checks, places=2)
    if kind == "date":
        return DateField(label, validators=checks, render_kw={"type": "date"})
    if kind == "choice":
        choices = [("", "请选择")] + [tuple(c) for c in spec.get("choices", [])]
        return SelectField(label, choices=choices, validators=checks, validate_choice=True)
    checks.append(Length(max=200, message=f"“{label}”不能超过200个字符"))
    return StringField(label, validators=checks)


class ItemForm(FlaskForm):
    class Meta:
        locales = ["zh_CN", "zh"]


def form_for(item, *, strict: bool, formdata=None, data: dict | None = None,
             csrf: bool = True) -> FlaskForm:
    """The form of ``item``; ``strict`` enforces required fields (submit, not draft).

    ``csrf=False`` checks a stored payload rather than a posted form.
    """
    form_class = type(f"ItemForm_{item.code}", (ItemForm,), {
        spec["name"]: _field(spec, strict) for spec in item.form_fields or []})
    return form_class(formdata=formdata, data=_from_payload(item, data or {}),
                      meta={"csrf": csrf})


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


def labelled_payload(item, payload: dict) -> list[tuple[str, str]]:
    """(label, shown value) pairs for display, choices shown by their label."""
    rows = []
    for spec in item.form_fields or []:
        value = payload.get(spec["name"], "")
        if spec["type"] == "choice":
            value = dict(tuple(c) for c in spec.get("choices", [])).get(value, value)
        rows.append((spec.get("label") or spec["name"], value))
    return rows


#: Field types printed masked (the manuals' 公示表 and prints show 3*****20, 1*****01).
MASKED_TYPES = frozenset({"id_no", "person", "phone"})


def printed_payload(item, payload: dict) -> list[tuple[str, str]]:
    """``labelled_payload`` for a printed sheet: ID numbers and phones masked."""
    masked = {spec.get("label") or spec["name"] for spec in item.form_fields or []
              if spec["type"] in MASKED_TYPES}
    return [(label, mask(value) if label in masked and value else value)
            for label, value in labelled_payload(item, payload)]
