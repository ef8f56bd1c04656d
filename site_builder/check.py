"""Checks of a built site that a publish runs and the tests repeat: every internal link resolves."""
from __future__ import annotations

import multiprocessing
import os
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .processes import die_with_parent

LINK = re.compile(r'\s(?:href|src)="([^"]*)"')
ANCHOR = re.compile(r'\sid="([^"]+)"')


def broken_links(site: Path, base_path: str = "/", skip=None, workers: int = 1) -> list[tuple[str, str]]:
    """``(page, link)`` for each link to a file or anchor of the site that does not exist.

    Links are relative, except on the 404 page, whose links start with the site's ``base_path``.
    ``skip(page)`` leaves out pages checked before (an unchanged village page, linked from the
    release it was checked in; its links point only at its own files and at pages rebuilt each time).

    Paths are resolved as strings against one listing of the site: at 100,000 files, asking the
    file system about every link costs more than the rest of a publish."""
    site = Path(site).resolve()
    base_path = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    files = set()
    pages = []
    for root, _, names in os.walk(site):
        folder = os.path.relpath(root, site)
        folder = "" if folder == "." else folder.replace(os.sep, "/") + "/"
        for name in names:
            files.add(folder + name)
            if name.endswith(".html"):
                pages.append(folder + name)
    anchors: dict[str, frozenset[str]] = {}

    def target_of(page: str, path: str) -> str | None:
        if path.startswith("/"):
            if not path.startswith(base_path):
                return None
            path = path[len(base_path):]
            joined = posixpath.normpath(path) if path else "."
        else:
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
        if joined == "." or joined.startswith("../") or joined == "..":
            return "index.html" if joined == "." else None
        if joined in files:
            return joined
        return joined + "/index.html" if joined + "/index.html" in files else None

    def check(pages: list[str]) -> list[tuple[str, str]]:
        broken = []
        for page in pages:
            broken += links_of(page)
        return broken

    def links_of(page: str) -> list[tuple[str, str]]:
        broken = []
        text = (site / page).read_text(encoding="utf-8")
        for link in set(LINK.findall(text)):
            parts = urlsplit(link.replace("&amp;", "&"))
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:", "javascript:")):
                continue
            target = target_of(page, unquote(parts.path))
            if target is None or target == "index.html" and target not in files:
                broken.append((page, link))
            elif parts.fragment and target.endswith(".html"):
                if target not in anchors:
                    anchors[target] = frozenset(ANCHOR.findall((site / target).read_text(encoding="utf-8")))
                if unquote(parts.fragment) not in anchors[target]:
                    broken.append((page, link))
        return broken

    pages = sorted(p for p in pages if skip is None or not skip(site / p))
    if workers <= 1 or len(pages) < 1000:
        return check(pages)
    global _CHECK
    _CHECK = check
    with multiprocessing.get_context("fork").Pool(workers, initializer=die_with_parent) as pool:
        parts = pool.map(_check_in_child, [pages[i::workers] for i in range(workers)])
    return sorted(item for part in parts for item in part)


_CHECK = None


def _check_in_child(pages: list[str]) -> list[tuple[str, str]]:
    return _CHECK(pages)
