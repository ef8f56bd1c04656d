"""Uploaded files (receipts, scans, photos): type and size checked, stored once by content hash."""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import io
import os
import time
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from . import audit
from .errors import AttachmentError, storage_full
from .jurisdiction import require_write
from .models import Attachment

MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
)
# A programme document (实施方案, 总结评估报告) may also be Word or Excel: an Office Open XML package, told
# apart by the part it must hold; one with macros is refused.
OFFICE = (("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
          ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"))
MAX_UNPACKED = 100 * 1024 * 1024


def sniff(data: bytes, filename: str, *, documents: bool = False) -> str:
    """The file's real type from its first bytes; the name's extension must agree. ``documents`` also
    lets Word and Excel files through (``office_type``)."""
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
    if documents:
        if data.startswith(b"PK\x03\x04"):
            return office_type(data, filename)
        raise AttachmentError(f"文件「{filename}」不是 PDF、Word（.docx）、Excel（.xlsx）、PNG 或 JPEG")
    raise AttachmentError(f"文件「{filename}」不是 PDF、PNG 或 JPEG")


def office_type(data: bytes, filename: str) -> str:
    """A .docx or .xlsx checked as a package: a readable zip with its main part, no macros, not a zip bomb."""
    suffix = Path(filename).suffix.lower()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise AttachmentError(f"文件「{filename}」已损坏，无法作为 Word 或 Excel 文件打开") from exc
    if unpacked > MAX_UNPACKED:
        raise AttachmentError(f"文件「{filename}」解压后过大")
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise AttachmentError(f"文件「{filename}」含有宏，请另存为不含宏的 .docx 或 .xlsx 后上传")
    for part, mime, expected in OFFICE:
        if part in names and "[Content_Types].xml" in names:
            if suffix != expected:
                raise AttachmentError(f"文件「{filename}」的扩展名与内容（{expected}）不符")
            return mime
    raise AttachmentError(f"文件「{filename}」不是 Word（.docx）或 Excel（.xlsx）文件")


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
          fund_spending=None, milestone=None, training=None, actor=None, published: bool = True,
          documents: bool = False) -> Attachment:
    """Write the bytes (once per content, images encoded again) and record the attachment."""
    require_write(actor)
    mime = sniff(data, filename, documents=documents)
    if mime.startswith("image/"):
        data = clean_image(data, mime)
    digest = hashlib.sha256(data).hexdigest()
    put(root, digest, data)
    attachment = Attachment.create(sha256=digest, filename=Path(filename).name[:256], mime=mime, size=len(data),
                                   expenditure=expenditure, disclosure=disclosure, fund_spending=fund_spending,
                                   milestone=milestone, training=training, published=published,
                                   user=getattr(actor, "id", None))
    audit.record(actor, "create", attachment, summary=f"上传附件 {attachment.filename}")
    return attachment


def read(root: os.PathLike, attachment: Attachment) -> bytes:
    return path_for(root, attachment.sha256).read_bytes()


# -- the folder as a whole: writes that survive a crash, and a sweep of what a crash left -----------------

GRACE = dt.timedelta(hours=1)  # longer than any transaction: a file younger than this may be about to be referenced


def put(root: os.PathLike, digest: str, data: bytes) -> Path:
    """Write the file named by its hash once, durably (``.part``, fsync, rename), before the row that
    refers to it commits: a crash leaves at worst a file nobody refers to, which ``sweep`` removes. A file
    already there is touched, so a sweep does not take it while this upload's transaction is open."""
    target = path_for(root, digest)
    if target.exists():
        os.utime(target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:  # unbuffered: on a full disk nothing is left to flush at close
            rest = memoryview(data)
            while rest:
                rest = rest[os.write(fd, rest):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        full = storage_full(exc)
        if full is None:
            raise
        raise full from exc
    return target


def file_sha256(path: os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stored_files(root: os.PathLike) -> Iterator[Path]:
    """Every file under ``root`` (stored ones and unfinished ``.part`` ones), never the lock."""
    root = Path(root)
    if not root.exists():
        return
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        yield from sorted(p for p in folder.iterdir() if p.is_file())


@contextmanager
def locked(root: os.PathLike, *, shared: bool) -> Iterator[None]:
    """A backup holds the folder shared while it copies; a sweep holds it alone while it deletes."""
    Path(root).mkdir(parents=True, exist_ok=True)
    with open(Path(root) / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def sweep(root: os.PathLike, *, grace: dt.timedelta = GRACE) -> list[Path]:
    """Delete the files no attachment row refers to (what a killed upload or import left) and the
    unfinished ``.part`` files, once older than ``grace``; returns what was deleted."""
    cutoff = time.time() - grace.total_seconds()
    removed = []
    with locked(root, shared=False):
        referenced = {sha for (sha,) in Attachment.select(Attachment.sha256).distinct().tuples()}
        for path in stored_files(root):
            if path.name in referenced or path.stat().st_mtime > cutoff:
                continue
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
