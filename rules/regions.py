"""Staff region limits: a role limited to a region code (or prefix) serves only that region."""
from __future__ import annotations

from collections.abc import Iterable


def within_regions(regions: Iterable[str] | None, region_code: str | None) -> bool:
    """True if ``region_code`` lies in one of ``regions``; ``None`` means no limit.

    Several limited roles give the union of their regions, never no limit.
    """
    if regions is None:
        return True
    code = region_code or ""
    return any(code.startswith(region) for region in regions if region)


def person_within_regions(regions: Iterable[str] | None,
                          unit_region_codes: Iterable[str | None]) -> bool:
    """True if a person whose units lie in ``unit_region_codes`` is served by ``regions``.

    A person lies in a region when one of his units (enrollments) does. A person with no
    unit lies in no region: only staff without a region limit (``None``) serve him.
    """
    if regions is None:
        return True
    regions = list(regions)
    return any(within_regions(regions, code) for code in unit_region_codes)
