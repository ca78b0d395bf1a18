"""Filing receipts (办件回执): what was filed, recorded with a verification code like a
参保证明, so the QR code on the printout opens a page that confirms it."""
from __future__ import annotations

from models.certificate import Certificate, issue
from models.service import Application
from rules.workflow import State

#: A receipt acknowledges a filing the office has received: not a draft, not withdrawn.
NOT_RECEIVED = frozenset({State.DRAFT, State.AWAITING_UNIT, State.WITHDRAWN})


class NoReceipt(Exception):
    """The filing has not been received, so there is nothing to acknowledge."""

    message = "办件提交后才能打印回执"


def issue_receipt(application: Application, facts: list[tuple[str, str]],
                  submitted_at: str) -> Certificate:
    """Record the receipt of ``application`` (not committed); ``facts`` as the filer sees
    them (label, shown value), ``submitted_at`` in office time."""
    if application.state in NOT_RECEIVED or application.submitted_at is None:
        raise NoReceipt(NoReceipt.message)
    return issue("receipt", {
        "application_id": application.id, "revision": application.revision,
        "item": application.item.name, "unit": application.unit.name if application.unit else "",
        "uscc": application.unit.uscc if application.unit else "",
        "submitted_at": submitted_at, "facts": [[label, str(value)] for label, value in facts],
    }, unit_id=application.unit_id, person_id=application.subject_person_id)
