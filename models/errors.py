"""One family of refusals: every operation that says no raises a Refusal carrying a Chinese message."""
from __future__ import annotations


class Refusal(Exception):
    """An operation refused; ``message`` is shown to the user as it is."""

    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
