import hashlib

import pytest

from db import attachments
from db.errors import AttachmentError
from db.models import Attachment

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.mark.parametrize("data, name, mime", [(PDF, "收据.pdf", "application/pdf"), (PNG, "发票.PNG", "image/png"),
                                              (JPEG, "现场.jpeg", "image/jpeg")])
def test_stores_by_content_hash(db, tmp_path, data, name, mime):
    stored = attachments.store(tmp_path, data, name)
    assert (stored.mime, stored.size, stored.filename) == (mime, len(data), name)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert attachments.read(tmp_path, stored) == data
    assert attachments.path_for(tmp_path, stored.sha256).parent.name == stored.sha256[:2]


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
