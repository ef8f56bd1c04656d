"""``xfjy audit-site SITE_DIR``: check a published site against its own open data, never the database.

For every village page the figures must be the sums of that village's published rows:
- each project's raised, 配捐, 以奖代补, disbursed, spent, balance and 互助基金 transfers, and the
  fund's balance, against ``ledger.csv`` (read as ``db.totals.add_flow`` reads entries);
- raised against the gifts in ``donations.csv`` not returned, spent against the lines in
  ``spending.csv`` not reversed (a second, independent sum);
- each settlement sentence against the sentence those figures give (``db.public.settlement_sentence``);
- each disclosure window's status (on time, late, missing, due) against the disclosures the page
  publishes, counted as ``db.deadlines.assign`` counts them;
- and ``summary.json`` against all of the above;
- each 年度报告 row of ``annual.csv`` (opening and closing balances, gifts, 配捐, 以奖代补, spending, fund
  payments, moves to the 互助基金 and the fund's balance) against the entries of ``ledger.csv`` booked in
  that year, and each figure of the year's page against its row (a page for every row, a row for every page).

Anyone can run it on a copy of the site: it needs the files and this package, nothing else.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import json
import multiprocessing
import re
from dataclasses import dataclass
from pathlib import Path

from db import funds
from db.deadlines import Deadline, assign
from db.models import Entry
from db.money import format_fen, parse_fen
from db.public import settlement_sentence
from db.totals import Totals, add_flow
from db.workflow import PROJECT

from .opendata import ANNUAL_COUNTS, WINDOW_STATUS
from .processes import die_with_parent

KINDS = {label: kind for kind, label in Entry.KINDS.items()}
STATES = {label: state for state, label in PROJECT.states.items()}
FIGURES = ("raised", "matched", "rewarded", "disbursed", "spent", "balance", "to_fund")
SUMMARY_FIGURES = (*FIGURES, "undisbursed", "unused")
SUMMARY_STATUS = {published: status for status, published in WINDOW_STATUS.items()}

_ATTRS = re.compile(r'([\w-]+)="([^"]*)"')
_FIGURE = re.compile(r'<(?:td|strong|span)\s([^>]*data-figure="[^"]+"[^>]*)>([^<]*)<')
_PROJECT_TABLE = re.compile(r'<table data-project="([^"]+)">(.*?)</table>', re.S)
_SETTLEMENT = re.compile(r'<p class="xfjy-settlement" data-project="([^"]+)"[^>]*>(.*?)</p>', re.S)
_WINDOW = re.compile(r'<li class="xfjy-window-[^"]*"\s([^>]*)>')
_ARTICLE = re.compile(r'<article class="xfjy-disclosure"\s([^>]*)>')


@dataclass(frozen=True)
class Mismatch:
    page: str
    what: str
    shown: str
    expected: str

    def __str__(self) -> str:
        return f"{self.page}：{self.what}，页面为「{self.shown}」，按公开数据应为「{self.expected}」"


def _fen(text: str) -> int:
    text = html.unescape(text).replace("元", "").strip()
    negative = text.startswith("-")
    value = parse_fen(text.lstrip("-"))
    return -value if negative else value


def _csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _attrs(text: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _ATTRS.findall(text)}


@dataclass
class Books:
    """What a village's open data adds up to."""

    totals: dict[str, Totals]
    fund: int
    fund_spent: int               # paid out of the 互助基金, net of reversals
    gifts: dict[str, int]
    spending: dict[str, int]      # lines not reversed, by project code ("" for the fund)
    moves: list[tuple[dt.date, int, int]] = ()     # each entry: (date, into the village's money, into its 互助基金)
    flows: list[tuple[dt.date, Totals, int]] = ()  # ... as add_flow reads it, and the fund payment it makes


HELD_KINDS = ("special", "pass_through", "project", "fund")  # the accounts of a village's money (db.annual)


def books(folder: Path) -> Books:
    """Sum a village's published rows (``data/village/<code>/``)."""
    totals: dict[str, Totals] = {}
    fund = fund_spent = 0
    moves, flows = [], []
    for row in _csv(folder / "ledger.csv"):
        amount = _fen(row["amount_yuan"])
        net = -amount if row["reverses"] else amount
        kind = KINDS.get(row["kind"], row["kind"])
        day = dt.date.fromisoformat(row["date"])
        one = Totals()
        if row["project_code"]:
            add_flow(totals.setdefault(row["project_code"], Totals()), kind, row["from_kind"], row["to_kind"], net)
            add_flow(one, kind, row["from_kind"], row["to_kind"], net)
        move = funds.flow(row["date"], kind, row["from_kind"], row["to_kind"], amount, False)
        fund += move.amount if move else 0
        fund_spent += net if kind == "fund_spending" else 0
        held = (amount if row["to_kind"] in HELD_KINDS else 0) - (amount if row["from_kind"] in HELD_KINDS else 0)
        moves.append((day, held, move.amount if move else 0))
        flows.append((day, one, net if kind == "fund_spending" else 0))
    gifts: dict[str, int] = {}
    for row in _csv(folder / "donations.csv"):
        if row["returned"] == "否":
            gifts[row["project_code"]] = gifts.get(row["project_code"], 0) + _fen(row["amount_yuan"])
    spending: dict[str, int] = {}
    for row in _csv(folder / "spending.csv"):
        if row["reversed"] == "否":
            spending[row["project_code"]] = spending.get(row["project_code"], 0) + _fen(row["amount_yuan"])
    return Books(totals, fund, fund_spent, gifts, spending, moves, flows)


_YEAR_FIGURES = ("opening", "closing", "raised", "matched", "rewarded", "spent", "fund_spent", "to_fund", "fund_opening",
                 "fund_closing")


def _year_books(kept: Books, year: int, as_of: dt.date) -> dict[str, int]:
    """A year's figures of a village from its ledger rows: balances before and at the end, flows within."""
    start = dt.date(year, 1, 1)
    figures = dict.fromkeys(_YEAR_FIGURES, 0)
    for day, held, fund in kept.moves:
        if day < start:
            figures["opening"] += held
            figures["fund_opening"] += fund
        if day <= as_of:
            figures["closing"] += held
            figures["fund_closing"] += fund
    for day, one, fund_spent in kept.flows:
        if start <= day <= as_of:
            for name in ("raised", "matched", "rewarded", "spent", "to_fund"):
                figures[name] += getattr(one, name)
            figures["fund_spent"] += fund_spent
    return figures


_YEAR_PAGE = re.compile(r"^\d{4}$")


def _annual(site: Path, code: str, folder: Path, kept: Books) -> list[Mismatch]:
    """The village's 年度报告: ``annual.csv`` against its ledger rows, each year's page against its row."""
    found = []
    rows = {int(row["year"]): row for row in _csv(folder / "annual.csv")}
    pages = {int(p.name) for p in (site / "village" / code).iterdir()
             if _YEAR_PAGE.match(p.name) and (p / "index.html").exists()}
    if set(rows) != pages:
        found.append(Mismatch(f"village/{code}/", "年度报告页面与 annual.csv 的年度",
                              "、".join(map(str, sorted(pages))) or "无", "、".join(map(str, sorted(rows))) or "无"))
    def expect(year: int, what: str, shown, expected) -> None:
        if shown != expected:
            found.append(Mismatch(f"village/{code}/{year}/", what, str(shown), str(expected)))

    for year, row in sorted(rows.items()):
        want = _year_books(kept, year, dt.date.fromisoformat(row["as_of"]))
        listed = {name: _fen(row[f"{name}_yuan"]) for name in _YEAR_FIGURES if name != "raised"}
        listed["raised"] = _fen(row["raised_online_yuan"]) + _fen(row["raised_offline_yuan"])
        for name in _YEAR_FIGURES:
            expect(year, f"annual.csv {year} 年的 {name}", format_fen(listed[name]), format_fen(want[name]))
        if year not in pages:
            continue
        text = (site / "village" / code / str(year) / "index.html").read_text(encoding="utf-8")
        for attrs, value in _FIGURE.findall(text):
            name = _attrs(attrs)["data-figure"]
            if name in ANNUAL_COUNTS:
                expect(year, f"{year} 年的 {name}", html.unescape(value).strip(), row[ANNUAL_COUNTS[name]])
            elif f"{name}_yuan" in row:
                expect(year, f"{year} 年的 {name}", format_fen(_fen(value)), format_fen(_fen(row[f"{name}_yuan"])))
    return found


def audit_village(site: Path, code: str) -> list[Mismatch]:
    page_path = site / "village" / code / "index.html"
    page_name = f"village/{code}/"
    text = page_path.read_text(encoding="utf-8")
    folder = site / "data" / "village" / code
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    kept = books(folder)
    found: list[Mismatch] = []

    def expect(what: str, shown, expected) -> None:
        if shown != expected:
            found.append(Mismatch(page_name, what, str(shown), str(expected)))

    on = dt.date.fromisoformat(summary["as_of"])
    projects = {p["code"]: p for p in summary["projects"]}
    shown_figures: dict[str, dict[str, int]] = {}
    for project_code, body in _PROJECT_TABLE.findall(text):
        shown_figures[project_code] = {_attrs(a)["data-figure"]: _fen(v) for a, v in _FIGURE.findall(body)}
    for attrs, value in _FIGURE.findall(text):
        a = _attrs(attrs)
        if a.get("data-figure") == "raised" and "data-project" in a:
            shown_figures.setdefault(a["data-project"], {})["raised"] = _fen(value)
    for project_code, p in projects.items():
        t = kept.totals.get(project_code, Totals())
        figures = shown_figures.get(project_code, {})
        for name in FIGURES:
            expect(f"项目 {project_code} 的{name}", format_fen(figures.get(name, 0)), format_fen(getattr(t, name)))
        for name in SUMMARY_FIGURES:
            value = getattr(t, {"undisbursed": "upstream"}.get(name, name))
            expect(f"summary.json 项目 {project_code} 的 {name}_yuan", p[f"{name}_yuan"], f"{value / 100:.2f}")
        expect(f"项目 {project_code} 已筹与捐赠明细之和", format_fen(t.raised), format_fen(kept.gifts.get(project_code, 0)))
        expect(f"项目 {project_code} 已支出与支出明细之和", format_fen(t.spent),
               format_fen(kept.spending.get(project_code, 0)))
        sentence = settlement_sentence(STATES.get(p["state"], p["state"]), t)
        expect(f"summary.json 项目 {project_code} 的结转说明", p["settlement"], sentence)
    for project_code, sentence in _SETTLEMENT.findall(text):
        p = projects.get(project_code)
        if p is None:
            found.append(Mismatch(page_name, f"项目 {project_code} 不在 summary.json 中", project_code, "—"))
            continue
        expected = settlement_sentence(STATES.get(p["state"], p["state"]), kept.totals.get(project_code, Totals()))
        expect(f"项目 {project_code} 的结转说明", html.unescape(sentence).strip(), expected)
    fund_shown = [_fen(v) for a, v in _FIGURE.findall(text) if _attrs(a).get("data-figure") in ("互助基金余额", "fund_balance")]
    for value in fund_shown:
        expect("互助基金余额", format_fen(value), format_fen(kept.fund))
    expect("summary.json 的互助基金余额", summary["fund_balance_yuan"], f"{kept.fund / 100:.2f}")
    expect("互助基金支出与支出明细之和", format_fen(kept.fund_spent), format_fen(kept.spending.get("", 0)))
    found.extend(_calendar(page_name, text, projects, on))
    found.extend(_annual(site, code, folder, kept))
    return found


def _calendar(page_name: str, text: str, projects: dict, on: dt.date) -> list[Mismatch]:
    """Every window's status, recomputed from the disclosures the page publishes."""
    found = []
    published: dict[str, list[dt.date]] = {}
    for attrs in _ARTICLE.findall(text):
        a = _attrs(attrs)
        published.setdefault(a["data-project"], []).append(dt.date.fromisoformat(a["data-counted"]))
    shown: dict[str, list[tuple[dt.date, str]]] = {}
    for attrs in _WINDOW.findall(text):
        a = _attrs(attrs)
        shown.setdefault(a["data-project"], []).append((dt.date.fromisoformat(a["data-due"]), a["data-status"]))
    for code, p in projects.items():
        windows = [Deadline(w["label"], dt.date.fromisoformat(w["opens"]), dt.date.fromisoformat(w["due"]))
                   for w in p["disclosures"]]
        counted = assign(windows, [d for d in published.get(code, []) if d <= on])
        expected = [(d.due, d.status(on)) for d in counted]
        if sorted(shown.get(code, [])) != sorted(expected):
            found.append(Mismatch(page_name, f"项目 {code} 的公示日历", _describe(shown.get(code, [])),
                                  _describe(expected)))
        in_summary = sorted((dt.date.fromisoformat(w["due"]), SUMMARY_STATUS[w["status"]]) for w in p["disclosures"])
        if in_summary != sorted(expected):
            found.append(Mismatch(page_name, f"summary.json 项目 {code} 的公示日历", _describe(in_summary),
                                  _describe(expected)))
    return found


def _describe(windows) -> str:
    return "；".join(f"{due:%Y-%m-%d} {status}" for due, status in sorted(windows)) or "无"


def audit_site(site: Path, codes=None, workers: int = 1) -> list[Mismatch]:
    """Mismatches on the village pages ``codes`` (every village page when None), in code order, after those
    of 关于工程's 实施步骤; the villages are shared out over ``workers`` processes when there are many."""
    site = Path(site)
    programme = audit_programme(site)
    if codes is None:
        codes = [p.name for p in (site / "village").iterdir() if (p / "index.html").exists()] \
            if (site / "village").exists() else []
    codes = sorted(codes)
    if workers <= 1 or len(codes) < 500:
        return programme + _audit_many(site, codes)
    with multiprocessing.get_context("fork").Pool(workers, initializer=die_with_parent) as pool:
        parts = pool.starmap(_audit_many, [(site, codes[i::workers]) for i in range(workers)])
    return programme + sorted((m for part in parts for m in part), key=lambda m: m.page)


_STEP_CELL = re.compile(r'<td data-status="(\w+)" data-cell="([\w/]+)">(.*?)</td>', re.S)
_DONE_ON = re.compile(r"<small>(\d{4}-\d{2}-\d{2})(?:，晚 (\d+) 天)?</small>")
_LAUNCHED = re.compile(r'<small class="xfjy-launched">已发起 ([^<]+)</small>')
_LINKED = re.compile(r'href="\.\./(files/[^"]+)"')


def audit_programme(site: Path) -> list[Mismatch]:
    """关于工程's 实施步骤 table against ``data/programme.csv``: each cell's status, date, days late, step 三's
    count and the documents it links (which must be in ``files/``)."""
    page, data = site / "about" / "index.html", site / "data" / "programme.csv"
    if not page.exists() or not data.exists():
        return []
    cells = {key: (status, body) for status, key, body in _STEP_CELL.findall(page.read_text(encoding="utf-8"))}
    found = []
    for row in _csv(data):
        key = f"{row['phase']}/{row['unit_code']}/{row['step']}"
        where = f"about/ {row['phase_name']} {row['unit_name']} {row['step_name']}"
        if key not in cells:
            found.append(Mismatch(where, "实施步骤", "（缺失）", row["status"]))
            continue
        status, body = cells[key]
        done = _DONE_ON.search(body)
        shown = [status, done.group(1) if done else "", done.group(2) or "0" if done else "0",
                 (_LAUNCHED.search(body) or [None, ""])[1], " ".join(_LINKED.findall(body))]
        launched = f"{row['launched']}/{row['villages']}" if row["villages"] not in ("", "0") else \
            ("—" if row["step"] == "3" else "")
        expected = [row["status"], row["done_on"], row["days_late"], launched, row["documents"]]
        if shown != expected:
            found.append(Mismatch(where, "实施步骤", " · ".join(shown), " · ".join(expected)))
        found += [Mismatch(where, "公开材料", name, "（文件缺失）") for name in row["documents"].split()
                  if not (site / name).exists()]
    return found


def _audit_many(site: Path, codes: list[str]) -> list[Mismatch]:
    found = []
    for code in codes:
        found.extend(audit_village(site, code))
    return found
