"""Build the public site: snapshot → pages, posters and open data → one Material for MkDocs site.

1. **Theme pass.** The hand-written pages in ``content/`` are copied into a staging folder with the
   data dictionary, the news index and one *shell* per kind of generated page (``shells.py``), and the
   root ``mkdocs.yml`` builds them into the output (MkDocs empties it first).
2. **Pages.** From one consistent snapshot, every area and village page is rendered as a raw HTML body
   and stamped into its shell; village work (reading the heavy rows, privacy shaping, page, poster,
   open data) is split across worker processes that read the same snapshot.
3. **Whole-site files.** The region's open data is the villages' files joined in order; the search
   index is Material's own indexer run over each generated page; the sitemap lists every page.

``naive=True`` skips the shells and gives MkDocs every page as Markdown: the same output, slowly
(the tests compare the two).
"""
from __future__ import annotations

import gzip
import json
import logging
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.utils import get_build_date
from mkdocs.utils.meta import get_data

from db.database import database, is_postgres, open_database
from db.errors import XfjyError

from . import gifts, opendata, shells, snapshot
from . import history as site_history
from .pages import Page, Site, settlement
from .processes import die_with_parent

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
CONFIG = ROOT / "mkdocs.yml"
CHUNK = 200


class BuildError(XfjyError):
    pass


@dataclass
class BuildResult:
    pages: int = 0
    files: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    head: dict = field(default_factory=dict)  # the public history's head (site_builder.history)
    rendered: int = 0    # villages rendered (the rest were linked from the previous build)
    manifest: dict = field(default_factory=dict)


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


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def build(out: os.PathLike, *, base_url: str = "", attachments: os.PathLike | None = None,
          content: os.PathLike = CONTENT, config_file: os.PathLike = CONFIG, workers: int = 1,
          naive: bool = False, previous: os.PathLike | None = None, previous_manifest: dict | None = None,
          area: str | None = None) -> BuildResult:
    """Build the whole site into ``out`` (emptied first); raises ``BuildError`` on failure.

    ``workers > 1`` reads the database from several processes and needs committed data: on SQLite
    they read an online backup taken at the start, on PostgreSQL an exported snapshot.

    ``previous`` (a finished build) with its ``previous_manifest`` (``BuildResult.manifest``) makes the
    build incremental: villages whose data digest is unchanged are linked from it, not rendered again.
    The output is the same either way."""
    started = time.perf_counter()
    out, content = Path(out).resolve(), Path(content)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".xfjy-stage-", dir=out.parent))
    builder = _Builder(out, stage, base_url, Path(attachments) if attachments else None, content, Path(config_file),
                       workers, naive)
    if previous is not None and previous_manifest:
        builder.previous, builder.previous_manifest = Path(previous), previous_manifest
    builder.area = area
    try:
        builder.run()
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    builder.result.seconds = time.perf_counter() - started
    return builder.result


class _Builder:
    def __init__(self, out, stage, base_url, attachments, content, config_file, workers, naive):
        self.out, self.stage, self.base_url, self.attachments = out, stage, base_url, attachments
        self.content, self.config_file, self.workers, self.naive = content, config_file, workers, naive
        self.docs = stage / "docs"
        self.result = BuildResult()
        self.news = news_items(content)
        self.clock = time.perf_counter()
        self.previous, self.previous_manifest = None, {}
        self.area = None

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.result.timings[name] = round(now - self.clock, 3)
        self.clock = now

    def run(self) -> None:
        shutil.copytree(self.content, self.docs)
        with _frozen(self.workers, self.stage) as source, snapshot.read(self.area) as snap:
            source.export()
            self.lap("snapshot")
            site = Site(snap, self.base_url)
            _write(self.docs / "data" / "index.md", site.data_page())
            if not (self.content / "news" / "index.md").exists():
                _write(self.docs / "news" / "index.md", site.news_index(self.news))
            _teach_jieba(site.place_names())
            if self.naive:
                self._naive(site, snap)
            else:
                self._stamped(site, snap, source)
            if not self.result.head:
                self._history(snap)
        _no_cdn(self.out)
        self.result.pages = sum(1 for _ in self.out.rglob("index.html"))
        self.lap("finish")

    # -- the fast way ---------------------------------------------------------------------------------

    def _stamped(self, site: Site, snap, source) -> None:
        index_md = self.docs / "index.md"
        intro = index_md.read_text(encoding="utf-8") if index_md.exists() else "# 首页\n"
        _write(index_md, intro.rstrip("\n") + f"\n\n{shells.BODY}\n")
        for name, path in shells.SHELLS.items():
            title = "各地公示" if name == "areas" else shells.TITLE
            _write(self.docs / path, shells.shell_markdown(title=title))
        self.result.warnings = _mkdocs(self.docs, self.out, self.base_url, self.config_file)
        self.lap("theme")
        village_shell = shells.Shell(_take(self.out / "village" / shells.CODE))
        area_shell = shells.Shell(_take(self.out / "area" / shells.CODE))
        areas_shell = shells.Shell((self.out / "area" / "index.html").read_text(encoding="utf-8"))
        home = shells.HomeShell((self.out / "index.html").read_text(encoding="utf-8"))

        stamped: list[Page] = []
        areas = site.areas_index()
        _write(self.out / "area" / "index.html", areas_shell.stamp(areas))
        stamped.append(areas)
        for page in site.area_pages():
            _write(self.out / page.url / "index.html", area_shell.stamp(page, page.url.split("/")[1]))
            stamped.append(page)
        _write(self.out / "index.html", home.stamp(site.home(self.news)))
        self.lap("areas")

        entries = [e for page in stamped for e in _search_entries([page])]
        theme = _theme_fingerprint(self.docs, self.base_url)
        digests = _digests(snap)
        previous = self.previous_manifest.get("villages", {}) \
            if self.previous_manifest.get("theme") == theme else {}
        kept = {code for code, digest in digests.items() if previous.get(code, [None])[0] == digest}
        changed = [v for v in snap.villages if v.code not in kept]
        self.lap("digests")
        records = {}
        slices = _slices(changed, self.workers)
        job = _Job(self.out, self.stage, village_shell, site, self.attachments)
        if len(slices) > 1:
            context = multiprocessing.get_context("fork")
            global _JOB
            _JOB = (job, source, slices)
            with context.Pool(len(slices), initializer=die_with_parent) as pool:
                pending = pool.map_async(_work_in_child, range(len(slices)))
                self._history(snap)  # in this process while the workers render
                outcomes = pending.get()
        else:
            outcomes = [job.villages(slices[0])] if slices else []
        for outcome in outcomes:
            records.update(outcome)
        self.result.rendered = len(changed)
        records.update(_link_kept(self.previous, self.out, kept, previous))
        self.lap("villages")
        for village in snap.villages:
            entries += records[village.code]["entries"]
            self.result.files += records[village.code]["files"]
        spooled = {code: record["json"] for code, record in records.items() if "json" in record}
        files, positions = _region_files(self.out, snap, spooled, self.previous, previous, kept)
        self.result.files += files
        _write_search_index(self.out, entries, drop={f"village/{shells.CODE}/", f"area/{shells.CODE}/", "area/"})
        _write_sitemap(self.out, [p.url for p in stamped] + [f"village/{v.code}/" for v in snap.villages])
        self.result.manifest = {"theme": theme, "villages": {
            code: [digests[code], records[code]["receipts"], records[code]["entries"], code in kept, positions[code]]
            for code in digests}}
        self.lap("assemble")

    def _history(self, snap) -> None:
        """The public history and the gift lookup: whole-site files, written while workers render."""
        self.result.head = site_history.write(self.out, snap.taken_at, self.previous)
        self.result.files += gifts.write(self.out, snap)
        self.result.timings["history"] = round(time.perf_counter() - self.clock, 3)

    # -- the plain way (reference) ---------------------------------------------------------------------

    def _naive(self, site: Site, snap) -> None:
        index_md = self.docs / "index.md"
        intro = index_md.read_text(encoding="utf-8") if index_md.exists() else "# 首页\n"
        _write(index_md, intro.rstrip("\n") + "\n\n" + site.home(self.news) + "\n")
        pages = [site.areas_index(), *site.area_pages()]
        extra = self.stage / "extra"
        job = _Job(extra, self.stage, None, site, self.attachments)
        spooled = {}
        for start in range(0, len(snap.villages), CHUNK):
            chunk = snap.villages[start:start + CHUNK]
            for village, details, files, json_rows, receipts in job.render(chunk):
                pages.append(site.village(village, details))
                spooled[village.code] = json_rows
                self.result.files += files + len(receipts)
        for page in pages:
            _write(self.docs / page.source, shells.page_markdown(page))
        self.result.warnings = _mkdocs(self.docs, self.out, self.base_url, self.config_file)
        for name in ("poster", "files", "data/village"):
            if (extra / name).exists():
                (self.out / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(extra / name, self.out / name)
        self.result.files += _region_files(self.out, snap, spooled)[0]


# -- villages, in this process or in workers ---------------------------------------------------------------

@dataclass
class _Job:
    out: Path
    stage: Path
    shell: shells.Shell | None
    site: Site
    attachments: Path | None

    def render(self, villages):
        """Per village: details, the files written for it (poster, open data), where its JSON rows
        were spooled, and its receipts."""
        spool = opendata.Spool(self.stage / f"json-{os.getpid()}.bin")
        try:
            for start in range(0, len(villages), CHUNK):
                chunk = villages[start:start + CHUNK]
                details = snapshot.shape(chunk, snapshot.fetch(chunk))
                for village in chunk:
                    d = details[village.id]
                    files = _write(self.out / "poster" / f"{village.code}.html", self.site.poster(village, d))
                    rows = opendata.village_rows(village, self.site.where[village.id], d)
                    summary = opendata.village_summary(village, self.site.where[village.id], d, self.site.snapshot.on,
                                                       settlement)
                    written, spooled = opendata.write_village(self.out / "data" / "village" / village.code, rows,
                                                              spool, summary)
                    receipts = _copy_receipts(d, self.attachments, self.out / "files")
                    yield village, d, files + written, spooled, receipts
        finally:
            spool.close()

    def villages(self, villages) -> dict[str, dict]:
        """Render and stamp these villages; per village code: its search entries, files, spooled JSON
        rows and receipts."""
        records = {}
        for village, details, files, spooled, receipts in self.render(villages):
            page = self.site.village(village, details)
            _write(self.out / page.url / "index.html", self.shell.stamp(page, village.code))
            records[village.code] = {"entries": _search_entries([page]), "files": files + 1 + len(receipts),
                                     "receipts": receipts, "json": spooled}
        return records


_JOB = None


def _work_in_child(index: int):
    """A worker process: its own connection to the same snapshot, then its share of the villages."""
    job, source, slices = _JOB
    source.attach()
    return job.villages(slices[index])


def _digests(snap) -> dict[str, str]:
    by_id = snapshot.fingerprints(snap)
    return {v.code: by_id[v.id] for v in snap.villages}


def _link_kept(previous: Path | None, out: Path, kept: set[str], manifest: dict) -> dict[str, dict]:
    """Hard-link an unchanged village's files from the previous build (its page, poster, data, receipts)."""
    records = {}
    (out / "poster").mkdir(parents=True, exist_ok=True)
    (out / "data" / "village").mkdir(parents=True, exist_ok=True)
    for code in sorted(kept):
        _, receipts, entries = manifest[code][:3]
        os.mkdir(out / "village" / code)
        os.mkdir(out / "data" / "village" / code)
        files = 0
        for relative in (f"village/{code}/index.html", f"poster/{code}.html",
                         *(f"data/village/{code}/{name}.csv" for name in opendata.TABLES),
                         f"data/village/{code}/summary.json", *(f"files/{name}" for name in receipts)):
            try:
                os.link(previous / relative, out / relative)
            except FileExistsError:  # a receipt two villages share
                continue
            except FileNotFoundError:
                (out / relative).parent.mkdir(parents=True, exist_ok=True)
                os.link(previous / relative, out / relative)
            files += 1
        records[code] = {"entries": entries, "files": files, "receipts": receipts}
    return records


_OUTPUT_CODE = ("site_builder", "db/public.py", "db/text.py", "db/money.py", "db/totals.py", "db/volunteers.py")


def _theme_fingerprint(docs: Path, base_url: str) -> str:
    """Everything besides a village's own data that its files depend on: the theme's sources, the code
    and templates that render it, the versions of MkDocs and Material, the address and the day."""
    import hashlib
    from importlib.metadata import version

    digest = hashlib.sha256(f"{base_url}|{get_build_date()}|{version('mkdocs')}|{version('mkdocs-material')}".encode())
    files = [(docs, p) for p in sorted(docs.rglob("*")) if p.is_file()]
    for name in _OUTPUT_CODE:
        path = ROOT / name
        code = sorted(p for p in path.rglob("*") if p.suffix in (".py", ".html", ".md")) if path.is_dir() else [path]
        files += [(ROOT, p) for p in code]
    for base, path in files:
        digest.update(str(path.relative_to(base)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _slices(items: list, count: int) -> list[list]:
    if not items:
        return []
    count = max(1, min(count, len(items)))
    size = -(-len(items) // count)
    return [items[i:i + size] for i in range(0, len(items), size)]


class _Source:
    """Where worker processes read the snapshot the parent reads."""

    def __init__(self, workers: int, url: str | None = None):
        self.slices = range(workers)
        self.url, self.snapshot_id = url, None

    def export(self) -> None:
        """Inside the parent's snapshot transaction: let the workers join it (PostgreSQL)."""
        if len(self.slices) > 1 and is_postgres():
            self.snapshot_id = database.execute_sql("SELECT pg_export_snapshot()").fetchone()[0]

    def attach(self) -> None:
        if self.url is None:
            return
        db = open_database(self.url)  # the inherited connection belongs to the parent: never touched here
        db.connect()
        if self.snapshot_id:
            db.execute_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            db.execute_sql("SET TRANSACTION SNAPSHOT %s", (self.snapshot_id,))


class _frozen:
    """One snapshot for all processes: SQLite is copied with the online backup API and everyone reads the
    copy; PostgreSQL exports the parent's snapshot. With one worker, nothing is needed."""

    def __init__(self, workers: int, stage: Path):
        self.workers, self.stage = workers, stage
        self.previous = None

    def __enter__(self) -> _Source:
        if self.workers <= 1:
            return _Source(1)
        if database.in_transaction():
            raise BuildError("多进程生成需要已提交的数据（当前连接有未提交的事务）")
        if is_postgres():
            return _Source(self.workers, _pg_url())
        copy = self.stage / "snapshot.sqlite3"
        target = _sqlite3().connect(copy)
        database.connection().backup(target)
        target.close()
        self.previous = database.obj
        url = f"sqlite:///{copy}"
        open_database(url).connect()
        return _Source(self.workers, url)

    def __exit__(self, *exc) -> None:
        if self.workers <= 1:
            return
        if self.previous is not None:
            database.close()
            database.initialize(self.previous)


def _sqlite3():
    import sqlite3

    return sqlite3


def _pg_url() -> str:
    from flask import current_app

    try:
        return current_app.config["DATABASE_URL"]
    except RuntimeError:
        return os.environ["DATABASE_URL"]


# -- whole-site files -------------------------------------------------------------------------------------

def _region_files(out: Path, snap, spooled: dict, previous: Path | None = None, manifest: dict | None = None,
                  kept: frozenset = frozenset()) -> tuple[int, dict]:
    """``data/region/*``: the villages' rows in page order, then the ledger entries of no village."""
    positions = {code: record[4] for code, record in (manifest or {}).items() if len(record) > 4}
    kept = frozenset(code for code in kept if code in positions)
    extra = {"ledger": [opendata.ledger_row(e) for e in snap.pool_entries]}
    where = opendata.join_region(out / "data" / "region", out / "data" / "village", [v.code for v in snap.villages],
                                 extra, spooled, previous / "data" / "region" if previous else None, positions, kept)
    return 2 * len(opendata.TABLES), where


_EXCLUDED = re.compile(r"<[a-z][a-z0-9]*\s[^>]*data-search-exclude")


def _search_entries(pages: list[Page]) -> list[dict]:
    """What Material's search plugin would index for these pages (its own code, run on their content).

    Generated bodies put everything after their first ``data-search-exclude`` element out of search,
    so only the part before it is parsed (the tests compare with Material indexing whole pages)."""
    from material.plugins.search.plugin import SearchIndex

    index = SearchIndex()
    for page in pages:
        meta = {"title": page.title, "description": page.description}
        cut = _EXCLUDED.search(page.body)
        content = page.body[:cut.start()] if cut else page.body
        index.add_entry_from_context(SimpleNamespace(content=content, toc=[], url=page.url, meta=meta,
                                                     title=page.title))
    return index.entries


def _write_search_index(out: Path, entries: list[dict], drop: set[str]) -> None:
    path = out / "search" / "search_index.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    kept = [e for e in data["docs"] if e["location"].split("#")[0] not in drop]
    data["docs"] = kept + entries
    path.write_text(json.dumps(data, separators=(",", ":"), default=str), encoding="utf-8")


def _write_sitemap(out: Path, urls: list[str]) -> None:
    """MkDocs' sitemap without the shells, with every stamped page in the same form."""
    path = out / "sitemap.xml"
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    blocks = text.split("<url>")
    head, items = blocks[0], [b for b in blocks[1:] if shells.CODE not in b]
    tail = items[-1].split("</url>", 1)[1] if items else "\n</urlset>"
    items = [b.split("</url>", 1)[0] + "</url>" for b in items]
    template = next((b for b in blocks[1:] if f"village/{shells.CODE}/" in b), None)
    if template is None:  # no site_url: MkDocs lists no pages
        return
    template = template.split("</url>", 1)[0] + "</url>"
    listed = {b.split("<loc>")[1].split("</loc>")[0] for b in items}
    for url in urls:
        block = template.replace(f"village/{shells.CODE}/", url)
        if block.split("<loc>")[1].split("</loc>")[0] not in listed:
            items.append(block)
    text = head + "".join("<url>" + b for b in items) + tail
    path.write_text(text, encoding="utf-8")
    with open(out / "sitemap.xml.gz", "wb") as raw, gzip.GzipFile(
            fileobj=raw, filename="sitemap.xml", mode="wb", mtime=_build_timestamp()) as compressed:
        compressed.write(text.encode("utf-8"))


def _build_timestamp() -> int:
    """Midnight (UTC) of the build date, so that two builds of one day write the same bytes."""
    import datetime as dt

    day = dt.datetime.strptime(get_build_date(), "%Y-%m-%d").replace(tzinfo=dt.UTC)
    return int(day.timestamp())


def _take(folder: Path) -> str:
    """Read a shell page and remove it from the output."""
    text = (folder / "index.html").read_text(encoding="utf-8")
    shutil.rmtree(folder)
    return text


def _copy_receipts(details, attachments: Path | None, target: Path) -> list[str]:
    """Link (or copy) the village's published receipts into ``files/``; returns their public names."""
    from db.attachments import path_for

    names = []
    receipts = [r for s in [*details.spending, *details.fund_spending] for r in s.receipts]
    receipts += [f for d in details.disclosures for f in d.files]
    for receipt in receipts:
        if attachments is None:
            raise BuildError("有公开的票据，但未配置附件目录（ATTACHMENTS_DIR）")
        source, dest = path_for(attachments, receipt.sha256), target / receipt.public_name
        names.append(receipt.public_name)
        if dest.exists():
            continue
        if not source.exists():
            raise BuildError(f"票据文件缺失：{receipt.filename}（{receipt.sha256[:12]}…）")
        target.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, dest)
        except FileExistsError:
            continue
        except OSError:
            shutil.copyfile(source, dest)
    return sorted(set(names))


def _write(path: Path, text: str) -> int:
    try:
        path.write_text(text, encoding="utf-8")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 1


def _teach_jieba(names: list[str]) -> None:
    """What Material's ``jieba_dict_user`` option does, without a file jieba never closes: every place
    name becomes one word, so a name typed whole into the search box (光明社区) is one term."""
    import jieba

    jieba.initialize()
    known = jieba.dt.FREQ
    for name in names:
        if known.get(name, 0) < 100_000:  # teaching a word twice would shift every other word's odds
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


def _mkdocs(docs: Path, out: Path, base_url: str, config_file: Path) -> list[str]:
    """One MkDocs build; any warning (a broken Markdown link, a bad page) fails it, like ``--strict``."""
    collect = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collect)
    try:
        config = load_config(config_file=str(config_file), docs_dir=str(docs), site_dir=str(out),
                             site_url=base_url or None)
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


__all__ = ["build", "BuildError", "BuildResult", "news_items", "default_workers", "get_build_date"]
