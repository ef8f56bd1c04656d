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


def _get(client, url: str, encoding: str | None = None):
    response = client.get(url, headers={"Accept-Encoding": encoding} if encoding else {})
    body = response.get_data()
    response.close()
    return response, body


def test_the_site_server_sends_the_precompressed_files(tmp_path):
    """Issue 14, item 4: Brotli or gzip to a browser that takes it, the same bytes once decoded; never for a receipt."""
    import gzip

    import brotli
    from werkzeug.test import Client

    from site_builder.compress import compress_site
    from site_builder.serve import site_app

    page = ("<p>土默特左旗 光明社区 互助基金公示</p>" * 200).encode()
    table = ("\ufefftime,amount\n" + "2026-06-01,100\n" * 300).encode()
    (tmp_path / "data" / "region").mkdir(parents=True)
    (tmp_path / "files").mkdir()
    (tmp_path / "index.html").write_bytes(page)
    (tmp_path / "data" / "region" / "donations.csv").write_bytes(table)
    (tmp_path / "files" / "ab.pdf").write_bytes(b"%PDF-1.4\n" + b"0 0 0 rg\n" * 500)
    compress_site(tmp_path)
    client = Client(site_app(tmp_path))

    plain, body = _get(client, "/")
    assert "Content-Encoding" not in plain.headers and body == page
    squeezed, body = _get(client, "/", "gzip, deflate, br, zstd")
    assert squeezed.headers["Content-Encoding"] == "br" and brotli.decompress(body) == page
    assert squeezed.headers["Vary"] == "Accept-Encoding" and int(squeezed.headers["Content-Length"]) == len(body) < len(page) / 5
    zipped, body = _get(client, "/", "gzip, deflate")  # what Chrome sends to an http:// address
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == page

    data, body = _get(client, "/data/region/donations.csv", "gzip, deflate, br")
    assert data.headers["Content-Encoding"] == "br" and "gzip" not in data.headers["Content-Type"]
    assert brotli.decompress(body) == table, "a downloaded CSV is still the CSV, BOM and all"
    assert _get(client, "/data/region/donations.csv")[1] == table

    receipt, body = _get(client, "/files/ab.pdf", "gzip, deflate, br")
    assert "Content-Encoding" not in receipt.headers and body.startswith(b"%PDF")
    assert receipt.headers["Content-Disposition"] == "attachment"


def test_fingerprinted_assets_are_cached_for_a_year_and_the_rest_for_five_minutes(tmp_path):
    from werkzeug.test import Client

    from site_builder.serve import site_app

    names = ["assets/javascripts/bundle.a5f9d56c.min.js", "assets/javascripts/workers/search.a7633da7.min.js",
             "assets/stylesheets/main.57a0d79d.min.css", "assets/javascripts/lunr/min/lunr.zh.min.js",
             "search/search_index.json", "index.html", "data/gift/a5f.json"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    client = Client(site_app(tmp_path))
    cache = {name: _get(client, "/" + name.removesuffix("index.html"))[0].headers["Cache-Control"] for name in names}
    year = "max-age=31536000, public, immutable"
    assert cache == {name: year if index < 3 else "max-age=300, public" for index, name in enumerate(names)}
