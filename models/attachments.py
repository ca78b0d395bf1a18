"""Uploaded materials: checked, content-addressed by SHA-256, kept in the file store."""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import BinaryIO

from models import storage
from models.base import db
from models.errors import Refusal
from models.service import Application, Attachment
from rules.files import EXTENSIONS, MAX_ATTACHMENT_BYTES, sniff_material


class BadUpload(Refusal):
    """The upload is refused; the message says why in Chinese."""


def store_attachment(application: Application, material: str, file_name: str,
                     stream: BinaryIO, uploader_id: int | None) -> Attachment:
    """Check and store one material file for ``application``; returns the new Attachment.

    The upload is read once, in chunks, into a spooled temporary file (memory up to 1 MiB,
    then disk) while it is hashed and measured; a file past the limit is refused as soon as
    the limit is crossed. It is then saved to the store (``models/storage.py``) under
    ``materials/<aa>/<sha256>`` unless the same content is already there."""
    allowed = {m["code"]: m for m in application.spec.materials}
    if material not in allowed:
        raise BadUpload("该事项没有这种材料")
    limit_mb = min(allowed[material].get("max_mb") or 10, MAX_ATTACHMENT_BYTES >> 20)
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool:
        digest, size, head = hashlib.sha256(), 0, b""
        while chunk := stream.read(storage.CHUNK):
            size += len(chunk)
            if size > limit_mb << 20:
                raise BadUpload(f"文件不能超过{limit_mb}MB")
            if len(head) < 16:
                head = (head + chunk)[:16]
            digest.update(chunk)
            spool.write(chunk)
        if not size:
            raise BadUpload("文件为空")
        content_type = sniff_material(head)
        if content_type is None:
            raise BadUpload("只接受PDF、JPG、PNG文件（按文件内容判断，不按扩展名）")
        types = allowed[material].get("types") or ["pdf", "jpg", "png"]
        if EXTENSIONS[content_type].lstrip(".") not in types:
            raise BadUpload(f"“{allowed[material]['label']}”只接受"
                            f"{'、'.join(t.upper() for t in types)}文件（按文件内容判断）")
        sha256 = digest.hexdigest()
        key = f"materials/{sha256[:2]}/{sha256}"
        if not storage.exists(key):
            spool.seek(0)
            storage.save(key, spool)
    name = Path(file_name or "file").name[:150]
    if not name.lower().endswith(EXTENSIONS[content_type]):
        name += EXTENSIONS[content_type]
    attachment = Attachment(application_id=application.id, material=material, file_name=name,
                            content_type=content_type, size=size, sha256=sha256,
                            stored_path=key, uploaded_by_id=uploader_id)
    db.session.add(attachment)
    return attachment


def send_attachment(attachment: Attachment, inline: bool = False):
    """The stored file of an attachment, streamed from the store. The caller has already
    checked the viewer's scope (``scoped_or_404``): nothing here decides who may read it."""
    return storage.send(attachment.stored_path, attachment.content_type, attachment.file_name,
                        as_attachment=not inline)


def missing_materials(application: Application) -> list[str]:
    """Labels of required materials not uploaded yet (automatic ones count as present)."""
    have = {a.material for a in application.attachments}
    return [m["label"] for m in application.spec.materials
            if m.get("required") and not m.get("auto") and m["code"] not in have]
