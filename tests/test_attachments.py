import hashlib
import io

import pytest
from PIL import Image

from db import attachments
from db.errors import AttachmentError
from db.models import Attachment

from .factories import PDF


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


PNG, JPEG = image("PNG"), image("JPEG")


@pytest.mark.parametrize("data, name, mime", [(PDF, "收据.pdf", "application/pdf"), (PNG, "发票.PNG", "image/png"),
                                              (JPEG, "现场.jpeg", "image/jpeg")])
def test_stores_by_content_hash(db, tmp_path, data, name, mime):
    stored = attachments.store(tmp_path, data, name)
    kept = attachments.read(tmp_path, stored)
    assert (stored.mime, stored.size, stored.filename) == (mime, len(kept), name)
    assert stored.sha256 == hashlib.sha256(kept).hexdigest()
    assert attachments.path_for(tmp_path, stored.sha256).parent.name == stored.sha256[:2]
    if mime == "application/pdf":
        assert kept == data
    else:  # encoded again: the same picture
        assert Image.open(io.BytesIO(kept)).size == (24, 16)


@pytest.mark.parametrize("picture, fmt", [(JPEG, "image/jpeg"), (PNG, "image/png")])
def test_a_picture_with_a_pdf_or_a_page_hidden_behind_it_is_stored_as_the_picture_only(db, tmp_path, picture, fmt):
    """Polyglots (issue 12, item 16): a valid image with a PDF or HTML appended is accepted as what it is."""
    hostile = picture + PDF + b"<html><script>alert(1)</script></html>"
    stored = attachments.store(tmp_path, hostile, "发票." + fmt.split("/")[1])
    kept = attachments.read(tmp_path, stored)
    assert b"%PDF" not in kept and b"<script" not in kept and stored.mime == fmt


@pytest.mark.parametrize("data, name", [(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "假.png"),
                                        (b"\xff\xd8\xff\xe0" + b"\x00" * 32, "假.jpg")])
def test_a_file_that_only_starts_like_an_image_is_refused(db, tmp_path, data, name):
    with pytest.raises(AttachmentError, match="图片无法识别"):
        attachments.store(tmp_path, data, name)
    assert Attachment.select().count() == 0


def test_same_content_is_written_once(db, tmp_path):
    a = attachments.store(tmp_path, PDF, "a.pdf")
    b = attachments.store(tmp_path, PDF, "b.pdf")
    assert a.sha256 == b.sha256 and a.id != b.id
    assert len(list(tmp_path.rglob("*"))) == 2  # one folder, one file


@pytest.mark.parametrize(
    "data, name, reason",
    [
        (b"", "空.pdf", "为空"),
        (b"<html><script>alert(1)</script>", "收据.pdf", "不是 PDF"),
        (b"MZ\x90\x00", "收据.exe", "不是 PDF"),
        (PNG, "收据.pdf", "扩展名"),
        (PDF, "收据.png", "扩展名"),
        (b"GIF89a", "动图.gif", "不是 PDF"),
    ],
)
def test_refuses_wrong_types(db, tmp_path, data, name, reason):
    with pytest.raises(AttachmentError, match=reason):
        attachments.store(tmp_path, data, name)
    assert Attachment.select().count() == 0
    assert list(tmp_path.iterdir()) == []


def test_refuses_oversize(db, tmp_path, monkeypatch):
    monkeypatch.setattr(attachments, "MAX_BYTES", 100)
    with pytest.raises(AttachmentError, match="超过"):
        attachments.store(tmp_path, PDF + b" " * 100, "大.pdf")
