"""Build the public site: snapshot → Markdown pages + open data → one Material for MkDocs build.

The hand-written pages in ``content/`` are copied into a staging folder, the generated pages are
written beside them, and the root ``mkdocs.yml`` builds the lot. Files that need no theme (open data,
posters, receipts) are written straight into the output after MkDocs, which empties its folder first.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.utils.meta import get_data

from db.errors import XfjyError

from . import opendata, snapshot
from .pages import Site

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
CONFIG = ROOT / "mkdocs.yml"
CHUNK = 250
EXTRA_DIRS = ("data/region", "data/village", "poster", "files")


class BuildError(XfjyError):
    pass


@dataclass
class BuildResult:
    pages: int = 0
    files: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


@dataclass
class NewsItem:
    slug: str
    title: str
    date: object


def news_items(content: Path) -> list[NewsItem]:
    """信息简报 in ``content/news/``, newest first; each file has ``title`` and ``date`` front matter."""
    items = []
    for path in sorted((content / "news").glob("*.md")):
        if path.name == "index.md":
            continue
        _, meta = get_data(path.read_text(encoding="utf-8"))
        if "date" not in meta or "title" not in meta:
            raise BuildError(f"信息简报 {path.name} 缺少 title 或 date")
        items.append(NewsItem(path.stem, str(meta["title"]), meta["date"]))
    return sorted(items, key=lambda n: (n.date, n.slug), reverse=True)


def build(out: os.PathLike, *, base_url: str = "", attachments: os.PathLike | None = None,
          content: os.PathLike = CONTENT, config_file: os.PathLike = CONFIG) -> BuildResult:
    """Build the whole site into ``out`` (emptied first). Raises ``BuildError`` and leaves ``out`` unusable on failure."""
    started = time.perf_counter()
    out, content = Path(out).resolve(), Path(content)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".xfjy-stage-", dir=out.parent))
    try:
        docs, extra = stage / "docs", stage / "extra"
        shutil.copytree(content, docs)
        result = BuildResult()
        names: list[str] = []
        result.files += _generate(docs, extra, names, base_url, Path(attachments) if attachments else None, content)
        result.pages = sum(1 for _ in docs.rglob("*.md"))
        result.warnings = _mkdocs(docs, out, base_url, Path(config_file), names)
        _no_cdn(out)
        for name in EXTRA_DIRS:
            if (extra / name).exists():
                (out / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(extra / name, out / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    return result


def _generate(docs: Path, extra: Path, names: list[str], base_url: str, attachments: Path | None,
              content: Path) -> int:
    """Write every generated page into ``docs`` and every extra file into ``extra``; returns the extras count."""
    news = news_items(content)
    files = 0
    with snapshot.read() as snap:
        site = Site(snap, base_url)
        names.extend(site.place_names())
        intro = (content / "index.md").read_text(encoding="utf-8") if (content / "index.md").exists() else ""
        _write(docs / "index.md", site.home(intro, news))
        _write(docs / "area" / "index.md", site.areas_index())
        for code, text in site.area_pages():
            _write(docs / "area" / f"{code}.md", text)
        if not (content / "news" / "index.md").exists():
            _write(docs / "news" / "index.md", site.news_index(news))
        _write(docs / "data" / "index.md", site.data_page())
        region = opendata.RegionWriter(extra / "data" / "region")
        try:
            for start in range(0, len(snap.villages), CHUNK):
                chunk = snap.villages[start:start + CHUNK]
                details = snap.village_details(chunk)
                for village in chunk:
                    d = details[village.id]
                    _write(docs / "village" / f"{village.code}.md", site.village(village, d))
                    _write(extra / "poster" / f"{village.code}.html", site.poster(village))
                    rows = opendata.village_rows(village, site.where[village.id], d)
                    files += 1 + opendata.write_village(extra / "data" / "village" / village.code, rows)
                    region.add(rows)
                    files += _copy_receipts(d, attachments, extra / "files")
            region.add({"ledger": [opendata.ledger_row(e) for e in snap.pool_entries]})
        finally:
            files += region.close()
    return files


def _copy_receipts(details, attachments: Path | None, target: Path) -> int:
    from db.attachments import path_for

    copied = 0
    receipts = [r for s in details.spending for r in s.receipts] + [f for d in details.disclosures for f in d.files]
    for receipt in receipts:
        if attachments is None:
            raise BuildError("有公开的票据，但未配置附件目录（ATTACHMENTS_DIR）")
        source, dest = path_for(attachments, receipt.sha256), target / receipt.public_name
        if dest.exists():
            continue
        if not source.exists():
            raise BuildError(f"票据文件缺失：{receipt.filename}（{receipt.sha256[:12]}…）")
        target.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, dest)
        except OSError:
            shutil.copyfile(source, dest)
        copied += 1
    return copied


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _teach_jieba(names: list[str]) -> None:
    """The same as Material's ``jieba_dict_user`` option, without a file that jieba never closes."""
    import jieba

    for name in names:
        jieba.add_word(name, freq=100_000)


CDN_SCRIPTS = (
    # Material's bundle fetches these only for Mermaid diagrams (the site has none) and for browsers
    # without ResizeObserver (before Chrome 64); no address outside the site may remain in the output.
    "https://unpkg.com/mermaid@11/dist/mermaid.min.js",
    "https://unpkg.com/resize-observer-polyfill",
)


def _no_cdn(out: Path) -> None:
    for script in (out / "assets" / "javascripts").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        cleaned = text
        for address in CDN_SCRIPTS:
            cleaned = cleaned.replace(address, "data:text/javascript,")
        if cleaned != text:
            script.write_text(cleaned, encoding="utf-8")
    for source_map in (out / "assets").rglob("*.map"):
        source_map.unlink()


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _mkdocs(docs: Path, out: Path, base_url: str, config_file: Path, names: list[str]) -> list[str]:
    """One MkDocs build; any warning (a broken Markdown link, a bad page) fails it, like ``--strict``.

    Village and place names go into jieba's user dictionary, so that a name typed whole into the
    search box (光明社区) is one term of the index rather than two (光明 / 社区)."""
    collect = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collect)
    try:
        config = load_config(config_file=str(config_file), docs_dir=str(docs), site_dir=str(out),
                             site_url=base_url or None)
        _teach_jieba(names)
        config.plugins.on_startup(command="build", dirty=False)
        try:
            mkdocs_build(config)
        finally:
            config.plugins.on_shutdown()
    finally:
        logger.removeHandler(collect)
    if collect.messages:
        raise BuildError("网站生成出现问题：" + "；".join(collect.messages[:5]))
    return collect.messages
