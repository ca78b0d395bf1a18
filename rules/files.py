"""What an uploaded file really is, judged by its first bytes rather than its name."""
from __future__ import annotations

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

_SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
]
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


def sniff_material(head: bytes) -> str | None:
    """The content type of a PDF, PNG or JPEG file from its first bytes, else None."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None
