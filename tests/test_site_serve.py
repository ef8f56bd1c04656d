"""site_builder/serve.py: the bundled site server (waitress + WhiteNoise)."""
from __future__ import annotations


def test_the_site_server_sends_receipts_as_downloads(tmp_path):
    """Issue 12, item 16: a published receipt is never run as a page of the public site."""
    from werkzeug.test import Client

    from site_builder.serve import site_app

    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "ab.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (tmp_path / "index.html").write_text("<p>首页</p>", encoding="utf-8")
    client = Client(site_app(tmp_path))
    receipt = client.get("/files/ab.pdf")
    receipt.close()
    assert receipt.status_code == 200 and receipt.headers["Content-Disposition"] == "attachment"
    assert receipt.headers["Content-Security-Policy"].startswith("sandbox")
    assert receipt.headers["X-Content-Type-Options"] == "nosniff"
    home = client.get("/")
    home.close()
    assert "Content-Disposition" not in home.headers and home.headers["X-Content-Type-Options"] == "nosniff"
