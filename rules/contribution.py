"""The contribution rule: base clamped to the city's bounds, times a rate per insurance kind."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from rules.codes import InsuranceKind

#: The city's contribution base bounds (缴费基数上下限), yuan per month.
BASE_LOWER = Decimal("4462.00")
BASE_UPPER = Decimal("24930.00")


@dataclass(frozen=True)
class Rate:
    unit: Decimal
    personal: Decimal


RATES: dict[InsuranceKind, Rate] = {
    InsuranceKind.PENSION: Rate(Decimal("0.16"), Decimal("0.08")),
    InsuranceKind.UNEMPLOYMENT: Rate(Decimal("0.005"), Decimal("0.005")),
    InsuranceKind.MEDICAL: Rate(Decimal("0.095"), Decimal("0.02")),
    InsuranceKind.INJURY: Rate(Decimal("0.004"), Decimal("0")),
    InsuranceKind.MATERNITY: Rate(Decimal("0.005"), Decimal("0")),
}

CENT = Decimal("0.01")


def contribution_base(wage: Decimal) -> Decimal:
    """The wage clamped between the city's lower and upper bounds."""
    return min(max(Decimal(wage), BASE_LOWER), BASE_UPPER)


def amounts(wage: Decimal, kind: InsuranceKind) -> tuple[Decimal, Decimal, Decimal]:
    """(base, unit part, personal part) for one person, one kind, one month."""
    base = contribution_base(wage)
    rate = RATES[InsuranceKind(kind)]
    return (base, (base * rate.unit).quantize(CENT, ROUND_HALF_UP),
            (base * rate.personal).quantize(CENT, ROUND_HALF_UP))
