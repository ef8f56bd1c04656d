"""The public site built from a demo database with hostile records: pages, totals, links, privacy, safety.

One build per backend (module scope) inside a transaction rolled back at the end; every test reads
the same built folder and the same database state.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
from pathlib import Path

import brotli
import pytest
from peewee import fn

from db import demo, disclosures, donations, milestones
from db.clock import today
from db.database import database
from db.models import (
    Area,
    Attachment,
    Batch,
    Donation,
    Entry,
    Level,
    Milestone,
    Project,
    SupervisoryMember,
    Village,
    Volunteer,
)
from db.workflow import PUBLISHED_STATES
from site_builder.build import build
from site_builder.check import broken_links
from site_builder.opendata import open_region

HOSTILE_PHONE = "13987654321"
HOSTILE_ID = "15010219900101123X"
SECRET_DONOR = "司马隐名"
PARTIAL_DONOR = "欧阳半隐"
SCRIPT = "<img src=x onerror=alert(1)><script>alert(2)</script>"
LINKS = '[点我](javascript:alert(3)) <iframe src="https://evil.example/"></iframe> <a href="#" onclick="alert(4)">x</a>'


def _hostile_records() -> dict:
    """Staff and donors typing what must never reach the public: numbers, markup, unconsented names."""
    project = (Project.select().where(Project.state == "fundraising").order_by(Project.id).first())
    Project.update(background=f"村委会电话 {HOSTILE_PHONE}，联系人身份证 {HOSTILE_ID}。",
                   summary=f"项目简介 {SCRIPT}\n\n{LINKS}").where(Project.id == project.id).execute()
    for n, (name, consent) in enumerate([(SECRET_DONOR, "none"), (PARTIAL_DONOR, "masked")]):
        donation = Donation.create(project=project, txn_no=f"HOSTILE{n}", donor_name=name, name_consent=consent,
                                   amount=12_345, donated_at=dt.datetime(2026, 10, 1, 9, n),
                                   message=f"有事打 {HOSTILE_PHONE} <script>alert(5)</script>")
        donations.receive_donation(donation)
    disclosures.publish(project, "第一次公示<script>x</script>", f"联系 {HOSTILE_PHONE}\n\n{SCRIPT}")
    return {"project": project, "village_code": project.village.area.code}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def built(request, tmp_path_factory):
    backend = request.getfixturevalue(f"{request.param}_backend")
    database.initialize(backend)
    database.connect(reuse_if_open=True)
    root = tmp_path_factory.mktemp(f"site-{request.param}")
    with database.atomic() as txn:
        demo.generate(40, 1500, seed=7, attachments_root=root / "attachments")
        facts = _hostile_records()
        result = build(root / "site", base_url="https://xfjy.example.org/", attachments=root / "attachments")
        yield {"site": root / "site", "result": result, **facts}
        txn.rollback()


def _files(site: Path):
    return [p for p in site.rglob("*") if p.is_file()]


def _text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    elif path.suffix == ".br":
        data = brotli.decompress(data)
    return data.decode("utf-8", errors="replace")


def _cards(html: str) -> dict[str, str]:
    return dict(re.findall(r'xfjy-card-label">([^<]+)</span><span class="xfjy-card-value"[^>]*>([^<]+)<', html))


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def _ledger_net(kind: str, project_ids) -> int:
    """Net amount of ``kind`` entries on these projects, straight from the entry table."""
    entries = Entry.select(Entry.amount, Entry.reverses).where((Entry.kind == kind) & Entry.project.in_(project_ids))
    return sum(-amount if reverses else amount for amount, reverses in entries.tuples())


# -- pages -------------------------------------------------------------------------------------------

def test_one_page_per_village_with_a_fund_and_per_area(built):
    site = built["site"]
    with_fund = {code for (code,) in Village.select(Area.code).join(Area).where(
        Village.fund_established_on.is_null(False)).tuples()}
    pages = {p.parent.name for p in (site / "village").glob("*/index.html")}
    assert pages == with_fund and len(pages) > 20
    posters = {p.stem for p in (site / "poster").glob("*.html")}
    assert posters == with_fund
    prefectures = Area.select().where(Area.level == Level.PREFECTURE).count()
    counties = Area.select().where(Area.level == Level.COUNTY).count()
    area_pages = {p.parent.name for p in (site / "area").glob("*/index.html")}
    assert len(area_pages) == prefectures + counties  # 14 盟市-level units + 101 旗县市区 with a level of their own
    assert (site / "index.html").exists() and (site / "data" / "index.html").exists()
    assert built["result"].pages == len(list(site.rglob("index.html")))  # one per Markdown page


def test_every_internal_link_resolves(built):
    assert broken_links(built["site"]) == []


def test_village_page_totals_are_the_ledger(built):
    site = built["site"]
    checked = 0
    for village in Village.select().where(Village.fund_established_on.is_null(False)):
        projects = [p.id for p in village.projects.where(Project.state.in_(PUBLISHED_STATES))]
        if not projects:
            continue
        cards = _cards((site / "village" / village.area.code / "index.html").read_text(encoding="utf-8"))
        raised = _ledger_net("donation", projects) - _ledger_net("refund", projects)
        spent = _ledger_net("expenditure", projects)
        assert cards["已筹善款"] == _yuan(raised), village.full_name
        assert cards["已支出"] == _yuan(spent), village.full_name
        checked += 1
    assert checked >= 10


def test_region_open_data_adds_up_to_the_ledger(built):
    site = built["site"]
    with open(site / "data" / "region" / "projects.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    public = [p.id for p in Project.select().where(Project.state.in_(PUBLISHED_STATES))]
    assert len(rows) == len(public)
    fen = lambda column: sum(round(float(r[column]) * 100) for r in rows)  # noqa: E731
    assert fen("raised_yuan") == _ledger_net("donation", public) - _ledger_net("refund", public)
    assert fen("spent_yuan") == _ledger_net("expenditure", public)
    with open_region(site, "ledger") as f:
        ledger_rows = list(csv.DictReader(f))
    assert len(ledger_rows) == Entry.select().where(
        Entry.project.in_(public) | Entry.project.is_null()).count()
    with open_region(site, "donations") as f:
        columns, *rows = list(csv.reader(f))
    assert columns[:3] == ["village_code", "project_code", "date"]
    assert len(rows) == Donation.select().where(Donation.project.in_(public)).count()
    with open(site / "data" / "village" / built["village_code"] / "donations.csv", encoding="utf-8-sig", newline="") as f:
        village = list(csv.reader(f))
    assert village[0] == columns and 0 < len(village) - 1 < len(rows)
    assert [row for row in rows if row[0] == built["village_code"]] == village[1:]
    assert {p.name for p in (site / "data" / "village").rglob("*.json")} == {"summary.json"}  # tables are CSV only
    assert not list((site / "data" / "region").glob("*.json")) and not (site / "data" / "programme.json").exists()
    region = {p.name for p in (site / "data" / "region").iterdir()}
    assert {"ledger.csv.gz", "donations.csv.gz", "spending.csv.gz"} <= region  # packed once, no plain copy
    assert not region & {"ledger.csv", "donations.csv", "spending.csv"} and not [n for n in region if ".gz." in n]


def test_home_page_shows_region_totals(built):
    html = (built["site"] / "index.html").read_text(encoding="utf-8")
    cards = _cards(html)
    public = [p.id for p in Project.select().where(Project.state.in_(PUBLISHED_STATES))]
    assert cards["已筹善款"] == _yuan(_ledger_net("donation", public) - _ledger_net("refund", public))
    villages = Village.select().where(Village.fund_established_on.is_null(False)).count()
    assert cards["设立互助基金的村社"] == f"{villages} 个"
    assert '<svg class="xfjy-chart xfjy-quota"' in html and "鄂尔多斯市" in html


def test_the_about_page_shows_each_units_steps_as_the_open_data_says(built):
    """关于工程: each begun phase × 14 units × 4 steps, the same statuses as ``data/programme.csv``; only
    documents of approved steps marked public are linked and copied, never a training photo."""
    site = built["site"]
    about = (site / "about" / "index.html").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO((site / "data" / "programme.csv").read_text(encoding="utf-8-sig"))))
    begun = Batch.select().where(Batch.starts_on <= today()).count()
    assert len(rows) == begun * 14 * 4 and begun >= 1
    cells = re.findall(r'<td data-status="(\w+)" data-cell="[^"]+"><strong>([^<]+)</strong>', about)
    assert [status for status, _ in cells] == [row["status"] for row in rows]
    assert {label for _, label in cells} <= set(milestones.STATUS.values())
    public = Attachment.select().join(Milestone, on=(Attachment.milestone == Milestone.id)).where(
        Milestone.public & (Milestone.state == "approved"))
    assert public.count() >= 2
    for document in public:
        name = f"{document.sha256}.pdf"
        assert f'href="../files/{name}"' in about and (site / "files" / name).exists()
        assert any(row["documents"] == f"files/{name}" for row in rows)
    waiting = Attachment.select().join(Milestone, on=(Attachment.milestone == Milestone.id)).where(
        Milestone.state == "submitted")
    photos = Attachment.select().where(Attachment.training.is_null(False))
    assert waiting.count() >= 1 and photos.count() >= 1
    for hidden in [*waiting, *photos]:
        assert hidden.sha256 not in about and not list((site / "files").glob(f"{hidden.sha256}*"))


def test_charts_show_the_figures_of_their_pages(built):
    """Every village's 善款去向 adds up to its raised and 配捐 cards and each project's progress ends at its
    raised; every 盟市 page's share of villages with a fund is the database's count."""
    site, checked = built["site"], 0
    for path in (site / "village").glob("*/index.html"):
        html = path.read_text(encoding="utf-8")
        cards = {k: int(v.removesuffix(" 元").replace(",", "").replace(".", "")) for k, v in _cards(html).items()}
        money = re.search(r'xfjy-figure-money".*?</figure>', html, re.S)
        if cards["已筹善款"] + cards["配捐"] == 0:
            assert money is None
            continue
        parts = [int(a.replace(",", "").replace(".", "")) for a in re.findall(r"<text [^>]*>\S+ ([\d,.]+) 元（", money.group(0))]
        assert len(parts) == 4 and sum(parts) == cards["已筹善款"] + cards["配捐"], path
        raised = dict(re.findall(r'data-project="([^"]+)" data-figure="raised">([^<]+)<', html))
        progress = re.findall(r'<figcaption>筹款进度：累计已筹 ([^，<]+)', html)
        assert progress == [v for v in raised.values() if v != "0.00 元"], path
        checked += 1
    assert checked > 20
    for prefecture in Area.select().where(Area.level == Level.PREFECTURE):
        html = (site / "area" / prefecture.code / "index.html").read_text(encoding="utf-8")
        share = re.search(r'xfjy-figure-share".*?</figure>', html, re.S)
        villages = Village.select().join(Area).where(Area.path.startswith(prefecture.path))
        if not villages.count():
            assert share is None
            continue
        with_fund = villages.where(Village.fund_established_on.is_null(False)).count()
        assert f"{prefecture.name}已登记村社 {villages.count()} 个，其中 {with_fund} 个已设立" in share.group(0)


# -- privacy and safety ------------------------------------------------------------------------------

def _private_numbers() -> set[str]:
    numbers = {HOSTILE_PHONE, HOSTILE_ID}
    for model, column in ((Village, Village.leader_phone), (Project, Project.leader_phone),
                          (SupervisoryMember, SupervisoryMember.phone), (Volunteer, Volunteer.phone)):
        numbers |= {value for (value,) in model.select(column).tuples() if value}
    numbers |= {txn for (txn,) in Donation.select(Donation.txn_no).tuples()}
    return numbers


def test_no_phone_id_or_transaction_number_anywhere(built):
    numbers = _private_numbers()
    assert len(numbers) > 50
    leaks = []
    for path in _files(built["site"]):
        if path.suffix in (".png", ".pdf", ".jpg", ".ico", ".woff2"):
            continue
        text = _text(path)
        leaks += [(str(path), n) for n in numbers if n in text]
    assert leaks == []


def test_unconsented_names_are_not_published(built):
    site = built["site"]
    for path in _files(site):
        if path.suffix in (".html", ".json", ".csv", ".xml", ".gz", ".br"):  # the packed region tables too
            text = _text(path)
            assert SECRET_DONOR not in text and PARTIAL_DONOR not in text, path
    with open_region(site, "donations") as f:
        donors = [row["donor"] for row in csv.DictReader(f)]
    named = Donation.select().where(Donation.name_consent.in_(["full", "masked"]) & (Donation.donor_name != ""))
    shown = [d for d in donors if d != "爱心人士"]
    assert len(shown) <= named.count()
    assert "欧***" in donors
    masked = Donation.select(fn.COUNT(Donation.id)).where(Donation.name_consent == "masked").scalar()
    assert sum(1 for d in donors if "*" in d) == masked


def test_typed_text_is_sanitized(built):
    village = (built["site"] / "village" / built["village_code"] / "index.html").read_text(encoding="utf-8")
    assert "项目简介" in village and "第一次公示" in village
    for path in _files(built["site"]):
        if path.suffix != ".html":
            continue
        html = _text(path)
        assert "alert(" not in html, path
        assert not re.search(r"<(img|iframe)[^>]*(onerror|evil\.example)", html), path
        assert "javascript:" not in html, path
        assert not re.search(r"\son(error|click|load)=", html), path


def test_nothing_is_loaded_from_a_cdn(built):
    hosts = re.compile(r"unpkg\.com|jsdelivr|googleapis|gstatic|cdnjs|bootcdn|staticfile\.org")
    hits = [str(p) for p in _files(built["site"]) if p.suffix in (".html", ".js", ".css", ".json", ".xml")
            and hosts.search(_text(p))]
    assert hits == []


# -- search --------------------------------------------------------------------------------------------

def test_search_finds_villages_by_whole_name_but_holds_no_donations(built):
    index = json.loads((built["site"] / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert "lang" in index["config"] and "zh" not in index["config"]["lang"]
    docs = index["docs"]
    village = Village.select().join(Area).where(Village.fund_established_on.is_null(False)).order_by(Area.code).first()
    entries = [d for d in docs if d["location"] == f"village/{village.area.code}/"]
    assert len(entries) == 1, "one entry per village page: its title and where it is"
    terms = re.split(index["config"]["separator"], entries[0]["title"] + " " + entries[0]["text"])
    assert village.area.name in terms, "the whole name is one term, so typing it finds the village"
    text = json.dumps(docs, ensure_ascii=False)
    assert "爱心人士" not in text and "支出明细" not in text
    villages = Village.select().where(Village.fund_established_on.is_null(False)).count()
    assert len(docs) < villages + 200, "the index grows by one entry per village, not per row"


def test_text_files_are_precompressed_and_receipts_are_not(built):
    """Issue 14, item 4: a .gz and a .br beside every page, asset and region data file worth it; never in
    files/, nor beside a village's poster and data files (issue 18: many small files, rarely fetched); a
    .gz alone beside a village's pages (issue 18: tens of thousands of them)."""
    site = built["site"]
    pages = [p for p in _files(site) if p.suffix == ".html" and p.stat().st_size >= 1024
             and not p.is_relative_to(site / "poster")]
    villages = [p for p in pages if p.is_relative_to(site / "village")]
    others = [p for p in pages if p not in villages]
    assert others and all((site / f"{p}.gz").exists() and (site / f"{p}.br").exists() for p in others)
    assert villages and all(Path(f"{p}.gz").exists() and not Path(f"{p}.br").exists() for p in villages)
    for page in villages:  # packed by the worker that wrote it
        assert gzip.decompress(Path(f"{page}.gz").read_bytes()) == page.read_bytes()
    for folder in ("poster", "data/village"):
        assert not [p for p in (site / folder).rglob("*") if p.suffix in (".gz", ".br")], folder
        assert [p for p in (site / folder).rglob("*") if p.is_file() and p.stat().st_size >= 1024], folder
    for name in ("index.html", "search/search_index.json", "data/region/projects.csv"):
        data = (site / name).read_bytes()
        assert gzip.decompress((site / f"{name}.gz").read_bytes()) == data
        assert brotli.decompress((site / f"{name}.br").read_bytes()) == data
    bundle = next((site / "assets" / "javascripts").glob("bundle.*.min.js"))
    assert brotli.decompress(Path(f"{bundle}.br").read_bytes()) == bundle.read_bytes()
    receipts = list((site / "files").iterdir())
    assert receipts and not [p for p in receipts if p.suffix in (".gz", ".br")]


def test_village_page_stays_small(built):
    sizes = [p.stat().st_size for p in (built["site"] / "village").glob("*/index.html")]
    assert max(sizes) <= 40 * 1024, max(sizes)


# -- shells ----------------------------------------------------------------------------------------------

def test_stamped_pages_are_what_mkdocs_renders_page_by_page(built, tmp_path):
    """Every file equals the site MkDocs builds from each page's own Markdown; the search index and the
    sitemap hold the same entries (in another order)."""
    naive = tmp_path / "naive"
    build(naive, base_url="https://xfjy.example.org/", attachments=built["site"].parent / "attachments", naive=True)
    fast, slow = {p.relative_to(built["site"]) for p in _files(built["site"])}, {p.relative_to(naive) for p in _files(naive)}
    assert fast == slow
    unordered = {Path(f"{name}{suffix}") for name in ("search/search_index.json", "sitemap.xml") for suffix in ("", ".gz", ".br")}
    differing = [str(p) for p in fast - unordered if (built["site"] / p).read_bytes() != (naive / p).read_bytes()]
    assert differing == []

    def entries(root):
        docs = json.loads((root / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
        return sorted(json.dumps(d, sort_keys=True, ensure_ascii=False) for d in docs)

    assert entries(built["site"]) == entries(naive)
    locations = [sorted(re.findall(r"<loc>(.*?)</loc>", (root / "sitemap.xml").read_text(encoding="utf-8")))
                 for root in (built["site"], naive)]
    assert locations[0] == locations[1]


def test_one_prefecture_builds_as_a_site_of_its_own(built, tmp_path):
    """``--area``: a 盟市's site holds its villages only, lists its 旗县市区 on the home page, links resolve."""
    prefecture = Area.get(Area.code == "150200")
    shard = tmp_path / "baotou"
    build(shard, base_url="https://baotou.example.org/", attachments=built["site"].parent / "attachments", area="150200")
    mine = {code for (code,) in Village.select(Area.code).join(Area).where(
        Village.fund_established_on.is_null(False) & Area.path.startswith(prefecture.path)).tuples()}
    assert {p.parent.name for p in (shard / "village").glob("*/index.html")} == mine
    assert {p.parent.name for p in (shard / "area").glob("*/index.html")} == {
        code for (code,) in Area.select(Area.code).where(Area.path.startswith(prefecture.path)
                                                         & (Area.level <= Level.COUNTY)).tuples()}
    home = (shard / "index.html").read_text(encoding="utf-8")
    assert "包头市汇总" in home and "各旗县市区" in home
    assert broken_links(shard) == []

