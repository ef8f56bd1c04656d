"""site_builder/compress.py: precompressed .gz and .br beside a built site's text files."""
from __future__ import annotations

import gzip
import os
import random

import brotli

from site_builder import compress

from .factories import file_tree

PAGE = ("<!doctype html><html><head><title>村社公示</title></head><body>" + "<p>土默特左旗 光明社区 互助基金 公示</p>" * 80
        + "</body></html>").encode()
BUNDLE = b"var material=function(){" + b"return document.querySelector('.md-search');" * 60 + b"};"
CHANGED = PAGE.replace("公示".encode(), "公开".encode())
CSV = ("\ufefftime,amount,donor\n" + "".join(f"2026-06-{d % 28 + 1:02d},{d * 100},爱心人士\n" for d in range(200))).encode()


def _site(root):
    """A small built site: pages, a fingerprinted asset, open data, a receipt, a small file, an image."""
    files = {
        "index.html": PAGE,
        "village/150121100001/index.html": PAGE.replace("光明".encode(), "红旗".encode()),
        "assets/javascripts/bundle.a5f9d56c.min.js": BUNDLE,
        "assets/stylesheets/main.57a0d79d.min.css": b".md-grid{max-width:61rem}" * 100,
        "search/search_index.json": b'{"docs":[' + b'{"location":"village/1/","title":"x"},' * 100 + b'{}]}',
        "data/region/donations.csv": CSV,
        "data/village/150121100001/summary.json": b'{"raised":1}',  # under 1 KB: not worth it
        "files/ab12.pdf": b"%PDF-1.4\n" + b"0 0 0 rg\n" * 500 + b"%%EOF\n",   # a receipt: never
        "files/cd34.html": PAGE,                                             # not even a text one
        "assets/images/favicon.png": bytes(random.Random(1).randrange(256) for _ in range(4000)),
        "sitemap.xml": b"<urlset>" + b"<url><loc>https://xfjy.example.org/</loc></url>" * 40 + b"</urlset>",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "sitemap.xml.gz").write_bytes(gzip.compress(files["sitemap.xml"], mtime=86400))  # MkDocs' own
    return files


def test_text_files_get_gz_and_br_siblings_that_decompress_to_the_same_bytes(tmp_path):
    files = _site(tmp_path)
    own_sitemap = (tmp_path / "sitemap.xml.gz").read_bytes()
    done = compress.compress_site(tmp_path)
    for name in ("index.html", "assets/javascripts/bundle.a5f9d56c.min.js",
                 "assets/stylesheets/main.57a0d79d.min.css", "search/search_index.json", "data/region/donations.csv"):
        packed_gz, packed_br = (tmp_path / f"{name}.gz").read_bytes(), (tmp_path / f"{name}.br").read_bytes()
        assert gzip.decompress(packed_gz) == files[name] and brotli.decompress(packed_br) == files[name], name
        assert len(packed_br) < len(files[name]) and len(packed_gz) < len(files[name])
    village = "village/150121100001/index.html"  # one of tens of thousands: a .gz alone
    assert gzip.decompress((tmp_path / f"{village}.gz").read_bytes()) == files[village]
    assert not (tmp_path / f"{village}.br").exists()
    assert gzip.decompress((tmp_path / "data/region/donations.csv.gz").read_bytes()).startswith("\ufeff".encode())
    tree = file_tree(tmp_path)
    assert [name for name in tree if name.startswith("files/") and name.endswith((".gz", ".br"))] == []
    for untouched in ("data/village/150121100001/summary.json", "assets/images/favicon.png"):
        assert not os.path.exists(tmp_path / f"{untouched}.gz") and not os.path.exists(tmp_path / f"{untouched}.br")
    assert (tmp_path / "sitemap.xml.gz").read_bytes() == own_sitemap, "the build's own .gz is kept"
    assert brotli.decompress((tmp_path / "sitemap.xml.br").read_bytes()) == files["sitemap.xml"]
    assert done.written == 2 * 5 + 1 + 1 and done.linked == 0
    assert (tmp_path / "index.html.gz").read_bytes()[4:8] == b"\0\0\0\0", "no time stamp: same bytes every build"


def test_an_unchanged_file_takes_the_previous_release_siblings_and_the_result_is_a_fresh_build(tmp_path):
    first, again, fresh = tmp_path / "first", tmp_path / "again", tmp_path / "fresh"
    for root in (first, again, fresh):
        root.mkdir()
        _site(root)
    compress.compress_site(first)
    os.unlink(again / "village/150121100001/index.html")
    os.link(first / "village/150121100001/index.html", again / "village/150121100001/index.html")  # a kept village
    for root in (again, fresh):
        (root / "index.html").write_bytes(CHANGED)  # changed since the first build
    done = compress.compress_site(again, previous=first)
    compress.compress_site(fresh)

    assert file_tree(again) == file_tree(fresh)
    for name in ("village/150121100001/index.html.gz", "assets/javascripts/bundle.a5f9d56c.min.js.gz",
                 "data/region/donations.csv.br"):  # linked page, rewritten but equal bytes
        assert os.stat(again / name).st_ino == os.stat(first / name).st_ino, name
    assert os.stat(again / "index.html.br").st_ino != os.stat(first / "index.html.br").st_ino
    assert brotli.decompress((again / "index.html.br").read_bytes()) == CHANGED
    assert done.written == 2 and done.linked == 2 * 4 + 1 + 1


def test_workers_write_what_one_process_writes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for root in (one, two):
        for n in range(250):
            (root / "village" / f"{n:03d}").mkdir(parents=True)
            (root / "village" / f"{n:03d}" / "index.html").write_bytes(PAGE + str(n).encode())
    compress.compress_site(one, workers=1)
    done = compress.compress_site(two, workers=2)
    assert done.written == 250
    assert file_tree(one) == file_tree(two)


def test_a_page_written_with_its_siblings_is_what_the_pass_would_write_and_is_not_packed_again(tmp_path):
    """A worker packs a village page as it writes it; the pass over the site then leaves it alone."""
    by_worker, by_pass = tmp_path / "worker", tmp_path / "pass"
    text = PAGE.decode()
    assert compress.write_with_siblings(by_worker, "village/150121100001/index.html", text) == 2
    assert compress.write_with_siblings(by_worker, "village/150121100001/2024/index.html", "<p>短</p>") == 1
    (by_pass / "village/150121100001/2024").mkdir(parents=True)
    (by_pass / "village/150121100001/index.html").write_bytes(PAGE)
    (by_pass / "village/150121100001/2024/index.html").write_bytes("<p>短</p>".encode())
    assert compress.compress_site(by_pass).written == 1
    assert file_tree(by_worker) == file_tree(by_pass)
    assert compress.compress_site(by_worker).written == 0


def test_fingerprinted_names():
    assert compress.FINGERPRINTED.search("assets/javascripts/bundle.a5f9d56c.min.js")
    assert compress.FINGERPRINTED.search("/assets/javascripts/workers/search.a7633da7.min.js")
    assert compress.FINGERPRINTED.search("/assets/stylesheets/palette.fb2fffe2.min.css")
    assert not compress.FINGERPRINTED.search("/assets/javascripts/lunr/min/lunr.zh.min.js")
    assert not compress.FINGERPRINTED.search("/assets/images/favicon.png")
    assert not compress.FINGERPRINTED.search("/data/gift/a5f.json")
