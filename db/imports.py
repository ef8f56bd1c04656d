"""Importing the fundraising platform's donation export (CSV or XLSX): all rows or none.

A preview names every bad cell by row and column; confirming writes everything in one transaction.
Transaction numbers already in the database are skipped, so importing a file again adds nothing.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from peewee import chunked

from . import audit, donations, ledger
from .areas import get_area
from .bulk import insert_rows
from .clock import now
from .database import database, refresh_statistics, write_transaction
from .errors import DataImportError, MoneyError, Problem
from .jurisdiction import covers, require_write
from .models import AccountTally, Area, Donation, Entry, ImportRun, Level, Project, Village
from .money import parse_fen
from .totals import advance_tally
from .villages import add_township, add_village_area, register_village, village_code_problem
from .workflow import PROJECT, UNPUBLISHED_STATES

MAX_FILE_BYTES = 30 * 1024 * 1024
MAX_ROWS = 200_000
DONATION_COLUMNS = ("交易号", "项目编号", "捐赠人", "金额", "捐赠时间", "公开姓名", "留言")
REQUIRED_COLUMNS = ("交易号", "项目编号", "金额", "捐赠时间")
CONSENT_WORDS = {
    "full": {"是", "公开", "y", "yes", "1", "true", "同意"},
    "none": {"", "否", "不公开", "n", "no", "0", "false", "匿名"},
    "masked": {"部分", "部分公开", "仅姓氏", "隐去名字"},
}
CHANNEL_WORDS = {label: code for code, label in Donation.CHANNELS.items()} | {"": "online"}
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y/%m/%d")
CANONICAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")  # the platform's own export: no strptime
FORMULA_PREFIX = "="


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


def read_table(data: bytes, filename: str) -> Table:
    """Read a CSV (UTF-8 or GB18030, as Excel saves it in China) or an XLSX into text cells."""
    suffix = Path(filename).suffix.lower()
    if not data:
        raise DataImportError([Problem(None, None, "文件为空")])
    if len(data) > MAX_FILE_BYTES:
        raise DataImportError([Problem(None, None, f"文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB 的上限")])
    if suffix == ".xlsx":
        grid = _xlsx_cells(data)
    elif suffix == ".csv":
        grid = _csv_cells(data)
    else:
        raise DataImportError([Problem(None, None, f"不支持的文件类型「{suffix or filename}」，请上传 CSV 或 XLSX")])
    grid = iter(grid)
    header = None
    for _, cells in grid:
        if any(c.strip() for c in cells):
            header = [c.strip().lstrip("\ufeff") for c in cells]
            break
    if header is None:
        raise DataImportError([Problem(None, None, "文件中没有表头和数据")])
    twice = sorted({name for name in header if name and header.count(name) > 1})
    if twice:
        raise DataImportError([Problem(1, name, "表头中这一列出现了不止一次，请删去重复的列") for name in twice])
    rows = []
    for number, cells in grid:
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise DataImportError([Problem(number, None, f"超过单次导入 {MAX_ROWS} 行的上限，请分批导入")])
        rows.append((number, {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}))
    return Table(header, rows)


def _csv_cells(data: bytes):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DataImportError([Problem(None, None, "无法识别文件编码，请另存为 UTF-8 的 CSV")])
    if "\x00" in text:
        raise DataImportError([Problem(None, None, "这不是文本 CSV 文件")])
    try:
        return list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    except csv.Error as exc:
        raise DataImportError([Problem(None, None, f"CSV 格式错误：{exc}")]) from exc


MAX_UNPACKED = 150 * 1024 * 1024   # what an XLSX may unpack to, all parts together
MAX_STRINGS = 40 * 1024 * 1024     # its shared strings (read whole by openpyxl before the first row)
MAX_RATIO = 100                     # unpacked ÷ packed of one part: real sheets stay far below


def _check_archive(data: bytes) -> None:
    """Refuse a zip bomb from the sizes the archive declares (reading stops at them), before openpyxl
    unpacks anything."""
    try:
        parts = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataImportError([Problem(None, None, "XLSX 文件已损坏或格式不正确")]) from exc
    total = sum(p.file_size for p in parts)
    strings = sum(p.file_size for p in parts if p.filename.lower().endswith("sharedstrings.xml"))
    inflated = [p for p in parts if p.file_size > 1024 * 1024 and p.file_size > MAX_RATIO * max(p.compress_size, 1)]
    if total > MAX_UNPACKED or strings > MAX_STRINGS or inflated:
        raise DataImportError([Problem(None, None, "XLSX 文件解压后过大或压缩比异常，不能导入；请另存为 CSV 或分批导入")])
    first = next((p for p in parts if p.filename == "xl/worksheets/sheet1.xml"), None)
    if first is not None and _count_rows(data, first) > MAX_ROWS + 1:  # a byte scan, before parsing any XML
        raise DataImportError([Problem(None, None, f"超过单次导入 {MAX_ROWS} 行的上限，请分批导入")])


_ROW_TAG = re.compile(rb"<row[\s>/]")


def _count_rows(data: bytes, part: zipfile.ZipInfo) -> int:
    """How many ``<row`` elements a sheet holds, by scanning its bytes as they are unpacked."""
    count, tail = 0, b""
    try:
        with zipfile.ZipFile(io.BytesIO(data)).open(part) as stream:
            while chunk := stream.read(1 << 20):
                block = tail + chunk
                count += len(_ROW_TAG.findall(block))
                tail = block[-4:]  # a tag cut by the chunk boundary is found whole in the next block
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise DataImportError([Problem(None, None, f"XLSX 文件已损坏或格式不正确（{type(exc).__name__}）")]) from exc
    return count


def _xlsx_cells(data: bytes):
    if not data.startswith(b"PK\x03\x04"):
        raise DataImportError([Problem(None, None, "这不是有效的 XLSX 文件（可能是改了扩展名的其他文件）")])
    _check_archive(data)
    book = None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # read-only mode trusts the file's <dimension>, which exporters get wrong
        grid = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:  # refused while streaming, not after reading millions of rows
                raise DataImportError([Problem(number, None, f"超过单次导入 {MAX_ROWS} 行的上限，请分批导入")])
            grid.append((number, [_cell_text(v, number, i) for i, v in enumerate(values)]))
    except DataImportError:
        raise
    except (zipfile.BadZipFile, zlib.error, SyntaxError, KeyError, ValueError, TypeError, OSError,
            IndexError, EOFError) as exc:
        raise DataImportError([Problem(None, None, f"XLSX 文件已损坏或格式不正确（{type(exc).__name__}）")]) from exc
    finally:
        if book is not None:
            book.close()
    return grid


def _cell_text(value, row: int, col: int) -> str:
    """Excel numbers become their shortest decimal text, so 100.5 stays exactly 100.5."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    return str(value)


@dataclass
class DonationRow:
    row: int
    txn_no: str
    project: Project
    donor_name: str
    name_consent: str
    amount: int
    donated_at: dt.datetime
    message: str
    channel: str
    timing: str = ""


_TIMING_WARNINGS = {
    "early": "早于募集开始日期 {start}，仍按本项目捐赠入账，请核对",
    "late": "项目募捐已结束（当前「{state}」，募集截止 {end}），记为逾期到账，计入本项目",
    "to_fund": "项目已结项，记为逾期到账，入账后转入村社互助基金",
}


@dataclass
class DonationPreview:
    filename: str
    sha256: str
    rows: list[DonationRow] = field(default_factory=list)
    already: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # accepted rows the importer should look at
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _table_for(preview, data: bytes, filename: str, required, columns) -> Table | None:
    """Read the file and check its header; on failure the problems go on ``preview`` and None is returned."""
    try:
        table = read_table(data, filename)
    except DataImportError as exc:
        preview.problems = exc.problems
        return None
    missing = [c for c in required if c not in table.header]
    if missing:
        preview.problems = [Problem(1, c, "缺少必需的列（表头应为：" + "、".join(columns) + "）") for c in missing]
        return None
    if not table.rows:
        preview.problems = [Problem(None, None, "文件只有表头，没有数据行")]
        return None
    return table


def _formula_cells(number: int, cells: dict[str, str]) -> list[Problem]:
    return [Problem(number, column, "单元格含公式，请先粘贴为数值再导入")
            for column, value in cells.items() if value.lstrip(" \u3000\t").startswith(FORMULA_PREFIX)]


def preview_donations(data: bytes, filename: str, actor=None, progress=None) -> DonationPreview:
    """Check every cell without writing anything. ``progress(done, total)`` is called as rows are read."""
    require_write(actor)
    preview = DonationPreview(filename, hashlib.sha256(data).hexdigest())
    table = _table_for(preview, data, filename, REQUIRED_COLUMNS, DONATION_COLUMNS)
    if table is None:
        return preview
    problems = preview.problems
    codes = {cells.get("项目编号", "").strip() for _, cells in table.rows}
    projects = {}
    for chunk in chunked(sorted(codes), 500):
        for project in Project.select().where(Project.code.in_(chunk)):
            projects[project.code] = project
    txn_seen: dict[str, int] = {}
    parsed: list[DonationRow] = []
    latest = now() + dt.timedelta(days=1)
    for index, (number, cells) in enumerate(table.rows):
        if progress is not None and index % 2000 == 0:
            progress(index, len(table.rows))
        before = len(problems)
        problems.extend(_formula_cells(number, cells))
        if len(problems) > before:
            continue
        txn = cells.get("交易号", "").strip()
        if not txn:
            problems.append(Problem(number, "交易号", "交易号不能为空"))
        elif len(txn) > 64:
            problems.append(Problem(number, "交易号", "交易号过长（最多 64 个字符）"))
        elif txn in txn_seen:
            problems.append(Problem(number, "交易号", f"与第 {txn_seen[txn]} 行的交易号重复"))
        else:
            txn_seen[txn] = number
        code = cells.get("项目编号", "").strip()
        project = projects.get(code)
        if project is None or (actor is not None and not covers(actor, project.village.area)):
            problems.append(Problem(number, "项目编号", f"项目编号「{code}」不存在或不在您的管辖范围内"))
            project = None
        elif project.state in UNPUBLISHED_STATES:
            state = PROJECT.label(project.state)
            problems.append(Problem(number, "项目编号", f"项目「{project.name}」当前为「{state}」，尚未发布募捐，不接受捐赠"))
        try:
            amount = parse_fen(cells.get("金额", ""), allow_zero=False)
        except MoneyError as exc:
            problems.append(Problem(number, "金额", str(exc)))
            amount = 0
        donated_at = _parse_time(cells.get("捐赠时间", ""))
        if donated_at is None:
            text = cells.get("捐赠时间", "")
            problems.append(Problem(number, "捐赠时间", f"时间「{text}」格式不正确，应如 2024-03-05 14:30:00（半角数字）"))
        elif donated_at > latest:
            problems.append(Problem(number, "捐赠时间", "捐赠时间晚于今天"))
        elif donated_at < EARLIEST:
            problems.append(Problem(number, "捐赠时间", f"捐赠时间 {donated_at:%Y-%m-%d} 早于 2000 年，请核对"))
        consent = _consent(cells.get("公开姓名", ""))
        if consent is None:
            problems.append(Problem(number, "公开姓名", "应填 是、否 或 部分"))
        channel = CHANNEL_WORDS.get(cells.get("渠道", "").strip())
        if channel is None:
            problems.append(Problem(number, "渠道", "应填 " + "、".join(Donation.CHANNELS.values())))
        donor = cells.get("捐赠人", "").strip()
        if len(donor) > 64:
            problems.append(Problem(number, "捐赠人", "捐赠人名称过长（最多 64 个字符）"))
        message = cells.get("留言", "").strip()
        if len(message) > 500:
            problems.append(Problem(number, "留言", "留言过长（最多 500 个字）"))
        if len(problems) == before:
            timing = donations.gift_timing(project, donated_at)
            if timing:
                preview.warnings.append(Problem(number, "捐赠时间", _TIMING_WARNINGS[timing].format(
                    start=project.starts_on, end=project.ends_on, state=PROJECT.label(project.state))))
            parsed.append(DonationRow(number, txn, project, donor, consent, amount, donated_at, message, channel,
                                      timing))
    preview.total = len(table.rows)
    _drop_existing(preview, parsed)
    return preview


def _drop_existing(preview: DonationPreview, parsed: list[DonationRow]) -> None:
    """Rows already imported are skipped; a number already used for a different gift is an error."""
    by_txn = {row.txn_no: row for row in parsed}
    existing = {}
    txns = list(by_txn)
    for chunk in chunked(txns, 500):
        query = Donation.select(Donation.txn_no, Donation.project, Donation.amount).where(Donation.txn_no.in_(chunk))
        for txn, project_id, amount in query.tuples():
            existing[txn] = (project_id, amount)
    for row in parsed:
        if row.txn_no not in existing:
            preview.rows.append(row)
        elif existing[row.txn_no] == (row.project.id, row.amount):
            preview.already += 1
        else:
            preview.problems.append(Problem(row.row, "交易号", f"交易号「{row.txn_no}」已导入过，但项目或金额不同"))


EARLIEST = dt.datetime(2000, 1, 1)  # no gift of this programme (from 2023) is older; year 0001 is a typing slip


def _parse_time(text: str) -> dt.datetime | None:
    text = text.strip()
    if not text.isascii():  # strptime would read other scripts' digits
        return None
    if len(text) == 19 and CANONICAL_TIME.fullmatch(text):
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    for fmt in TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _consent(text: str) -> str | None:
    word = text.strip().lower()
    for consent, words in CONSENT_WORDS.items():
        if word in words:
            return consent
    return None


@dataclass
class ImportResult:
    added: int
    skipped: int
    run: ImportRun | None

    what: str = "条捐赠"

    @property
    def message(self) -> str:
        if not self.added:
            return f"全部 {self.skipped} 行此前已导入，本次未新增任何记录"
        extra = f"，跳过此前已导入的 {self.skipped} 行" if self.skipped else ""
        return f"成功导入 {self.added} {self.what}{extra}"


def import_donations(data: bytes, filename: str, actor=None, progress=None) -> ImportResult:
    """Check, then write every new row and its ledger entry in one transaction, or nothing.

    Imports run one at a time (the ledger lock, taken before the check): of two overlapping files,
    the second sees the first one's rows as already imported."""
    with write_transaction():
        ledger.hold_ledger()
        preview = preview_donations(data, filename, actor, progress)
        if not preview.ok:
            raise DataImportError(preview.problems)
        result = commit_donations(preview, actor)
    _refresh_after(result)
    return result


def commit_donations(preview: DonationPreview, actor=None) -> ImportResult:
    require_write(actor)
    if not preview.rows:
        return ImportResult(0, preview.already, None)
    with write_transaction():
        run = ImportRun.create(kind="donations", filename=Path(preview.filename).name[:256], sha256=preview.sha256,
                               added=len(preview.rows), skipped=preview.already, user=getattr(actor, "id", None))
        insert_rows(Donation, ("project", "txn_no", "donor_name", "name_consent", "amount", "channel", "donated_at",
                               "message", "timing", "import_run"),
                    ((r.project.id, r.txn_no, r.donor_name, r.name_consent, r.amount, r.channel, r.donated_at,
                      r.message, r.timing, run.id) for r in preview.rows))
        ids = dict(Donation.select(Donation.txn_no, Donation.id).where(Donation.import_run == run).tuples())
        to_fund = {r.project.id: r.project.village.area_id for r in preview.rows if r.timing == "to_fund"}
        donations.receive_donations_bulk(
            [(ids[r.txn_no], r.project.id, r.amount, r.txn_no, r.donated_at) for r in preview.rows], actor,
            to_fund=to_fund)
        advance_tally()
        audit.record(actor, "import", run, summary=f"导入捐赠文件 {run.filename}：新增 {run.added} 条，跳过 {run.skipped} 条")
    result = ImportResult(run.added, run.skipped, run)
    if not database.in_transaction():  # the admin's 确认导入 (import_donations refreshes after its own transaction)
        _refresh_after(result)
    return result


BULK = 10_000  # rows of an import after which the planner's statistics of the tables it grew are refreshed


def _refresh_after(result: ImportResult) -> None:
    if result.added >= BULK:
        refresh_statistics([Donation, Entry, AccountTally])


# -- villages -------------------------------------------------------------------------------------

VILLAGE_COLUMNS = ("村社代码", "村社名称", "乡镇/街道代码", "乡镇/街道名称", "申报村居全称", "类别", "详细地址",
                   "负责人", "联系电话", "批次")
VILLAGE_REQUIRED = ("村社代码", "村社名称", "乡镇/街道代码", "类别", "批次")
BATCH_WORDS = {"探索试点": "pilot", "试点": "pilot", "稳步推广": "rollout", "全面实施": "full"}


@dataclass
class VillageRow:
    row: int
    code: str
    name: str
    township_code: str
    township_name: str
    full_name: str
    kind: str
    address: str
    leader_name: str
    leader_phone: str
    batch: str


@dataclass
class VillagePreview:
    filename: str
    sha256: str
    rows: list[VillageRow] = field(default_factory=list)
    already: int = 0
    problems: list[Problem] = field(default_factory=list)
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def preview_villages(data: bytes, filename: str, actor=None) -> VillagePreview:
    """Check a village list (村社代码 = 12-digit 统计用区划代码 under a real 旗县市区) without writing."""
    require_write(actor)
    preview = VillagePreview(filename, hashlib.sha256(data).hexdigest())
    table = _table_for(preview, data, filename, VILLAGE_REQUIRED, VILLAGE_COLUMNS)
    if table is None:
        return preview
    problems = preview.problems
    codes = [cells.get("村社代码", "").strip() for _, cells in table.rows]
    known = {a.code: a for a in Area.select().where(Area.code.in_(
        codes + [c[:9] for c in codes] + [c[:6] for c in codes]))}
    registered = {a for (a,) in Village.select(Area.code).join(Area).where(Area.code.in_(codes)).tuples()}
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        before = len(problems)
        problems.extend(_formula_cells(number, cells))
        if len(problems) > before:
            continue
        code = cells.get("村社代码", "").strip()
        town_code = cells.get("乡镇/街道代码", "").strip()
        if not (len(code) == 12 and code.isdigit()):
            problems.append(Problem(number, "村社代码", village_code_problem(code, None)))
            continue
        if code in seen:
            problems.append(Problem(number, "村社代码", f"与第 {seen[code]} 行重复"))
            continue
        seen[code] = number
        county = known.get(code[:6])
        if county is None or county.county_id != county.id:
            problems.append(Problem(number, "村社代码", f"前 6 位 {code[:6]} 不是内蒙古的旗县市区代码"))
            continue
        if town_code != code[:9]:
            problems.append(Problem(number, "乡镇/街道代码", f"应为村社代码的前 9 位 {code[:9]}"))
        township = known.get(code[:9])
        town_name = cells.get("乡镇/街道名称", "").strip()
        if township is None and not town_name:
            problems.append(Problem(number, "乡镇/街道名称", "新的乡镇/街道须填写名称"))
        if township is not None and township.level != Level.TOWNSHIP:
            problems.append(Problem(number, "乡镇/街道代码", "该代码不是乡镇/街道"))
        scope = township or county
        if actor is not None and not covers(actor, scope):
            problems.append(Problem(number, "村社代码", "不在您的管辖范围内"))
        name = cells.get("村社名称", "").strip()
        if not name or len(name) > 60:
            problems.append(Problem(number, "村社名称", "不能为空，且不超过 60 个字"))
        kind = cells.get("类别", "").strip()
        if kind not in Village.KINDS:
            problems.append(Problem(number, "类别", "应为 村、嘎查 或 社区"))
        batch = BATCH_WORDS.get(cells.get("批次", "").strip())
        if batch is None:
            problems.append(Problem(number, "批次", "应为 探索试点、稳步推广 或 全面实施"))
        phone = cells.get("联系电话", "").strip()
        if phone and not (phone.replace("-", "").isdigit() and 7 <= len(phone) <= 20):
            problems.append(Problem(number, "联系电话", "电话号码格式不正确"))
        existing = known.get(code)
        if existing is not None and existing.level != Level.VILLAGE:
            problems.append(Problem(number, "村社代码", "该代码已被其他级别的区划使用"))
        if len(problems) > before:
            continue
        if code in registered:
            preview.already += 1
            continue
        preview.rows.append(VillageRow(number, code, name, town_code, town_name or township.name,
                                       cells.get("申报村居全称", "").strip() or f"{county.name}{town_name}{name}",
                                       kind, cells.get("详细地址", "").strip(), cells.get("负责人", "").strip(),
                                       phone, batch))
    preview.total = len(table.rows)
    return preview


def import_villages(data: bytes, filename: str, actor=None) -> ImportResult:
    """Register every new village (and new township) in one transaction, or nothing."""
    require_write(actor)
    with write_transaction():
        ledger.hold_ledger()  # one import at a time: the second sees the first one's villages
        preview = preview_villages(data, filename, actor)
        if not preview.ok:
            raise DataImportError(preview.problems)
        if not preview.rows:
            return ImportResult(0, preview.already, None, "个村社")
        run = ImportRun.create(kind="villages", filename=Path(filename).name[:256], sha256=preview.sha256,
                               added=len(preview.rows), skipped=preview.already, user=getattr(actor, "id", None))
        for row in preview.rows:
            township = Area.get_or_none(Area.code == row.township_code) or add_township(
                get_area(row.code[:6]), row.township_code, row.township_name)
            area = Area.get_or_none(Area.code == row.code) or add_village_area(township, row.code, row.name)
            register_village(area.code, full_name=row.full_name, kind=row.kind, address=row.address,
                             leader_name=row.leader_name, leader_phone=row.leader_phone, batch=row.batch, actor=actor)
        audit.record(actor, "import", run, summary=f"导入村社文件 {run.filename}：新增 {run.added} 个，跳过 {run.skipped} 个")
    return ImportResult(run.added, run.skipped, run, "个村社")
