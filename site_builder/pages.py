"""The generated pages: Markdown whose tables are HTML rendered by Jinja (escaped by default).

Every page sits at a stable address: ``/`` (home), ``/area/<code>/`` (盟市 and 旗县市区),
``/village/<code>/`` (12-digit 村社 code), ``/poster/<code>.html`` (the A4 notice-board poster).
Links are relative, so the site works under any base path and offline on a LAN.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import segno
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from db import annual
from db.funds import SOURCES as FUND_SOURCES
from db.funds import statement
from db.milestones import STEPS
from db.models import Entry, Level
from db.money import format_fen
from db.published import Place, Snapshot, VillageInfo, whereabouts
from db.totals import Totals, add_up
from db.volunteers import TeamSize

from .charts import (
    MOST_VILLAGES,
    Bar,
    Share,
    money_chart,
    progress_bar,
    progress_chart,
    quota_chart,
    raised_spent_chart,
    share_chart,
)
from .opendata import PROGRAMME, SUMMARY, TABLES, annual_row, programme_row, region_file

PROGRESS = "<!--XFJYPROGRESS-->"  # where 关于工程 gets its 实施步骤 section

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|>~-])")


def _md(value) -> Markup:
    """Text placed where Markdown (not HTML) is parsed, e.g. a heading: escaped for both."""
    return Markup(_MARKDOWN_SPECIAL.sub(r"\\\1", str(escape(value))))


def _yuan(fen: int, unit: bool = True) -> str:
    return format_fen(fen, unit=unit)


def _date(value) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def _datetime(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def environment() -> Environment:
    env = Environment(loader=PackageLoader("site_builder"), autoescape=True, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, undefined=StrictUndefined)
    env.filters.update(md=_md, yuan=_yuan, date=_date, datetime=_datetime, progress=progress_bar)
    env.globals.update(kinds=Entry.KINDS, tables=[(name, title) for name, (title, _) in TABLES.items()],
                       whereabouts=whereabouts, money_chart=money_chart, progress_chart=progress_chart)
    return env


_NOT_IN_TITLES = str.maketrans("", "", "<>&\"'\r\n\\")


@dataclass
class Page:
    """A generated page: what MkDocs would be given as front matter and content (raw HTML)."""

    url: str            # "village/150102001001/"
    title: str
    description: str
    body: str
    search: bool = True  # False: left out of the search index (front matter ``search: exclude``)

    @property
    def source(self) -> str:
        """The Markdown file MkDocs would build this page from."""
        return self.url + "index.md" if self.url.count("/") <= 1 else self.url.rstrip("/") + ".md"

    @property
    def code(self) -> str:
        """The code in its address (``area/<code>/``, ``village/<code>/<year>/``): its shell's placeholder."""
        return self.url.split("/")[1]

    @property
    def year(self) -> str:
        """The year of a 年度报告 page (``village/<code>/<year>/``), else empty."""
        parts = self.url.strip("/").split("/")
        return parts[2] if len(parts) > 2 else ""


@dataclass
class YearRow:
    """One unit below an area in its 年度报告: its name, its page of that year (None: none), its figures."""

    name: str
    url: str | None
    figures: annual.Figures


def title_text(text: str) -> str:
    """Names as page titles: no character that HTML or YAML would treat specially."""
    return " ".join(str(text).translate(_NOT_IN_TITLES).split())


@dataclass
class Where:
    """A village's place in the tree, for breadcrumbs and tables."""

    prefecture: Place
    county: Place
    township: Place


@dataclass
class UnitRow:
    name: str
    url: str
    villages: int
    projects: int
    totals: Totals


@dataclass
class Summary:
    villages: int
    projects: int
    totals: Totals


def summarize(villages: list[VillageInfo]) -> Summary:
    return Summary(len(villages), sum(len(v.projects) for v in villages), add_up(v.totals for v in villages))


def _up_the_tree(places: dict[int, Place], counts: dict[int, int]) -> dict[int, int]:
    """Counts per place (a 乡镇/街道) added up into every place above it too."""
    total: dict[int, int] = {}
    for place_id, n in counts.items():
        place = places.get(place_id)
        while place is not None:
            total[place.id] = total.get(place.id, 0) + n
            place = places.get(place.parent_id)
    return total


class Site:
    """Renders the pages of one snapshot."""

    def __init__(self, snapshot: Snapshot, base_url: str = ""):
        self.snapshot = snapshot
        self.base_url = base_url.rstrip("/") + "/" if base_url else ""
        self.env = environment()
        places = snapshot.places
        self.where = {v.id: Where(places[v.prefecture_id], places[v.county_id], places[v.township_id])
                      for v in snapshot.villages}
        self.by_county: dict[int, list[VillageInfo]] = {}
        self.by_prefecture: dict[int, list[VillageInfo]] = {}
        for v in snapshot.villages:
            self.by_county.setdefault(v.county_id, []).append(v)
            self.by_prefecture.setdefault(v.prefecture_id, []).append(v)
        self.registered = _up_the_tree(places, snapshot.registered)  # villages in the programme, per place
        self.with_fund = _up_the_tree(places, Counter(v.township_id for v in snapshot.villages))
        root = snapshot.root
        self.prefectures = sorted((p for p in places.values() if p.level == Level.PREFECTURE
                                   and p.path.startswith(root.path)), key=lambda p: p.code)

    def place_names(self) -> list[str]:
        """Every village, township, county and 盟市 name: the words search must keep whole."""
        names = {v.name for v in self.snapshot.villages}
        names |= {p.name for p in self.snapshot.places.values() if p.level >= Level.PREFECTURE}
        return sorted(n for n in names if n and " " not in n)

    def _render(self, template: str, **context) -> str:
        context.setdefault("taken_at", self.snapshot.taken_at)
        context.setdefault("today", self.snapshot.on)
        return self.env.get_template(template).render(**context).strip()

    def counties_of(self, prefecture: Place) -> list[Place]:
        """A 盟市's 旗县市区; 满洲里市 and 二连浩特市 are their own and have no list."""
        return sorted((p for p in self.snapshot.places.values()
                       if p.level == Level.COUNTY and p.parent_id == prefecture.id), key=lambda p: p.code)

    def _unit_row(self, place: Place, villages: list[VillageInfo]) -> UnitRow:
        s = summarize(villages)
        return UnitRow(place.name, f"area/{place.code}/", s.villages, s.projects, s.totals)

    def prefecture_rows(self) -> list[UnitRow]:
        """The units under the site's root: 盟市 for the region, 旗县市区 for one 盟市."""
        if self.snapshot.root.level == Level.PREFECTURE:
            counties = self.counties_of(self.snapshot.root) or [self.snapshot.root]
            return [self._unit_row(c, self.by_county.get(c.id, [])) for c in counties]
        return [self._unit_row(p, self.by_prefecture.get(p.id, [])) for p in self.prefectures]

    @property
    def unit_label(self) -> str:
        return "旗县市区" if self.snapshot.root.level == Level.PREFECTURE else "盟市"

    @property
    def scope_label(self) -> str:
        """How the totals of the whole site are headed: 全区 for the region, the 盟市's name otherwise."""
        return self.snapshot.root.name if self.snapshot.root.level == Level.PREFECTURE else "全区"

    def home(self, news: list) -> str:
        """The generated part of the home page (the hand-written part is ``content/index.md``)."""
        return self._render("home.html", root="", summary=summarize(self.snapshot.villages), unit=self.unit_label,
                            place=self.snapshot.root, scope=self.scope_label, years=self.years_of(self.snapshot.root.code),
                            units=self.prefecture_rows(), quota_chart=quota_chart(self.snapshot.quota),
                            latest=self.snapshot.latest_disclosures, news=news)

    def areas_index(self) -> Page:
        root = self.snapshot.root
        body = self._render("areas.html", root="../", summary=summarize(self.snapshot.villages),
                            units=self.prefecture_rows(), unit=self.unit_label, place=root, scope=self.scope_label,
                            years=self.years_of(root.code))
        name = title_text(self.snapshot.root.name)
        return Page("area/", "各地公示", f"{name}各{self.unit_label}“幸福家园”村社互助工程公示汇总", body)

    def area_pages(self):
        """Every 盟市 page and every 旗县市区 page."""
        for prefecture in self.prefectures:
            counties = self.counties_of(prefecture)
            villages = self.by_prefecture.get(prefecture.id, [])
            if counties:
                units = [self._unit_row(c, self.by_county.get(c.id, [])) for c in counties]
                charts = [raised_spent_chart([Bar(u.name, u.totals.raised, u.totals.spent) for u in units], "旗县市区"),
                          share_chart([self._share(c) for c in counties], "旗县市区", self._share(prefecture))]
                body = self._render(
                    "area.html", root="../../", place=prefecture, summary=summarize(villages), villages=None,
                    units=units, up=UnitRow("各地公示", "area/", 0, 0, Totals()), trail=self._trail(prefecture),
                    charts=charts, years=self.years_of(prefecture.code))
                yield self._area_page(prefecture, body)
                for county in counties:
                    yield self._county(county, up=prefecture)
            else:
                yield self._county(prefecture, up=None)

    def _area_page(self, place: Place, body: str) -> Page:
        name = title_text(place.name)
        return Page(f"area/{place.code}/", name, f"{name}“幸福家园”村社互助工程各村社公示汇总", body)

    def _county(self, county: Place, up: Place | None) -> Page:
        villages = self.by_county.get(county.id, [])
        rows = [(v, self.where[v.id].township.name) for v in villages]
        townships = sorted((p for p in self.snapshot.places.values()
                            if p.level == Level.TOWNSHIP and p.parent_id == county.id), key=lambda p: p.code)
        charts = [raised_spent_chart([Bar(f"{v.name}（{township}）", v.totals.raised, v.totals.spent)
                                      for v, township in rows], "村社", most=MOST_VILLAGES),
                  share_chart([self._share(t) for t in townships], "乡镇/街道", self._share(county))]
        body = self._render("area.html", root="../../", place=county, summary=summarize(villages), villages=rows,
                            units=None, up=up and UnitRow(up.name, f"area/{up.code}/", 0, 0, Totals()),
                            trail=self._trail(county), charts=charts, years=self.years_of(county.code))
        return self._area_page(county, body)

    def _share(self, place: Place) -> Share:
        """Villages with a 互助基金 among those registered in the programme, in ``place``."""
        return Share(place.name, self.with_fund.get(place.id, 0), self.registered.get(place.id, 0))

    def _trail(self, place: Place) -> str:
        """The place's ancestors from the region down, e.g. ``内蒙古自治区 · 呼和浩特市``."""
        names = []
        cursor = self.snapshot.places.get(place.parent_id)
        while cursor is not None and cursor.level >= Level.REGION:
            names.append(cursor.name)
            cursor = self.snapshot.places.get(cursor.parent_id)
        return " · ".join(reversed(names))

    def village(self, village: VillageInfo, details) -> Page:
        hours = TeamSize(details.volunteers, details.service_minutes).hours
        where = self.where[village.id]
        body = self._render("village.html", root="../../", v=village, d=details, t=village.totals, place=where,
                            hours=hours, fund_years=statement(details.fund_flows), fund_sources=FUND_SOURCES,
                            years=self.years_of(village.code))
        name = title_text(village.name)
        places = title_text(f"{where.prefecture.name}{where.county.name}{where.township.name}")
        return Page(f"village/{village.code}/", name, f"{places}{name}的“幸福家园”互助基金项目公示", body)

    # -- 年度报告 -------------------------------------------------------------------------------------------

    def years_of(self, code: str) -> list[int]:
        """The years a village or area has a 年度报告 page: those something happened in."""
        return self.snapshot.annual.active_years(code) if self.snapshot.annual is not None else []

    def figures(self, code: str, year: int) -> annual.Figures:
        return self.snapshot.annual.of(code, year)

    def year_rows(self, village: VillageInfo) -> list[annual.Figures]:
        """The village's rows of the open data's ``annual`` table."""
        return [self.figures(village.code, year) for year in self.years_of(village.code)]

    def _year_page(self, url: str, name: str, place: str, body: str) -> Page:
        title = title_text(name)
        return Page(url, title, f"{title_text(place)}{title}“幸福家园”村社互助工程年度报告", body, search=False)

    def village_years(self, village: VillageInfo) -> list[Page]:
        """The village's 年度报告 pages, one per year something happened in."""
        where = self.where[village.id]
        years = self.years_of(village.code)
        done = self.snapshot.annual.projects if self.snapshot.annual is not None else {}
        pages = []
        for year in years:
            projects = [(p, done[p.id][year]) for p in village.projects if year in done.get(p.id, {})]
            body = self._render("annual.html", root="../../../", name=village.name, year=year, years=years,
                                f=self.figures(village.code, year), village=village, projects=projects, units=None,
                                unit_label="", trail=f"{where.prefecture.name} · {where.county.name} · {where.township.name}",
                                back=(f"village/{village.code}/", f"返回{village.name}"), base=f"village/{village.code}/",
                                data=f"data/village/{village.code}/annual.csv", sections=annual.SECTIONS,
                                labels=annual.LABELS, counts=annual.COUNTS)
            pages.append(self._year_page(f"village/{village.code}/{year}/", f"{village.name} {year} 年度报告",
                                         f"{where.prefecture.name}{where.county.name}{where.township.name}", body))
        return pages

    def year_areas(self) -> list[tuple[Place, str, list[tuple[str, str, int]]]]:
        """Every area with 年度报告 pages, with the label of its units and the units (name, code, kind):
        the region (its 盟市), each 盟市 (its 旗县市区) and each 旗县市区 (its villages)."""
        def villages_of(place: Place) -> list[tuple[str, str, str]]:
            return [(v.name, v.code, "village") for v in self.by_county.get(place.id, [])]

        result = []
        root = self.snapshot.root
        if root.level == Level.REGION:
            result.append((root, "盟市", [(p.name, p.code, "area") for p in self.prefectures]))
        for prefecture in self.prefectures:
            counties = self.counties_of(prefecture)
            if counties:
                result.append((prefecture, "旗县市区", [(c.name, c.code, "area") for c in counties]))
                result += [(c, "村社", villages_of(c)) for c in counties]
            else:
                result.append((prefecture, "村社", villages_of(prefecture)))
        return result

    def area_year_pages(self):
        """The 年度报告 pages of the region, every 盟市 and every 旗县市区."""
        for place, unit_label, units in self.year_areas():
            years = self.years_of(place.code)
            for year in years:
                rows = [YearRow(name, (f"{kind}/{code}/{year}/" if year in self.years_of(code) else None),
                                self.figures(code, year)) for name, code, kind in units]
                back = (f"area/{place.code}/", f"返回{place.name}") if place.level != Level.REGION else \
                    ("area/", "返回各地公示")
                body = self._render("annual.html", root="../../../", name=place.name, year=year, years=years,
                                    f=self.figures(place.code, year), village=None, projects=[], units=rows,
                                    unit_label=unit_label, trail=self._trail(place), back=back, base=f"area/{place.code}/",
                                    data="data/region/annual.csv", sections=annual.SECTIONS, labels=annual.LABELS,
                                    counts=annual.COUNTS)
                yield self._year_page(f"area/{place.code}/{year}/", f"{place.name} {year} 年度报告", "", body)

    def area_year_rows(self) -> list[list]:
        """The areas' rows of the open data's ``annual`` table, in code and year order."""
        rows = []
        for place, _, _ in sorted(self.year_areas(), key=lambda item: item[0].code):
            level = Level.NAMES[place.level]
            rows += [annual_row(level, place.code, place.name, self.figures(place.code, year))
                     for year in self.years_of(place.code)]
        return rows

    def poster(self, village: VillageInfo, details) -> str:
        url = f"{self.base_url}village/{village.code}/"
        # A fixed mask is as valid as the best one segno would search for, and five times faster.
        qr = segno.make(url, error="m", mask=0, micro=False).svg_inline(
            scale=4, omitsize=True, title=f"{village.name}公示页二维码")
        return self._render("poster.html", v=village, d=details, t=village.totals, place=self.where[village.id], url=url,
                            qr=Markup(qr), target=sum(p.target for p in village.projects))

    def markdown_pages(self, news: list) -> dict[str, str]:
        """Whole-site pages that MkDocs renders with the hand-written ones (a page of the same path in
        ``content/`` wins). A new public page is a template and a line here, plus its line in the nav."""
        return {"data/index.md": self.data_page(), "news/index.md": self.news_index(news)}

    def progress(self) -> str:
        """The 实施步骤 section of 关于工程 (``content/about.md`` holds its place: ``PROGRESS``)."""
        return self._render("progress.html", root="../", phases=self.snapshot.progress, steps=STEPS,
                            on=self.snapshot.on)

    def progress_files(self) -> list:
        """The documents the progress section links to (``files/``)."""
        return [d for phase in self.snapshot.progress for unit in phase.units
                for documents in unit.documents.values() for d in documents]

    def programme_rows(self) -> list[list]:
        return [programme_row(phase, unit, cell) for phase in self.snapshot.progress for unit in phase.units
                for cell in unit.cells]

    def data_page(self) -> str:
        example = self.snapshot.villages[0].code if self.snapshot.villages else ""
        return self._render("data.md", tables=TABLES, summary=SUMMARY, example=example, programme=PROGRAMME,
                            files={name: region_file(name) for name in TABLES}) + "\n"

    def news_index(self, news: list) -> str:
        return self._render("news.md", news=news) + "\n"
