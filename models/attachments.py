"""Storing uploaded materials outside the static files, content-addressed by SHA-256."""
from __future__ import annotations

import hashlib
from pathlib import Path

from models.base import db
from models.errors import Refusal
from models.service import Application, Attachment
from rules.files import EXTENSIONS, MAX_ATTACHMENT_BYTES, sniff_material


class BadUpload(Refusal):
    """The upload is refused; the message says why in Chinese."""


def store_attachment(application: Application, material: str, file_name: str, data: bytes,
                     uploader_id: int | None, upload_dir: str) -> Attachment:
    """Check and store one material file for ``application``; returns the new Attachment."""
    allowed = {m["code"] for m in application.item.materials or []}
    if material not in allowed:
        raise BadUpload("该事项没有这种材料")
    if not data:
        raise BadUpload("文件为空")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise BadUpload("文件不能超过10MB")
    content_type = sniff_material(data[:16])
    if content_type is None:
        raise BadUpload("只接受PDF、JPG、PNG文件（按文件内容判断，不按扩展名）")
    digest = hashlib.sha256(data).hexdigest()
    path = Path(upload_dir) / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    name = Path(file_name or "file").name[:150]
    if not name.lower().endswith(EXTENSIONS[content_type]):
        name += EXTENSIONS[content_type]
    attachment = Attachment(application_id=application.id, material=material, file_name=name,
                            content_type=content_type, size=len(data), sha256=digest,
                            stored_path=str(path.relative_to(upload_dir)),
                            uploaded_by_id=uploader_id)
    db.session.add(attachment)
    return attachment


def missing_materials(application: Application) -> list[str]:
    """Labels of required materials not uploaded yet (automatic ones count as present)."""
    have = {a.material for a in application.attachments}
    return [m["label"] for m in application.item.materials or []
            if m.get("required") and not m.get("auto") and m["code"] not in have]
