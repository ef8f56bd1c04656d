"""Build the public site: snapshot → pages, posters and open data → one Material for MkDocs site.

1. **Theme pass** (``theme.py``). The hand-written pages in ``content/`` are copied into a staging
   folder with the data dictionary, the news index and one *shell* per kind of generated page
   (``shells.py``), and the root ``mkdocs.yml`` builds them into the output (MkDocs empties it first).
2. **Pages.** From one consistent snapshot (``db.snapshot``), every area and village page is rendered
   as a raw HTML body and stamped into its shell; village work (reading the heavy rows, page, poster,
   open data: ``villages.py``) is split across worker processes that read the same snapshot
   (``workers.py``).
3. **Whole-site files.** The region's open data is the villages' files joined in order; the search
   index is Material's own indexer run over each generated page (``search.py``); the sitemap lists
   every page (``sitemap.py``).
4. **Precompression** (``compress.py``): ``.gz`` and ``.br`` beside every text file where they pay; an
   unchanged file takes the previous release's.

``naive=True`` skips the shells and gives MkDocs every page as Markdown: the same output, slowly
(the tests compare the two).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from db import snapshot
from db.published import Snapshot

from . import compress, gifts, opendata, search, shells, sitemap, theme
from . import history as site_history
from .manifest import BuiltVillage, Manifest, digests
from .news import news_items
from .output import write
from .pages import PROGRESS, Page, Site
from .theme import CONFIG, CONTENT
from .villages import VillageFiles, VillageRecord, link_files, link_kept
from .workers import in_workers, share


@dataclass
class BuildResult:
    pages: int = 0
    files: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    head: dict = field(default_factory=dict)  # the public history's head (site_builder.history)
    rendered: int = 0    # villages rendered (the rest were linked from the previous build)
    compressed: int = 0  # precompressed .gz/.br files (compress.py), written or linked
    manifest: Manifest | None = None  # what the build was made from; None for a naive build


def build(out: os.PathLike, *, base_url: str = "", attachments: os.PathLike | None = None,
          content: os.PathLike = CONTENT, config_file: os.PathLike = CONFIG, workers: int = 1,
          naive: bool = False, previous: os.PathLike | None = None, previous_manifest: Manifest | None = None,
          area: str | None = None, progress: Callable[[str], None] | None = None,
          sealed_from: os.PathLike | None = None) -> BuildResult:
    """Build the whole site into ``out`` (emptied first); raises ``errors.BuildError`` on failure.

    ``workers > 1`` reads the database from several processes and needs committed data: on SQLite
    they read an online backup taken at the start, on PostgreSQL an exported snapshot.

    ``previous`` (a finished build) with its ``previous_manifest`` (``BuildResult.manifest``) makes the
    build incremental: villages whose data digest is unchanged are linked from it, not rendered again.
    The output is the same either way.

    ``sealed_from`` (any finished release, ``previous`` by default) lends its sealed public history files
    to a full build too: they are linked when they still end in the stored hash (``history.write``).

    ``progress(step)`` is called as each step ends, with the step's name (``BuildResult.timings``)."""
    started = time.perf_counter()
    out, content = Path(out).resolve(), Path(content)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".xfjy-stage-", dir=out.parent))
    incremental = previous is not None and previous_manifest is not None
    builder = _Builder(out=out, stage=stage, base_url=base_url, attachments=Path(attachments) if attachments else None,
                       content=content, config_file=Path(config_file), workers=workers, naive=naive, area=area,
                       previous=Path(previous) if incremental else None,
                       previous_manifest=previous_manifest if incremental else None, progress=progress,
                       sealed_from=Path(sealed_from) if sealed_from else Path(previous) if incremental else None)
    try:
        builder.run()
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    builder.result.seconds = time.perf_counter() - started
    return builder.result


@dataclass
class _Builder:
    out: Path
    stage: Path
    base_url: str
    attachments: Path | None
    content: Path
    config_file: Path
    workers: int
    naive: bool
    area: str | None
    previous: Path | None
    previous_manifest: Manifest | None
    progress: Callable[[str], None] | None = None
    sealed_from: Path | None = None
    same_data: frozenset[str] = frozenset()  # villages whose data digest is the previous build's
    result: BuildResult = field(default_factory=BuildResult)
    siblings_from: Path | None = None  # the previous release, when its precompressed files can be reused
    clock: float = field(default_factory=time.perf_counter)

    def __post_init__(self):
        self.docs = self.stage / "docs"
        self.news = news_items(self.content)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.result.timings[name] = round(now - self.clock, 3)
        self.clock = now
        if self.progress is not None:
            self.progress(name)

    def run(self) -> None:
        shutil.copytree(self.content, self.docs)
        with snapshot.shared(self.workers, self.stage) as shared, snapshot.read(self.area) as snap:
            shared.export()
            self.lap("snapshot")
            site = Site(snap, self.base_url)
            for path, text in site.markdown_pages(self.news).items():
                if not (self.content / path).exists():
                    write(self.docs / path, text)
            search.teach_jieba(site.place_names())
            if self.naive:
                self._naive(site, snap)
            else:
                self._stamped(site, snap, shared)
            if not self.result.head:
                self._history(snap)
        theme.no_cdn(self.out)
        self.result.pages = sum(1 for _ in self.out.rglob("index.html"))
        self.lap("finish")
        done = compress.compress_site(self.out, self.siblings_from, self.workers)
        self.result.compressed = done.written + done.linked
        self.lap("compress")

    # -- the fast way ---------------------------------------------------------------------------------

    def _stamped(self, site: Site, snap: Snapshot, shared: snapshot.Shared) -> None:
        themed = theme.themed(self.docs, self.out, self.base_url, self.config_file)
        self.lap("theme")
        stamped: list[Page] = []
        areas = site.areas_index()
        write(self.out / "area" / "index.html", themed.areas.stamp(areas))
        stamped.append(areas)
        for page in site.area_pages():
            write(self.out / page.url / "index.html", themed.area.stamp(page, page.code))
            stamped.append(page)
        year_urls = []  # the 年度报告 pages: in the sitemap, not in search
        for page in site.area_year_pages():
            write(self.out / page.url / "index.html", themed.area_year.stamp(page, page.code, page.year))
            year_urls.append(page.url)
        write(self.out / "index.html", themed.home.stamp(site.home(self.news)))
        self._progress(site, snap)
        self.lap("areas")

        entries = [e for page in stamped for e in search.entries([page])]
        fingerprint = theme.fingerprint(self.docs, self.base_url)
        data = digests(snap)
        same_theme = self.previous_manifest is not None and self.previous_manifest.theme == fingerprint
        previous = self.previous_manifest.villages if same_theme else {}
        kept = {code for code, digest in data.items() if code in previous and previous[code].digest == digest}
        if same_theme and self.previous_manifest.compression == compress.KEY:
            self.siblings_from = self.previous
        changed = [v for v in snap.villages if v.code not in kept]
        if self.previous_manifest is not None:  # a village's gifts follow its data, whatever the theme
            built = self.previous_manifest.villages
            self.same_data = frozenset(code for code, digest in data.items() if code in built and built[code].digest == digest)
        self.lap("digests")
        records: dict[str, VillageRecord] = {}
        parts = share(changed, self.workers)
        job = VillageFiles(self.out, self.stage, themed.village, site, self.attachments, themed.village_year)
        if len(parts) > 1:
            outcomes = in_workers(job.stamp, parts, before=shared.join,
                                  meanwhile=lambda: self._history(snap))  # in this process while the workers render
        else:
            outcomes = [job.stamp(parts[0])] if parts else []
        for outcome in outcomes:
            records.update(outcome)
        self.result.rendered = len(changed)
        village_years = {v.code: [f"village/{v.code}/{year}/" for year in site.years_of(v.code)] for v in snap.villages}
        records.update(link_kept(self.previous, self.out, kept, previous, village_years))
        self.lap("villages")
        for village in snap.villages:
            entries += records[village.code].entries
            self.result.files += records[village.code].files
        positions = {code: v.positions for code, v in previous.items() if v.positions is not None}
        if self.siblings_from is None:  # packed region files of another zlib: not copied from
            positions = {}
        files, where = opendata.write_region(self.out, [v.code for v in snap.villages], snap.pool_entries,
                                             self.previous, positions, kept, site.area_year_rows())
        self.result.files += files + len(year_urls)
        search.write_index(self.out, entries, drop={f"village/{shells.CODE}/", f"area/{shells.CODE}/", "area/"})
        sitemap.write(self.out, [p.url for p in stamped] + year_urls
                      + [url for v in snap.villages for url in (f"village/{v.code}/", *village_years[v.code])])
        self.result.manifest = Manifest(fingerprint, {
            code: BuiltVillage(data[code], records[code].receipts, records[code].entries, code in kept, where[code])
            for code in data}, compress.KEY)
        self.lap("assemble")

    def _history(self, snap: Snapshot) -> None:
        """The public history and the gift lookup: whole-site files, written while workers render."""
        self.result.head = site_history.write(self.out, snap.taken_at, self.sealed_from)
        self.result.files += gifts.write(self.out, snap, self.previous, self.same_data)
        self.result.timings["history"] = round(time.perf_counter() - self.clock, 3)

    def _progress(self, site: Site, snap: Snapshot) -> None:
        """关于工程's 实施步骤 section, its public documents and ``data/programme``: put in after the theme pass,
        so that a step's progress does not change the theme's fingerprint (and every village page)."""
        about = self.out / "about" / "index.html"
        if about.exists():
            write(about, about.read_text(encoding="utf-8").replace(PROGRESS, site.progress()))
        link_files(site.progress_files(), self.attachments, self.out / "files")
        self.result.files += opendata.write_programme(self.out, site.programme_rows(), snap.on)

    # -- the plain way (reference) ---------------------------------------------------------------------

    def _naive(self, site: Site, snap: Snapshot) -> None:
        index_md = self.docs / "index.md"
        intro = index_md.read_text(encoding="utf-8") if index_md.exists() else "# 首页\n"
        write(index_md, intro.rstrip("\n") + "\n\n" + site.home(self.news) + "\n")
        pages = [site.areas_index(), *site.area_pages(), *site.area_year_pages()]
        extra = self.stage / "extra"
        job = VillageFiles(extra, self.stage, None, site, self.attachments)
        for done in job.render(snap.villages):
            pages.append(site.village(done.village, done.details))
            pages += site.village_years(done.village)
            self.result.files += done.files + len(done.receipts)
        for page in pages:
            write(self.docs / page.source, shells.page_markdown(page))
        theme.mkdocs(self.docs, self.out, self.base_url, self.config_file)
        for name in ("poster", "files", "data/village"):
            if (extra / name).exists():
                (self.out / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(extra / name, self.out / name)
        self.result.files += opendata.write_region(self.out, [v.code for v in snap.villages], snap.pool_entries,
                                                   areas=site.area_year_rows())[0]
        self._progress(site, snap)


__all__ = ["build", "BuildResult"]
