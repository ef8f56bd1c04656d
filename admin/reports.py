"""The 统计报表 workbook: a ``db.reports.Report`` as XLSX (封面, then a sheet per level); and the 年度报告
workbook: a ``db.annual.AnnualReport`` (封面, the statement, a sheet per level below, the projects).

Money is written as numbers in 元 (fen / 100) with the format ``#,##0.00``, counts as integers, codes as
text. The file is the same byte for byte for the same report, except the cover's generated-at cell: the
workbook's created/modified properties are the as-of date and every zip member carries a fixed time."""
from __future__ import annotations

import datetime as dt
import getpass
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from db.annual import COUNTS, LABELS, SECTIONS, AnnualReport
from db.clock import now
from db.models import Evaluation, Level, SampleDraw
from db.reports import STATES, Report, ReportRow
from db.sampling import Coverage
from db.text import spreadsheet_safe
from db.workflow import PROJECT

MONEY = "#,##0.00"
COUNT = "#,##0"
FORMATS = {"money": MONEY, "count": COUNT, "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
GENERATED_AT = "B7"  # the one cell that differs between two runs on the same data
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[ReportRow], object]
    kind: str = "count"  # "text", "count" or "money"
    width: int = 12

    @property
    def field(self) -> str:
        """The ``ReportRow`` field it shows ("" for the text and state columns)."""
        return getattr(self.value, "field", "")


def _money(name: str) -> Callable[[ReportRow], float]:
    def value(row: ReportRow) -> float:
        return getattr(row, name) / 100
    value.field = name
    return value


def _count(name: str) -> Callable[[ReportRow], int]:
    def value(row: ReportRow) -> int:
        return getattr(row, name)
    value.field = name
    return value


def _state(state: str) -> Callable[[ReportRow], int]:
    return lambda row: row.by_state[state]


COLUMNS = (
    Column("区划代码", lambda row: row.code, "text", 15),
    Column("名称", lambda row: row.name, "text", 24),
    Column("上级", lambda row: row.parent, "text", 18),
    Column("已设立互助基金村社", _count("fund_villages")),
    Column("其中试点批次", _count("pilot_fund_villages")),
    Column("附件1试点任务数", lambda row: row.quota),
    Column("项目数", _count("projects"), width=10),
    *(Column(f"项目·{PROJECT.label(state)}", _state(state), width=10) for state in STATES),
    Column("已筹善款", _money("raised"), "money", 16),
    Column("其中网络平台", _money("raised_online"), "money", 16),
    Column("其中线下及其他", _money("raised_offline"), "money", 16),
    Column("配捐", _money("matched"), "money", 15),
    Column("以奖代补", _money("rewarded"), "money", 15),
    Column("中华慈善总会拨付", _money("from_nation"), "money", 16),
    Column("自治区拨付", _money("from_region"), "money", 16),
    Column("盟市拨付", _money("from_prefecture"), "money", 16),
    Column("旗县市区拨付", _money("from_county"), "money", 16),
    Column("拨付到村社", _money("arrived"), "money", 16),
    Column("项目支出", _money("spent"), "money", 16),
    Column("转入互助基金", _money("to_fund"), "money", 16),
    Column("结存·中华慈善总会", _money("held_nation"), "money", 16),
    Column("结存·自治区", _money("held_region"), "money", 16),
    Column("结存·盟市", _money("held_prefecture"), "money", 16),
    Column("结存·旗县市区", _money("held_county"), "money", 16),
    Column("结存·村社项目账户", _money("held_village"), "money", 16),
    Column("互助基金余额", _money("fund_balance"), "money", 16),
    Column("配捐资金池余额", _money("pool_balance"), "money", 16),
    Column("按时公示", _count("disclosures_met"), width=10),
    Column("逾期公示", _count("disclosures_late"), width=10),
    Column("逾期未公示", _count("disclosures_missing"), width=11),
    Column("验收评估", _count("evaluations"), width=10),
)


REPORT_LABELS = {c.field: c.header for c in COLUMNS if c.field}  # the printed 统计报表 names figures as the workbook
REPORT_LABELS["held"] = "项目善款结存（各级合计）"
# What the printed 统计报表 shows of its area, group by group, and the columns of its two tables of the level below.
PRINT_GROUPS = (
    ("村社与项目", ("fund_villages", "pilot_fund_villages", "projects", "evaluations")),
    ("资金流量", ("raised", "raised_online", "raised_offline", "matched", "rewarded", "from_nation", "from_region",
              "from_prefecture", "from_county", "arrived", "spent", "to_fund")),
    ("截止日结存", ("held_nation", "held_region", "held_prefecture", "held_county", "held_village", "fund_balance",
               "pool_balance")),
    ("公示", ("disclosures_met", "disclosures_late", "disclosures_missing")),
)
PRINT_FLOWS = ("fund_villages", "projects", "raised", "matched", "rewarded", "arrived", "spent", "to_fund")
PRINT_BALANCES = ("held", "fund_balance", "pool_balance", "disclosures_met", "disclosures_late",
                  "disclosures_missing", "evaluations")
MONEY_FIELDS = frozenset(c.field for c in COLUMNS if c.kind == "money") | {"held"}


def default_author() -> str:
    """Who generates a report from the command line: the operating system's user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "命令行"


def period_text(report: Report) -> str:
    if report.start is None:
        return f"截至 {report.as_of:%Y-%m-%d}（自有记录起）"
    return f"{report.start:%Y-%m-%d} 至 {report.as_of:%Y-%m-%d}"


def workbook(report: Report, *, by: str, generated_at: dt.datetime) -> Workbook:
    book = Workbook()
    _cover(book.active, report, by, generated_at)
    for level in report.levels:
        sheet = book.create_sheet(level.name)
        sheet.append([c.header for c in COLUMNS])
        for row in (*level.rows, level.total):
            sheet.append([spreadsheet_safe(c.value(row)) for c in COLUMNS])
        last = sheet.max_row
        for index, column in enumerate(COLUMNS, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = column.width
            if column.kind != "text":
                for (cell,) in sheet.iter_rows(min_row=2, max_row=last, min_col=index, max_col=index):
                    cell.number_format = MONEY if column.kind == "money" else COUNT
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for cell in sheet[last]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "C2"  # the header row and the code and name columns
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{last - 1}"
    stamp = dt.datetime.combine(report.as_of, dt.time())
    book.properties.created = book.properties.modified = stamp
    book.properties.creator = "xfjy"
    book.properties.title = f"{report.name}统计报表（{period_text(report)}）"
    return book


def _cover(sheet, report: Report, by: str, generated_at: dt.datetime) -> None:
    sheet.title = "封面"
    level_name = Level.NAMES[report.level]
    lines = [
        ("幸福家园 村社互助工程 统计报表", None),
        ("统计区域", f"{report.name}（{level_name}，区划代码 {report.code}）"),
        ("统计期间", period_text(report)),
        ("统计截止日期", f"{report.as_of:%Y-%m-%d}"),
        ("分表", "、".join(level.name for level in report.levels)),
        ("生成人", by),
        ("生成时间", f"{generated_at:%Y-%m-%d %H:%M:%S}"),
        ("公开历史头", f"序号 {report.head_seq}，哈希 {report.head_hash}"),
        ("金额单位", "元"),
        ("口径", "所有数字只取记账日期不晚于统计截止日期的分录；资金流量（已筹、配捐、以奖代补、各级拨付、支出、"
                "转入互助基金）计统计期间内记账的分录，结存、互助基金余额与资金池余额为截止日期当日的余额；"
                "项目状态为截止日期当日所处的状态（按审核记录）；公示按公示日历计应于统计期间内完成的各期。"),
        ("", "已筹善款为捐赠减退款（冲正已抵消）；结存为各项目尚未支出、尚未转入互助基金的善款所在层级；"
             "合计行为本区域全部数字（含本级慈善总会的配捐资金池）。"),
    ]
    _write_cover(sheet, lines, generated_at)


def _write_cover(sheet, lines, generated_at: dt.datetime) -> None:
    """A cover sheet: a label and a (typed, so never a formula) value a line; the generated-at cell where
    ``_fixed_bytes`` expects it."""
    for row, (label, value) in enumerate(lines, start=1):
        sheet.cell(row=row, column=1, value=label)
        if value is not None:
            sheet.cell(row=row, column=2, value=spreadsheet_safe(value)).alignment = Alignment(wrap_text=True, vertical="top")
    assert sheet[GENERATED_AT].value == f"{generated_at:%Y-%m-%d %H:%M:%S}"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 90

def workbook_bytes(report: Report, *, by: str, generated_at: dt.datetime | None = None) -> bytes:
    """The XLSX file: the same bytes for the same report, apart from the generated-at cell (Beijing time,
    now unless given)."""
    return _fixed_bytes(workbook(report, by=by, generated_at=generated_at or now()))


def _fixed_bytes(book: Workbook) -> bytes:
    """A workbook's file with every zip member at one fixed time, so that the same cells give the same bytes."""
    raw = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(member, source.read(info.filename))
    return fixed.getvalue()


# -- 年度报告 ----------------------------------------------------------------------------------------------

TOTALS = ("income", "outflow", "closing", "fund_income", "fund_closing", "pool_closing")  # bold in every view
ANNUAL_FIGURES = tuple(dict.fromkeys(name for _, names in SECTIONS for name in names))  # a column each, in order


def annual_period(report: AnnualReport) -> str:
    if report.figures.complete:
        return f"{report.year}-01-01 至 {report.year}-12-31"
    return f"{report.year}-01-01 至 {report.as_of:%Y-%m-%d}（年度尚未结束）"


def annual_workbook(report: AnnualReport, *, by: str, generated_at: dt.datetime) -> Workbook:
    book = Workbook()
    cover = book.active
    _annual_cover(cover, report, by, generated_at)
    _statement(book.create_sheet("年度报告"), report)
    for level in report.levels:
        sheet = book.create_sheet(level.name)
        headers = ["区划代码", "名称", "上级", *(LABELS[n] for n in ANNUAL_FIGURES)]
        sheet.append(headers)
        for row in level.rows:
            sheet.append([spreadsheet_safe(row.code), spreadsheet_safe(row.name), spreadsheet_safe(row.parent),
                          *(_cell(row.figures, n) for n in ANNUAL_FIGURES)])
        _table(sheet, widths=(15, 24, 18), kinds=["text"] * 3 + [_kind(n) for n in ANNUAL_FIGURES])
    projects = book.create_sheet("项目")
    projects.append(["项目编号", "项目名称", "村社代码", "村社", "年末状态", "本年已筹", "本年支出", "本年发布募捐", "本年结项"])
    for line in report.projects:
        projects.append([spreadsheet_safe(v) for v in (line.code, line.name, line.village_code, line.village, line.state)]
                        + [line.raised / 100, line.spent / 100, "是" if line.started else "否", "是" if line.closed else "否"])
    _table(projects, widths=(20, 28, 15, 28, 12), kinds=["text"] * 5 + ["money", "money", "text", "text"])
    stamp = dt.datetime.combine(report.as_of, dt.time())
    book.properties.created = book.properties.modified = stamp
    book.properties.creator = "xfjy"
    book.properties.title = f"{report.name}{report.year}年度报告"
    return book


def _kind(name: str) -> str:
    return "count" if name in COUNTS else "money"


def _cell(figures, name: str):
    value = getattr(figures, name)
    return value if name in COUNTS else value / 100


def _table(sheet, widths, kinds) -> None:
    """Header bold and frozen, money as ``#,##0.00``, counts as ``#,##0``, dates as dates, a filter over the rows."""
    for index, kind in enumerate(kinds, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = widths[index - 1] if index <= len(widths) else 16
        if kind != "text":
            for (cell,) in sheet.iter_rows(min_row=2, max_row=sheet.max_row, min_col=index, max_col=index):
                cell.number_format = FORMATS[kind]
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.freeze_panes = "C2" if len(kinds) > 9 else "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(kinds))}{max(sheet.max_row, 1)}"


def _statement(sheet, report: AnnualReport) -> None:
    """The area's own figures, section by section: a label and a number a line."""
    figures = report.figures
    sheet.append([f"{report.name}{report.year}年度报告（{annual_period(report)}）", None])
    sheet["A1"].font = Font(bold=True, size=13)
    for heading, names in SECTIONS:
        sheet.append([])
        sheet.append([heading, "个数" if names[0] in COUNTS else "金额（元）"])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for name in names:
            sheet.append([LABELS[name], _cell(figures, name)])
            label, value = sheet[sheet.max_row]
            value.number_format = COUNT if name in COUNTS else MONEY
            if name in TOTALS:
                label.font = value.font = Font(bold=True)
    sheet.append([])
    sheet.append(["核对", "年初余额 + 收入合计 − 支出合计 = 年末余额；逐级拨付与结转是本表资金之内的移动，不计入收支。"])
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 20


def _annual_cover(sheet, report: AnnualReport, by: str, generated_at: dt.datetime) -> None:
    sheet.title = "封面"
    lines = [
        ("幸福家园 村社互助工程 年度报告", None),
        ("报告对象", f"{report.name}（{report.level_name}，区划代码 {report.code}）"),
        ("年度", f"{report.year} 年"),
        ("统计期间", annual_period(report)),
        ("分表", "、".join(["年度报告", *(level.name for level in report.levels), "项目"])),
        ("生成人", by),
        ("生成时间", f"{generated_at:%Y-%m-%d %H:%M:%S}"),
        ("公开历史头", f"序号 {report.head_seq}，哈希 {report.head_hash}"),
        ("金额单位", "元"),
        ("口径", "本报告的资金是区域内各项目的善款（无论在中华慈善总会、各级慈善总会还是村社项目账户）与村社互助基金；"
                "年初余额为上年 12 月 31 日日终余额，年末余额为本年 12 月 31 日（年度未结束时为统计截止日）日终余额，"
                "收支只取记账日期在本年内的分录。配捐资金池单列。项目发布募捐、结项按审核记录；公示按公示日历计截止日期在本年内的各期。"),
    ]
    _write_cover(sheet, lines, generated_at)


def annual_workbook_bytes(report: AnnualReport, *, by: str, generated_at: dt.datetime | None = None) -> bytes:
    """The 年度报告 XLSX: the same bytes for the same report, apart from the generated-at cell."""
    return _fixed_bytes(annual_workbook(report, by=by, generated_at=generated_at or now()))


# -- 抽查验收 ----------------------------------------------------------------------------------------------

ITEM_STATES = {"open": "待评估", "evaluated": "已评估", "skipped": "未评估（已说明原因）"}
REPLAYED = "按记录的种子和总体重新抽取，结果一致"
POPULATION_CHANGED = "抽取以来总体已变化（项目进入或离开验收、结项，或加权时筹款额变动），总体哈希不同，无法按原总体重新抽取"
REPLAY_DIFFERS = "按记录的种子和总体重新抽取，结果与记录的清单不一致，请联系系统管理员核查"
CHECKLIST = (("序号", "count", 6), ("旗县市区", "text", 14), ("村社", "text", 28), ("项目编号", "text", 20),
             ("项目名称", "text", 28), ("已筹善款", "money", 14), ("项目状态", "text", 10), ("抽查状态", "text", 18),
             ("评估日期", "date", 12), ("评估结果", "text", 10), ("评分", "count", 8), ("评估单位", "text", 24),
             ("评估人", "text", 12), ("未评估原因", "text", 30), ("处理时间", "datetime", 17))


def draw_method(sample: SampleDraw) -> str:
    """How a draw sized its sample."""
    size = f"比例 {sample.share_bp / 100:g}%" if sample.share_bp is not None else f"数量 {sample.count}"
    return size + ("，按筹款额加权" if sample.weighted else "")


def item_state(item) -> str:
    """Which ``ITEM_STATES`` a checklist item is in (as ``db.sampling.coverage`` counts them)."""
    return "evaluated" if item.evaluation_id is not None else "skipped" if item.resolved_at is not None else "open"


def replay_text(replayed: list[int] | None, items) -> str:
    """What ``db.sampling.replay`` found, said to a reader."""
    if replayed is None:
        return POPULATION_CHANGED
    return REPLAYED if replayed == [item.project_id for item in items] else REPLAY_DIFFERS


def sampling_workbook(sample: SampleDraw, items, *, raised: dict[int, int], coverage: Coverage, replay: str, by: str,
                      generated_at: dt.datetime) -> Workbook:
    """封面 (the draw's parameters, seed, population hash, coverage by grade) and 抽查清单 (a row per item)."""
    book = Workbook()
    cover = book.active
    cover.title = "封面"
    lines = [
        ("幸福家园 村社互助工程 抽查验收清单", None),
        ("抽查范围", f"{sample.area.name}（区划代码 {sample.area.code}）"),
        ("抽取时间", f"{sample.drawn_at:%Y-%m-%d %H:%M:%S}"),
        ("抽查方式", f"{draw_method(sample)}，按旗县市区分层"),
        ("随机种子", sample.seed),
        ("生成人", by),
        ("生成时间", f"{generated_at:%Y-%m-%d %H:%M:%S}"),
        ("总体", f"{sample.population_size} 个处于验收或结项阶段的项目"),
        ("总体哈希", f"SHA-256 {sample.population_hash}"),
        ("复核", replay),
        ("说明", sample.note),
        ("抽中", coverage.sampled),
        ("已评估", coverage.evaluated),
        ("已说明原因", coverage.skipped),
        ("待办", coverage.open),
        *((f"评估结果·{label}", coverage.by_grade[key]) for key, label in Evaluation.RESULTS.items()),
        ("金额单位", "元"),
    ]
    _write_cover(cover, lines, generated_at)
    sheet = book.create_sheet("抽查清单")
    sheet.append([header for header, _, _ in CHECKLIST])
    for item in items:
        project, evaluation = item.project, item.evaluation
        texts = (item.stratum.name, project.village.full_name, project.code, project.name)
        graded = (evaluation.evaluated_on, Evaluation.RESULTS[evaluation.result], evaluation.score,
                  spreadsheet_safe(evaluation.unit), spreadsheet_safe(evaluation.evaluator)) if evaluation else (None,) * 5
        sheet.append([item.position, *map(spreadsheet_safe, texts), raised.get(item.project_id, 0) / 100,
                      PROJECT.label(project.state), ITEM_STATES[item_state(item)], *graded,
                      spreadsheet_safe(item.skipped_reason), item.resolved_at])
    _table(sheet, widths=[width for _, _, width in CHECKLIST], kinds=[kind for _, kind, _ in CHECKLIST])
    book.properties.created = book.properties.modified = sample.drawn_at
    book.properties.creator = "xfjy"
    book.properties.title = f"{sample.area.name}抽查验收清单（{sample.drawn_at:%Y-%m-%d}）"
    return book


def sampling_workbook_bytes(sample: SampleDraw, items, *, generated_at: dt.datetime | None = None, **facts) -> bytes:
    """The 抽查验收 XLSX: the same bytes for the same checklist, apart from the generated-at cell."""
    return _fixed_bytes(sampling_workbook(sample, items, generated_at=generated_at or now(), **facts))
