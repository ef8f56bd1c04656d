"""Serve the published site on a LAN (e.g. from the county office) with WhiteNoise under waitress.

The site folder is a symlink that each publish swaps, so files are looked up per request
(``autorefresh``) instead of once at start-up. A production server can as well point nginx at it
(``deploy/nginx-site.conf`` sends the same headers).

Each text file's precompressed ``.br``/``.gz`` (``compress.py``) goes to a browser that accepts it.
Material's fingerprinted assets are cached for a year (``immutable``: a new version has a new name);
everything else for five minutes, so a publish reaches readers soon.
"""
from __future__ import annotations

import os
from pathlib import Path

from whitenoise import WhiteNoise

from .compress import FINGERPRINTED

MAX_AGE = 300                 # seconds: pages, data, the search index
IMMUTABLE = 365 * 24 * 3600   # seconds: fingerprinted assets


class _SiteFiles(WhiteNoise):
    FOREVER = IMMUTABLE  # WhiteNoise's own is ten years


def site_app(site: os.PathLike):
    site = Path(site).absolute()

    def not_found(environ, start_response):
        page = site / "404.html"
        body = page.read_bytes() if page.is_file() else "公示网站尚未发布。".encode()
        start_response("404 Not Found", [("Content-Type", "text/html; charset=utf-8"),
                                         ("Content-Length", str(len(body)))])
        return [body]

    return _SiteFiles(not_found, root=str(site), autorefresh=True, index_file=True, max_age=MAX_AGE,
                      immutable_file_test=_fingerprinted, add_headers_function=_receipt_headers)


def _fingerprinted(path: str, url: str) -> bool:
    return FINGERPRINTED.search(url) is not None


def _receipt_headers(headers, path: str, url: str) -> None:
    """Receipts and scans under ``files/`` are downloaded, never run as a page (an nginx in front must
    send the same headers for ``/files/``: README)."""
    headers["X-Content-Type-Options"] = "nosniff"
    if url.startswith("/files/"):
        headers["Content-Disposition"] = "attachment"
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
