"""Open data: the same rows the pages show, as CSV (UTF-8 with BOM, for Excel).

Files live at stable addresses: ``data/region/<table>.csv`` for the whole region and
``data/village/<code>/<table>.csv`` for one village. ``TABLES`` is also the data dictionary. Each
table is published once, as CSV (a region's JSON beside it held every table twice, issue 18); a
village's ``summary.json`` is the one JSON file of a village. The region's large tables (``PACKED``)
are published gzip-compressed only, ``data/region/<table>.csv.gz`` (hundreds of MB as plain CSV, a
tenth of it packed); Excel users open a village's own CSV files.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import mmap
from dataclasses import dataclass
from pathlib import Path

from db.milestones import STEPS
from db.models import Entry
from db.money import fen_to_text
from db.text import FORMULA_FIRST, spreadsheet_safe


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str


TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "projects": ("项目", (
        Column("village_code", "村社区划代码（12 位）"),
        Column("village", "村社名称"),
        Column("county", "旗县市区"),
        Column("prefecture", "盟市"),
        Column("project_code", "项目编号"),
        Column("project", "项目名称"),
        Column("state", "项目状态"),
        Column("starts_on", "募集开始日期（YYYY-MM-DD）"),
        Column("ends_on", "募集截止日期"),
        Column("target_yuan", "募集目标（元，两位小数）"),
        Column("raised_yuan", "已筹善款，扣除退款（元）"),
        Column("matched_yuan", "配捐（元）"),
        Column("rewarded_yuan", "以奖代补，进入村社互助基金（元）"),
        Column("disbursed_yuan", "逐级拨付到村社项目账户（元）"),
        Column("spent_yuan", "已支出（元）"),
        Column("balance_yuan", "项目结余：到村 + 配捐 − 支出 − 转入互助基金（元）"),
        Column("to_fund_yuan", "未达成目标或超出目标部分转入村社互助基金（元）"),
    )),
    "donations": ("捐赠（按捐赠人意愿公开）", (
        Column("village_code", "村社区划代码"),
        Column("project_code", "项目编号"),
        Column("date", "捐赠日期"),
        Column("time", "捐赠时刻（HH:MM:SS，北京时间）"),
        Column("donor", "捐赠人：同意公开的显示姓名，部分公开的显示姓氏加 *，其余显示“爱心人士”"),
        Column("amount_yuan", "金额（元）"),
        Column("channel", "捐赠方式"),
        Column("message", "留言（已隐去电话、身份证号）"),
        Column("returned", "是否已退款或冲正（是/否）"),
        Column("note", "到账说明：早于募集开始日期、募捐结束后到账计入本项目、项目结项后到账转入村社互助基金；按时到账为空"),
    )),
    "ledger": ("资金台账（复式记账，只增不改）", (
        Column("entry_id", "分录号，全区唯一、递增"),
        Column("village_code", "村社区划代码（配捐资金池注入等不属于某个村社的分录为空）"),
        Column("project_code", "项目编号"),
        Column("date", "记账日期"),
        Column("kind", "业务类型"),
        Column("from_account", "转出账户"),
        Column("to_account", "转入账户"),
        Column("amount_yuan", "金额（元，总为正数）"),
        Column("reverses", "被冲正的分录号（冲正分录才有）"),
        Column("reason", "冲正原因"),
        Column("memo", "摘要（捐赠分录不含交易号）"),
        Column("from_kind", "转出账户类别：donors 社会捐赠人、special 中华慈善总会专用账户、pass_through 各级慈善总会、"
                            "project 村社项目账户、fund 村社互助基金、pool 配捐资金池、sponsor 资金来源、payee 收款方"),
        Column("to_kind", "转入账户类别（同上）"),
    )),
    "spending": ("支出", (
        Column("village_code", "村社区划代码"),
        Column("project_code", "项目编号"),
        Column("date", "支出日期"),
        Column("item", "支出事项"),
        Column("payee", "收款方"),
        Column("amount_yuan", "金额（元）"),
        Column("voucher_no", "凭证号"),
        Column("reversed", "是否已冲正（是/否）"),
        Column("receipts", "公开的票据文件（以 files/ 开头的相对地址，多个以空格分隔）"),
        Column("paid_from", "支出来源：项目账户 或 互助基金（互助基金支出没有项目编号）"),
        Column("approved_by", "互助基金支出：同意支出的监管会成员及同意日期"),
    )),
    "annual": ("年度报告", (
        Column("level", "层级：村社、旗县市区、盟市或自治区（全区数据在各村社之后列出各地区的行）"),
        Column("code", "区划代码"),
        Column("name", "名称"),
        Column("year", "年度"),
        Column("as_of", "截止日期：12 月 31 日；当年尚未结束的为数据日期"),
        *(Column(f"{name}_yuan", meaning) for name, meaning in (
            ("opening", "年初余额：上年末本村社（地区）各项目在各级账户中的善款与村社互助基金之和（元）"),
            ("raised_online", "网络平台捐赠，扣除退款（元）"),
            ("raised_offline", "线下、单位等其他捐赠，扣除退款（元）"),
            ("matched", "配捐，进入村社项目账户（元）"),
            ("rewarded", "以奖代补，进入村社互助基金（元）"),
            ("income", "收入合计：以上四项之和（元）"),
            ("spent", "项目支出（元）"),
            ("fund_spent", "互助基金支出（经监管会同意）（元）"),
            ("outflow", "支出合计（元）"),
            ("closing", "年末余额 = 年初余额 + 收入合计 − 支出合计（元）"),
            ("held_nation", "年末余额中：在中华慈善总会、尚未拨付的（元）"),
            ("held_region", "年末余额中：在自治区慈善总会的（元）"),
            ("held_prefecture", "年末余额中：在盟市慈善总会的（元）"),
            ("held_county", "年末余额中：在旗县市区慈善总会的（元）"),
            ("held_village", "年末余额中：在村社项目账户的（元）"),
            ("fund_closing", "年末余额中：村社互助基金（元）"),
            ("from_nation", "本年中华慈善总会逐级拨付（元）"),
            ("from_region", "本年自治区慈善总会拨付（元）"),
            ("from_prefecture", "本年盟市慈善总会拨付（元）"),
            ("from_county", "本年旗县市区慈善总会拨付（元）"),
            ("arrived", "本年拨付到村社项目账户（元）"),
            ("to_fund", "本年项目善款转入互助基金（元）"),
            ("fund_opening", "互助基金年初余额（元）"),
            ("fund_carried", "互助基金收入：项目结转（未达目标、超出目标或结项结余）（元）"),
            ("fund_late_gifts", "互助基金收入：结项后到账的捐赠（元）"),
            ("fund_reward", "互助基金收入：以奖代补（元）"),
            ("pool_opening", "地区各级慈善总会配捐资金池年初余额（村社为 0）（元）"),
            ("pool_in", "本年注入配捐资金池（元）"),
            ("pool_out", "本年资金池支付的配捐和以奖代补（元）"),
            ("pool_closing", "配捐资金池年末余额（元）"),
        )),
        Column("projects_started", "本年发布募捐的项目数"),
        Column("projects_closed", "本年结项的项目数"),
        Column("disclosures_made", "本年发布的公示次数（更正不计）"),
        Column("disclosures_on_time", "截止日期在本年内的公示期间：按时公示的个数"),
        Column("disclosures_late", "……：逾期公示的个数（到年末为止）"),
        Column("disclosures_missing", "……：到年末仍未公示的个数"),
    )),
}


SUMMARY = (  # data/village/<code>/summary.json: what the village page says, as data
    Column("as_of", "公示日历的核算日期（YYYY-MM-DD）"),
    Column("village", "村社：code 区划代码、name 名称、county 旗县市区、prefecture 盟市"),
    Column("fund_balance_yuan", "村社互助基金余额（元）"),
    Column("projects", "每个公开项目一项：code、name、state（状态）及下列金额（元）"),
    Column("projects[].raised_yuan / matched_yuan / rewarded_yuan", "已筹善款（扣除退款）、配捐、以奖代补"),
    Column("projects[].disbursed_yuan / spent_yuan / balance_yuan", "拨付到村、已支出、村社项目账户结余"),
    Column("projects[].to_fund_yuan / undisbursed_yuan / unused_yuan",
           "转入互助基金、尚未拨付到村（在中华慈善总会或各级慈善总会）、项目各账户尚未使用的合计"),
    Column("projects[].settlement", "页面上关于未使用善款去向的说明（由以上金额生成）"),
    Column("projects[].disclosures", "公示日历：每个应公示期间的 label、opens、due、status（on_time 按时公示、late 逾期公示、"
                                     "missing 至今未公示、due 待公示、upcoming 未到期）、published_on、days_late"),
)
PROGRAMME = ("实施步骤进度", (  # data/programme.csv: the whole site's, one file (not a village's table)
    Column("phase", "阶段代码：pilot 探索试点、rollout 稳步推广、full 全面实施（已开始的阶段）"),
    Column("phase_name", "阶段名称"),
    Column("unit_code", "盟市（含满洲里市、二连浩特市）区划代码"),
    Column("unit_name", "盟市名称"),
    Column("step", "步骤序号：1 制定实施方案、2 开展专项培训、3 项目发起实施、4 项目验收评估"),
    Column("step_name", "步骤名称"),
    Column("due_on", "完成时间（自治区慈善总会确定）"),
    Column("status", "状态（按 as_of 计算）：not_started 未开始、in_progress 进行中、done 已完成、overdue 逾期"),
    Column("done_on", "完成日期：第 1、2、4 步为盟市填报、自治区同意的日期；第 3 步为最后一个村社发布募捐的日期"),
    Column("days_late", "已完成的，晚于完成时间的天数"),
    Column("villages", "第 3 步：本阶段该盟市的村社数"),
    Column("launched", "第 3 步：其中在完成时间前经自治区审批、发布募捐的村社数"),
    Column("documents", "公开的材料（以 files/ 开头的相对地址，多个以空格分隔）"),
    Column("as_of", "状态的计算日期"),
))


def programme_row(phase, unit, cell) -> list:
    """One (phase, unit, step) row of ``data/programme``."""
    documents = " ".join(f"files/{d.public_name}" for d in unit.documents.get(cell.step, []))
    step3 = cell.step == 3
    return [phase.code, phase.name, unit.code, unit.name, cell.step, STEPS[cell.step], cell.due_on.isoformat(),
            cell.status, cell.done_on.isoformat() if cell.done_on else "", cell.days_late if cell.status == "done" else 0,
            cell.villages if step3 else "", cell.launched if step3 else "", documents]


def write_programme(out: Path, rows: list[list], on) -> int:
    """``data/programme.csv``: the 实施步骤 of the 关于工程 page, as data."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")  # no typed text in it: nothing to neutralise
    writer.writerow([c.name for c in PROGRAMME[1]])
    writer.writerows([*row, on.isoformat()] for row in rows)
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "data" / "programme.csv").write_text("\ufeff" + text.getvalue(), encoding="utf-8")
    return 1


# The columns of each table whose text people type (names, messages, items, memos): the only cells of
# the open data that could start like a spreadsheet formula.
TYPED = {name: tuple(i for i, c in enumerate(columns) if c.name in (
    "village", "county", "prefecture", "project", "name", "donor", "channel", "message", "note", "from_account", "to_account",
    "reason", "memo", "item", "payee", "voucher_no", "approved_by")) for name, (_, columns) in TABLES.items()}
WINDOW_STATUS = {"met": "on_time", "late": "late", "overdue": "missing", "due": "due", "upcoming": "upcoming"}


def village_summary(village, place, details, on) -> dict:
    """``summary.json``: the village's figures and disclosure windows, from the values its page shows."""
    projects = []
    for p in village.projects:
        t = p.totals
        projects.append({
            "code": p.code, "name": p.name, "state": p.state_label, "target_yuan": fen_to_text(p.target),
            **{f"{name}_yuan": fen_to_text(value) for name, value in (
                ("raised", t.raised), ("matched", t.matched), ("rewarded", t.rewarded), ("disbursed", t.disbursed),
                ("spent", t.spent), ("balance", t.balance), ("to_fund", t.to_fund), ("undisbursed", t.upstream),
                ("unused", t.unused))},
            "settlement": p.settlement,
            "disclosures": [{"label": d.label, "opens": d.opens.isoformat(), "due": d.due.isoformat(),
                             "status": WINDOW_STATUS[d.status(on)],
                             "published_on": d.met_on.isoformat() if d.met_on else None, "days_late": d.days_late}
                            for d in p.calendar],
        })
    return {"as_of": on.isoformat(),
            "village": {"code": village.code, "name": village.name, "county": place.county.name,
                        "prefecture": place.prefecture.name},
            "fund_balance_yuan": fen_to_text(details.fund_balance), "projects": projects}


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def village_rows(village, place, details, years=()) -> dict[str, list[list]]:
    """The tables of one village, as lists of cell values in ``TABLES`` column order; ``years`` are its
    年度报告 figures (``db.annual.Figures``), a row each."""
    codes = {p.id: p.code for p in village.projects}
    rows: dict[str, list[list]] = {name: [] for name in TABLES}
    for p in village.projects:
        t = p.totals
        rows["projects"].append([
            village.code, village.name, place.county.name, place.prefecture.name, p.code, p.name, p.state_label,
            p.starts_on.isoformat(), p.ends_on.isoformat(), *(fen_to_text(x) for x in (
                p.target, t.raised, t.matched, t.rewarded, t.disbursed, t.spent, t.balance, t.to_fund))])
    for d in details.donations:
        rows["donations"].append([village.code, codes[d.project_id], d.on.isoformat(), d.at.strftime("%H:%M:%S"),
                                  d.donor, fen_to_text(d.amount), d.channel, d.message, _yes(d.returned), d.note])
    for e in details.entries:
        rows["ledger"].append(ledger_row(e, village.code, codes.get(e.project_id, "")))
    rows["annual"] = [annual_row("村社", village.code, village.name, f) for f in years]
    for s in [*details.spending, *details.fund_spending]:
        fund = s.project_id is None
        rows["spending"].append([village.code, "" if fund else codes[s.project_id], s.spent_on.isoformat(), s.item,
                                 s.payee, fen_to_text(s.amount), s.voucher_no, _yes(s.reversed),
                                 " ".join(f"files/{r.public_name}" for r in s.receipts),
                                 "互助基金" if fund else "项目账户",
                                 f"{s.approved_by}（{s.approved_on:%Y-%m-%d}）" if fund else ""])
    return rows


ANNUAL_MONEY = tuple(c.name[:-len("_yuan")] for c in TABLES["annual"][1] if c.name.endswith("_yuan"))
ANNUAL_COUNTS = {"started": "projects_started", "closed": "projects_closed", "disclosures_made": "disclosures_made",
                 "disclosures_met": "disclosures_on_time", "disclosures_late": "disclosures_late",
                 "disclosures_missing": "disclosures_missing"}  # db.annual.Figures counts → their columns


def annual_row(level: str, code: str, name: str, f) -> list:
    """One (village or area, year) row of ``annual``: a ``db.annual.Figures``."""
    return [level, code, name, f.year, f.as_of.isoformat(), *(fen_to_text(getattr(f, n)) for n in ANNUAL_MONEY),
            *(getattr(f, n) for n in ANNUAL_COUNTS)]


def ledger_row(e, village_code: str = "", project_code: str = "") -> list:
    return [e.id, village_code, project_code, e.booked_on.isoformat(), Entry.KINDS.get(e.kind, e.kind), e.source,
            e.target, fen_to_text(e.amount), e.reverses or "", e.reason, e.memo, e.source_kind, e.target_kind]


def csv_text(name: str, rows: list[list], header: bool = True) -> str:
    """CSV for Excel: every cell that starts like a formula is neutralised (``db.text.spreadsheet_safe``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow([c.name for c in TABLES[name][1]])
    typed = TYPED[name]
    writer.writerows(_safe(row, typed) for row in rows)
    return out.getvalue()


def _safe(row: list, typed: tuple[int, ...]) -> list:
    """Only the cells people type can start like a formula; codes, dates and amounts are made here."""
    if any(isinstance(row[i], str) and row[i][:1] in FORMULA_FIRST for i in typed):
        row = list(row)
        for i in typed:
            row[i] = spreadsheet_safe(row[i])
    return row


def write_village(directory: Path, rows: dict[str, list[list]], summary: dict) -> int:
    """The village's CSV files and ``summary.json``; returns the number of files written."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in rows.items():
        (directory / f"{name}.csv").write_text("\ufeff" + csv_text(name, table), encoding="utf-8")
    (directory / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(rows) + 1


PACKED = frozenset({"donations", "ledger", "spending"})
PACK_LEVEL = 6  # zlib's default: 3 times as fast as 9 on these files, 10 % larger


def region_file(name: str) -> str:
    """A region table's file name: ``ledger.csv.gz``, ``projects.csv``."""
    return f"{name}.csv.gz" if name in PACKED else f"{name}.csv"


def open_region(site: Path, name: str):
    """A built site's region table as text, packed or not."""
    path = Path(site) / "data" / "region" / region_file(name)
    return (gzip.open if name in PACKED else open)(path, "rt", encoding="utf-8-sig", newline="")


def _pack(data: bytes) -> bytes:
    """One gzip member: without a time stamp or a name, so the same rows give the same bytes."""
    return gzip.compress(data, compresslevel=PACK_LEVEL, mtime=0) if data else b""


def write_region(out: Path, codes: list[str], pool_entries: list, previous: Path | None = None,
                 positions: dict | None = None, kept: frozenset = frozenset(), areas: list[list] = ()) -> tuple[int, dict]:
    """``data/region/*.csv[.gz]``: the villages' rows in ``codes`` order, then the ledger entries of no
    village and the areas' 年度报告 rows (``areas``, made by ``annual_row``).

    Returns the number of files and where each village's rows sit in them (see ``join_region``)."""
    positions = positions or {}
    kept = frozenset(code for code in kept if code in positions)
    extra = {"ledger": [ledger_row(e) for e in pool_entries], "annual": list(areas)}
    where = join_region(out / "data" / "region", out / "data" / "village", codes, extra,
                        previous / "data" / "region" if previous else None, positions, kept)
    return len(TABLES), where


def join_region(region: Path, villages: Path, codes: list[str], extra: dict[str, list[list]],
                previous: Path | None = None, positions: dict | None = None, kept: frozenset = frozenset()) -> dict:
    """``region/<table>.csv``: the villages' rows in ``codes`` order (from their own files), then rows of no
    village. One format for the region: JSON beside it would hold every region table twice.

    A ``PACKED`` table is a gzip file of one member per village (RFC 1952 allows any number; gzip, zcat,
    Python and pandas read them as one file), so that a village's rows pack to the same bytes whatever
    else changed.

    Returns where each village's rows (or member) sit in each file. A village in ``kept`` has the same
    files as in ``previous`` (a build whose ``positions`` are given), so its rows are copied from the
    previous region file in one sequential read instead of opening its own files."""
    region.mkdir(parents=True, exist_ok=True)
    where: dict[str, dict] = {code: {} for code in codes}
    positions = positions or {}
    for name in TABLES:
        file = region_file(name)
        pack = _pack if name in PACKED else bytes
        head = pack(("\ufeff" + csv_text(name, [])).encode("utf-8"))
        old = None
        if previous is not None and kept and (previous / file).exists():
            with open(previous / file, "rb") as handle:
                old = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if handle.seek(0, 2) else None
        try:
            with open(region / file, "wb") as out:
                out.write(head)
                offset = len(head)
                for code in codes:
                    if old is not None and code in kept and file in positions[code]:
                        start, length = positions[code][file]
                        chunk = old[start:start + length]
                    else:
                        data = (villages / code / f"{name}.csv").read_bytes()
                        chunk = pack(data[data.index(b"\r\n") + 2:])  # the rows after the header line
                    where[code][file] = [offset, len(chunk)]
                    out.write(chunk)
                    offset += len(chunk)
                out.write(pack(csv_text(name, extra.get(name, []), header=False).encode("utf-8")))
        finally:
            if old is not None:
                old.close()
    return where
