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
    allowed = {m["code"]: m for m in application.spec.materials}
    if material not in allowed:
        raise BadUpload("该事项没有这种材料")
    if not data:
        raise BadUpload("文件为空")
    limit_mb = min(allowed[material].get("max_mb") or 10, MAX_ATTACHMENT_BYTES >> 20)
    if len(data) > limit_mb << 20:
        raise BadUpload(f"文件不能超过{limit_mb}MB")
    content_type = sniff_material(data[:16])
    if content_type is None:
        raise BadUpload("只接受PDF、JPG、PNG文件（按文件内容判断，不按扩展名）")
    types = allowed[material].get("types") or ["pdf", "jpg", "png"]
    if EXTENSIONS[content_type].lstrip(".") not in types:
        raise BadUpload(f"“{allowed[material]['label']}”只接受"
                        f"{'、'.join(t.upper() for t in types)}文件（按文件内容判断）")
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
    return [m["label"] for m in application.spec.materials
            if m.get("required") and not m.get("auto") and m["code"] not in have]
