"""The link check a publish runs on a built site (site_builder/check.py::broken_links), on small
hand-written sites in tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest

from site_builder.check import broken_links


def page(site: Path, path: str, body: str = "") -> Path:
    """Write ``site/path`` (a folder path gets ``index.html``) as a minimal HTML page."""
    target = site / path
    if path.endswith("/") or not path:
        target = target / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f'<!doctype html>\n<html lang="zh">\n<body>\n{body}\n</body>\n</html>\n', encoding="utf-8")
    return target


def asset(site: Path, path: str, text: str = "body{}") -> None:
    target = site / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


@pytest.fixture
def site(tmp_path) -> Path:
    root = tmp_path / "site"
    page(root, "", '<h1 id="top">首页</h1>')
    page(root, "village/150121100001/", '<h2 id="p12">项目</h2><section id="捐赠">捐赠</section>')
    page(root, "about.html", "<p>关于</p>")
    asset(root, "assets/x.css")
    return root


def test_a_clean_site_has_no_broken_links(site):
    page(site, "", '<a href="village/150121100001/">村</a> <a href="about.html">关于</a> <a href="#top">顶部</a> '
                   '<link rel="stylesheet" href="assets/x.css"> <a href="./">本页</a> '
                   '<h1 id="top">首页</h1>')
    page(site, "village/150121100001/", '<a href="../../">首页</a> <a href="../../assets/x.css">样式</a> '
                                        '<h2 id="p12">项目</h2>')
    assert broken_links(site) == []


def test_a_relative_link_to_a_missing_page_is_reported(site):
    page(site, "", '<a href="missing/">缺失</a> <a href="about.html">关于</a> <a href="nope.html">无</a>')
    assert sorted(broken_links(site)) == [("index.html", "missing/"), ("index.html", "nope.html")]


def test_a_link_from_a_nested_page_is_resolved_against_that_page(site):
    page(site, "village/150121100001/", '<a href="../150121100002/">邻村</a> <a href="../../about.html">关于</a>')
    assert broken_links(site) == [("village/150121100001/index.html", "../150121100002/")]


def test_a_directory_with_index_html_is_fine_without_it_is_reported(site):
    (site / "empty").mkdir()
    page(site, "", '<a href="village/150121100001/">有</a> <a href="village/150121100001">无斜杠</a> '
                   '<a href="empty/">空目录</a>')
    assert broken_links(site) == [("index.html", "empty/")]


def test_a_missing_anchor_is_reported_an_existing_id_is_fine(site):
    page(site, "", '<a href="village/150121100001/#nope">缺锚点</a> <a href="village/150121100001/#p12">项目</a> '
                   '<a href="#top">顶部</a> <a href="#bottom">底部</a> <h1 id="top">首页</h1>')
    assert sorted(broken_links(site)) == [("index.html", "#bottom"), ("index.html", "village/150121100001/#nope")]


def test_percent_encoded_anchors_and_paths_are_decoded(site):
    page(site, "项目/", "<p>中文目录</p>")
    page(site, "", '<a href="village/150121100001/#%E6%8D%90%E8%B5%A0">捐赠</a> '
                   '<a href="%E9%A1%B9%E7%9B%AE/">项目</a>')
    assert broken_links(site) == []


def test_query_strings_are_ignored_and_amp_entities_decoded(site):
    page(site, "", '<a href="about.html?x=1&amp;y=2">关于</a> <a href="village/150121100001/?q=1#p12">项目</a>')
    assert broken_links(site) == []


@pytest.mark.parametrize("link", [
    "https://example.org/missing/",
    "http://example.org/",
    "//cdn.example.org/x.js",
    "mailto:xfjy@example.org",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:void(0)",
    "tel:04711234567",
])
def test_external_links_are_ignored(site, link):
    page(site, "", f'<a href="{link}">外部</a> <img src="{link}">')
    assert broken_links(site) == []


def test_src_attributes_are_checked_too(site):
    page(site, "", '<img src="img/missing.png"> <script src="assets/x.css"></script>')
    assert broken_links(site) == [("index.html", "img/missing.png")]


def test_absolute_links_resolve_against_the_site_root_when_base_path_is_slash(site):
    page(site, "404.html", '<link href="/assets/x.css"> <a href="/">首页</a> <a href="/village/150121100001/#p12">村</a>'
                           ' <a href="/assets/missing.css">缺</a>')
    assert broken_links(site, "/") == [("404.html", "/assets/missing.css")]
    assert broken_links(site) == broken_links(site, "/")


@pytest.mark.parametrize("base_path", ["/xfjy/", "/xfjy", "xfjy/"])
def test_absolute_links_resolve_against_the_prefix_when_there_is_one(site, base_path):
    page(site, "404.html", '<link href="/xfjy/assets/x.css"> <a href="/xfjy/">首页</a> '
                           '<a href="/xfjy/village/150121100001/">村</a> <a href="/assets/x.css">无前缀</a> '
                           '<a href="/xfjy/assets/missing.css">缺</a>')
    assert sorted(broken_links(site, base_path)) == [("404.html", "/assets/x.css"),
                                                     ("404.html", "/xfjy/assets/missing.css")]


def test_under_slash_a_prefixed_link_is_looked_up_as_a_folder_of_the_site(site):
    page(site, "", '<a href="/xfjy/assets/x.css">样式</a>')
    assert broken_links(site, "/") == [("index.html", "/xfjy/assets/x.css")]


@pytest.mark.parametrize("link", ["../../etc/passwd", "../site-releases/index.html", "../", "/../../etc/passwd",
                                  "village/../../../etc/passwd"])
def test_a_link_escaping_the_site_is_reported(tmp_path, site, link):
    # Make the escaping targets exist, so that only "outside the site" can be the reason.
    page(tmp_path, "site-releases/")
    page(tmp_path, "")
    page(site, "", f'<a href="{link}">外</a>')
    assert broken_links(site) == [("index.html", link)]


def test_a_link_escaping_through_the_prefix_is_reported(tmp_path, site):
    page(tmp_path, "")
    page(site, "404.html", '<a href="/xfjy/../index.html">外</a>')
    assert broken_links(site, "/xfjy/") == [("404.html", "/xfjy/../index.html")]


def test_every_page_of_the_site_is_checked_and_named_relative_to_the_site(site):
    page(site, "a/b/c/", '<a href="../../../missing.html">缺</a>')
    page(site, "about.html", '<a href="gone/">缺</a>')
    assert sorted(broken_links(site)) == [("a/b/c/index.html", "../../../missing.html"), ("about.html", "gone/")]


def test_the_site_may_be_given_as_a_relative_path_or_through_a_symlink(tmp_path, site, monkeypatch):
    page(site, "", '<a href="missing/">缺</a>')
    link = tmp_path / "live"
    link.symlink_to(site)
    monkeypatch.chdir(tmp_path)
    assert broken_links(Path("site")) == broken_links(link) == [("index.html", "missing/")]


def test_two_workers_report_the_same_links_as_one(site):
    for n in range(1200):
        links = '<a href="../../">首页</a> <a href="../missing/">缺</a>' if n % 400 == 0 else '<a href="../../#top">顶</a>'
        page(site, f"village/15012110{n:04d}/", links)
    single = sorted(broken_links(site))
    assert len(single) == 3
    assert broken_links(site, workers=2) == single
