"""Checks of a built site that a publish runs and the tests repeat: every internal link resolves."""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK = re.compile(r'\s(?:href|src)="([^"]*)"')
ANCHOR = re.compile(r'\sid="([^"]+)"')


def broken_links(site: Path, base_path: str = "/", skip=None) -> list[tuple[str, str]]:
    """``(page, link)`` for each link to a file or anchor of the site that does not exist.

    Links are relative, except on the 404 page, whose links start with the site's ``base_path``.
    ``skip(page)`` leaves out pages checked before (an unchanged village page, linked from the
    release it was checked in; its links point only at its own files and at pages rebuilt each time)."""
    site = Path(site).resolve()
    base_path = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"

    @cache
    def anchors(path: Path) -> frozenset[str]:
        return frozenset(ANCHOR.findall(path.read_text(encoding="utf-8")))

    broken = []
    for page in sorted(site.rglob("*.html")):
        if skip is not None and skip(page):
            continue
        text = page.read_text(encoding="utf-8")
        for link in set(LINK.findall(text)):
            parts = urlsplit(link.replace("&amp;", "&"))
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:", "javascript:")):
                continue
            path = unquote(parts.path)
            if path.startswith("/"):
                if not path.startswith(base_path):
                    broken.append((str(page.relative_to(site)), link))
                    continue
                target = (site / path[len(base_path):]).resolve()
            else:
                target = (page.parent / path).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(site) or not target.is_file():
                broken.append((str(page.relative_to(site)), link))
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in anchors(target):
                broken.append((str(page.relative_to(site)), link))
    return broken
