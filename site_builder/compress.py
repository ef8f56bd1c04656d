"""Precompressed copies of a built site's text files, written beside them: ``<file>.gz`` and ``<file>.br``.

WhiteNoise (``serve.py``) and nginx's ``gzip_static``/``brotli_static`` (``deploy/nginx-site.conf``) send
the smaller one a browser accepts, with ``Content-Encoding``; the browser gets the same bytes back, so a
downloaded CSV is still the CSV. Nothing is compressed per request.

Which files: text (``SUFFIXES``) of at least ``MIN_SIZE`` bytes, outside ``SKIPPED`` (receipts, posters,
a village's own data files), and only an encoding that saves at least 5 %; the tens of thousands of
village pages (``GZIP_ONLY``) get a ``.gz`` alone. Material's fingerprinted assets (the same bytes in
every build of one Material version, and cached by browsers for a year) are packed hardest: gzip 9 and
Brotli 11. The rest changes with the data and gets gzip ``GZIP_LEVEL`` and Brotli ``BROTLI_QUALITY``
(within 1 % of the smallest, at a third of the time). Never a time stamp: the siblings depend on a
file's bytes alone, so a file unchanged since the previous release takes that release's siblings (hard
links), and an incremental build equals a full one byte for byte.

A village's pages are packed by the worker that writes them (``write_with_siblings``), while the bytes
are at hand; this pass finds their siblings there and does the rest.
"""
from __future__ import annotations

import gzip
import os
import re
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import brotli

from .workers import in_workers

SUFFIXES = frozenset({".html", ".css", ".js", ".json", ".jsonl", ".csv", ".xml", ".svg", ".txt"})
# Folders left as they are: the receipts (PDF and images), and what each village has besides its pages —
# its poster (printed, rarely fetched) and its open data (downloads of a few KB): 40 % of the files of a
# 14,000-village site and a 4 KB block each on disk, for little gain on the wire (issue 18).
SKIPPED = frozenset({"files", "poster", "data/village"})
GZIP_ONLY = ("village/",)  # 25,824 pages at 14,000 villages: a .br beside each was 200 MB (issue 18)
MIN_SIZE = 1024
GZIP_LEVEL = 6
BROTLI_QUALITY = 5
ENCODINGS = (".gz", ".br")

# Material's assets whose name holds a digest of their content (bundle.a5f9d56c.min.js,
# workers/search.a7633da7.min.js, main.57a0d79d.min.css): a new version gets a new name, so they may be
# cached for good (serve.py, deploy/nginx-site.conf). theme.no_cdn edits the bundle in place and keeps
# its name: a change to what it rewrites reaches browsers with the next Material version only.
FINGERPRINTED = re.compile(r"(?:^|/)assets/(?:javascripts|stylesheets)/(?:[\w-]+/)*[\w-]+\.[0-9a-f]{8}\.min\.(?:js|css)$")

# What else the siblings' bytes depend on: a previous release compressed with other libraries is not reused.
KEY = (f"python {sys.version_info[0]}.{sys.version_info[1]}, zlib {zlib.ZLIB_RUNTIME_VERSION}, brotli {brotli.__version__}, "
       f"gzip {GZIP_LEVEL}, brotli {BROTLI_QUALITY}, gzip only {','.join(GZIP_ONLY)}")


@dataclass
class Compressed:
    written: int = 0      # siblings compressed in this build
    linked: int = 0       # siblings hard-linked from the previous release
    bytes_in: int = 0     # size of the files read to be compressed in this build


def compress_site(out: Path, previous: Path | None = None, workers: int = 1) -> Compressed:
    """Write the siblings of every file of ``out`` that gains from one, in ``workers`` processes. With
    ``previous`` (a release compressed by this same code and ``KEY``), a file with the same bytes there
    takes its siblings."""
    files = list(_candidates(out))
    count = max(1, min(workers, len(files) // 100))
    if count == 1:
        return _compress_files(out, previous, files)
    parts = [files[i::count] for i in range(count)]  # interleaved: the large region files are side by side
    done = in_workers(lambda part: _compress_files(out, previous, part), parts, before=_nothing, meanwhile=_nothing)
    return Compressed(*(sum(getattr(d, name) for d in done) for name in ("written", "linked", "bytes_in")))


def encodings(relative: str) -> tuple[str, ...]:
    """The siblings a file at ``relative`` is due, if it pays."""
    return (".gz",) if relative.startswith(GZIP_ONLY) else ENCODINGS


def write_with_siblings(out: Path, relative: str, text: str) -> int:
    """Write a text file of the site with the siblings it is due; returns the number of files."""
    path, data = out / relative, text.encode("utf-8")
    try:
        path.write_bytes(data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 1 + _siblings(path, relative, data, encodings(relative))


def _siblings(path: Path, relative: str, data: bytes, suffixes) -> int:
    written = 0
    if len(data) >= MIN_SIZE:
        for suffix in suffixes:
            packed = _compress(data, suffix, FINGERPRINTED.search(relative) is not None)
            if len(packed) <= 0.95 * len(data):
                Path(f"{path}{suffix}").write_bytes(packed)
                written += 1
    return written


def _compress_files(out: Path, previous: Path | None, files: list[str]) -> Compressed:
    done = Compressed()
    for relative in files:
        path = out / relative
        missing = [suffix for suffix in encodings(relative)  # sitemap.xml.gz: the build's own
                   if not os.path.lexists(f"{path}{suffix}")]
        if previous is not None and _unchanged(path, previous / relative):
            for suffix in list(missing):
                try:
                    os.link(f"{previous / relative}{suffix}", f"{path}{suffix}")
                except FileNotFoundError:  # it did not pay then (or was never made): decided again below
                    continue
                missing.remove(suffix)
                done.linked += 1
        if missing:
            data = path.read_bytes()
            done.bytes_in += len(data)
            done.written += _siblings(path, relative, data, missing)
    return done


def _nothing() -> None:
    pass


def _candidates(out: Path):
    """Relative paths (with ``/``) of the files worth compressing, in a stable order."""
    for root, folders, names in os.walk(out):
        folder = os.path.relpath(root, out)
        prefix = "" if folder == "." else folder.replace(os.sep, "/") + "/"
        folders[:] = sorted(f for f in folders if prefix + f not in SKIPPED)
        for name in sorted(names):
            if os.path.splitext(name)[1] in SUFFIXES:
                path = os.path.join(root, name)
                if not os.path.islink(path) and os.path.getsize(path) >= MIN_SIZE:
                    yield prefix + name


def _unchanged(path: Path, before: Path) -> bool:
    """The same file (hard-linked from the previous release) or the same bytes."""
    try:
        old, new = os.stat(before), os.stat(path)
    except FileNotFoundError:
        return False
    if old.st_ino == new.st_ino and old.st_dev == new.st_dev:
        return True
    return old.st_size == new.st_size and before.read_bytes() == path.read_bytes()


def _compress(data: bytes, suffix: str, fingerprinted: bool) -> bytes:
    if suffix == ".gz":
        return gzip.compress(data, compresslevel=9 if fingerprinted else GZIP_LEVEL, mtime=0)
    return brotli.compress(data, quality=11 if fingerprinted else BROTLI_QUALITY)
