"""Helpers shared by the hand-written WTForms forms of every console."""
from __future__ import annotations

from flask import flash
from wtforms.validators import ValidationError

from rules.identity import InvalidValue, conversion_notice, validate_resident_id


def rule(check):
    """A WTForms validator running a rules/ validator and keeping its normalised value."""
    def validator(form, field):
        if field.data in (None, ""):
            return
        typed = field.data
        try:
            field.data = check(field.data)
        except InvalidValue as error:
            raise ValidationError(str(error)) from None
        if check is validate_resident_id and (notice := conversion_notice(typed, field.data)):
            flash(f"{field.label.text}：{notice}", "info")
    return validator


def flash_form_errors(form) -> None:
    """Every field error as a flash message, prefixed with the field's label."""
    for field in form:
        for error in field.errors:
            flash(f"{field.label.text}：{error}", "error")
