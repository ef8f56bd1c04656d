"""Uploaded files (receipts, scans, photos): type and size checked, stored once by content hash."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from . import audit
from .errors import AttachmentError
from .models import Attachment

MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
)


def sniff(data: bytes, filename: str) -> str:
    """The file's real type from its first bytes; the name's extension must agree."""
    if not data:
        raise AttachmentError(f"文件「{filename}」为空")
    if len(data) > MAX_BYTES:
        raise AttachmentError(f"文件「{filename}」超过 {MAX_BYTES // 1024 // 1024} MB")
    suffix = Path(filename).suffix.lower()
    for magic, mime, suffixes in SIGNATURES:
        if data.startswith(magic):
            if suffix not in suffixes:
                raise AttachmentError(f"文件「{filename}」的扩展名与内容（{mime}）不符")
            return mime
    raise AttachmentError(f"文件「{filename}」不是 PDF、PNG 或 JPEG")


def path_for(root: os.PathLike, sha256: str) -> Path:
    return Path(root) / sha256[:2] / sha256


def store(root: os.PathLike, data: bytes, filename: str, *, expenditure=None, disclosure=None,
          fund_spending=None, actor=None, published: bool = True) -> Attachment:
    """Write the bytes (once per content) and record the attachment."""
    mime = sniff(data, filename)
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(root, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, target)
    attachment = Attachment.create(sha256=digest, filename=Path(filename).name[:256], mime=mime, size=len(data),
                                   expenditure=expenditure, disclosure=disclosure, fund_spending=fund_spending,
                                   published=published,
                                   user=getattr(actor, "id", None))
    audit.record(actor, "create", attachment, summary=f"上传附件 {attachment.filename}")
    return attachment


def read(root: os.PathLike, attachment: Attachment) -> bytes:
    return path_for(root, attachment.sha256).read_bytes()
