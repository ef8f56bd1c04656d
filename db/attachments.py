"""Uploaded files (receipts, scans, photos): type and size checked, stored once by content hash."""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path

from PIL import Image

from . import audit
from .errors import AttachmentError
from .jurisdiction import require_write
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


MAX_PIXELS = 50_000_000  # a receipt photo; a decompression bomb is far larger


def clean_image(data: bytes, mime: str) -> bytes:
    """An image decoded and encoded again (Pillow): what is stored is pixels only — nothing appended
    to it (a PDF or a page hidden after the picture) and no metadata (a phone's GPS position)."""
    fmt = {"image/png": "PNG", "image/jpeg": "JPEG"}[mime]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
                if probe.width * probe.height > MAX_PIXELS:
                    raise AttachmentError(f"图片像素过多（{probe.width}×{probe.height}），请缩小后上传")
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                image.load()
                if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
                    image = image.convert("RGB")
                out = io.BytesIO()
                image.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    except AttachmentError:
        raise
    except Image.DecompressionBombError as exc:
        raise AttachmentError("图片像素过多，请缩小后上传") from exc
    except Exception as exc:  # Pillow raises many kinds for a broken or hostile file
        raise AttachmentError(f"图片无法识别或已损坏（{type(exc).__name__}），请重新拍照或另存后上传") from exc
    return out.getvalue()


def path_for(root: os.PathLike, sha256: str) -> Path:
    return Path(root) / sha256[:2] / sha256


def store(root: os.PathLike, data: bytes, filename: str, *, expenditure=None, disclosure=None,
          fund_spending=None, actor=None, published: bool = True) -> Attachment:
    """Write the bytes (once per content, images encoded again) and record the attachment."""
    require_write(actor)
    mime = sniff(data, filename)
    if mime != "application/pdf":
        data = clean_image(data, mime)
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
