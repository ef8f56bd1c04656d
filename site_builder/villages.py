"""A village's files: its page, its poster, its open data and its receipts, written from its records
(``db.snapshot.details``), or linked unchanged from the previous build."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from peewee import chunked

from db import snapshot
from db.attachments import path_for
from db.published import Details, VillageInfo

from . import opendata, search
from .compress import write_with_siblings
from .errors import BuildError
from .manifest import BuiltVillage
from .output import write
from .pages import Site
from .shells import Shell

CHUNK = 200  # villages whose heavy rows are read at once


@dataclass(frozen=True)
class Rendered:
    """One village's files, written; its page is not yet (``VillageFiles.stamp`` or MkDocs makes it)."""

    village: VillageInfo
    details: Details
    files: int                             # poster and open data files written
    receipts: list[str]


@dataclass(frozen=True)
class VillageRecord:
    """What the rest of the build needs of a finished village."""

    entries: list[dict]  # its search index entries
    files: int           # files written or linked for it
    receipts: list[str]


@dataclass(frozen=True)
class VillageFiles:
    """Writes villages' files into ``out``; used in this process or in workers."""

    out: Path
    stage: Path
    shell: Shell | None
    site: Site
    attachments: Path | None
    year_shell: Shell | None = None  # its 年度报告 pages' (village/<code>/<year>/)

    def render(self, villages: list[VillageInfo]) -> Iterator[Rendered]:
        """Poster, open data and receipts of each village, reading their rows ``CHUNK`` villages at a time."""
        for chunk in chunked(villages, CHUNK):
            details = snapshot.details(chunk)
            for village in chunk:
                d = details[village.id]
                where = self.site.where[village.id]
                files = write(self.out / "poster" / f"{village.code}.html", self.site.poster(village, d))
                rows = opendata.village_rows(village, where, d, self.site.year_rows(village))
                summary = opendata.village_summary(village, where, d, self.site.snapshot.on)
                written = opendata.write_village(self.out / "data" / "village" / village.code, rows, summary)
                receipts = copy_receipts(d, self.attachments, self.out / "files")
                yield Rendered(village, d, files + written, receipts)

    def stamp(self, villages: list[VillageInfo]) -> dict[str, VillageRecord]:
        """Render these villages and stamp their pages into the shell, by village code."""
        records = {}
        for done in self.render(villages):
            page = self.site.village(done.village, done.details)
            write_with_siblings(self.out, f"{page.url}index.html", self.shell.stamp(page, done.village.code))
            years = self.site.village_years(done.village)
            for year in years:
                write_with_siblings(self.out, f"{year.url}index.html", self.year_shell.stamp(year, year.code, year.year))
            records[done.village.code] = VillageRecord(search.entries([page]),
                                                       done.files + 1 + len(years) + len(done.receipts),
                                                       done.receipts)
        return records


def link_kept(previous: Path | None, out: Path, kept: set[str], built: dict[str, BuiltVillage],
              pages: dict[str, list[str]] | None = None) -> dict[str, VillageRecord]:
    """Hard-link an unchanged village's files from the previous build (its page, its 年度报告 pages — the
    addresses in ``pages`` —, poster, data, receipts)."""
    records, pages = {}, pages or {}
    (out / "poster").mkdir(parents=True, exist_ok=True)
    (out / "data" / "village").mkdir(parents=True, exist_ok=True)
    for code in sorted(kept):
        receipts = built[code].receipts
        os.mkdir(out / "village" / code)
        os.mkdir(out / "data" / "village" / code)
        files = 0
        for relative in (f"village/{code}/index.html", *(f"{url}index.html" for url in pages.get(code, ())),
                         f"poster/{code}.html",
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
        records[code] = VillageRecord(built[code].entries, files, receipts)
    return records


def copy_receipts(details: Details, attachments: Path | None, target: Path) -> list[str]:
    """Link (or copy) the village's published receipts into ``files/``; returns their public names."""
    receipts = [r for s in [*details.spending, *details.fund_spending] for r in s.receipts]
    receipts += [f for d in details.disclosures for f in d.files]
    return link_files(receipts, attachments, target)


def link_files(receipts: list, attachments: Path | None, target: Path) -> list[str]:
    """Link (or copy) stored files into ``target`` under their public names; returns the names."""
    names = []
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
