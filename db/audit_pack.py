"""项目审计包: one project's whole file for an auditor, as one zip (``xfjy audit-pack``).

The pack holds the 附件2 form as printed, the review chain, every donation (donors as stored: this is
for auditors, not the public), every ledger entry touching the project with its link in the public
history, every spending line with its receipt files, every disclosure version, the evaluations, a
README.txt and ``verify.py`` (``db/audit_verify.py``, standard library only), which checks the receipts
against ``manifest.csv`` and recomputes every link's hash from the rows in the pack.

"As of" a date means every record dated on or before it, each by its own date: donations by
``donated_at``, entries by ``booked_on``, reviews by ``at``, spending by ``spent_on``, disclosures by
``published_on``, evaluations by ``evaluated_on``; a spending line or disclosure brings all its files.
The same database and date give the same bytes: rows in id order, fixed zip timestamps (midnight of
the date), no time of making inside.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peewee import JOIN, chunked

from . import audit, history, ledger
from .attachments import path_for
from .clock import today
from .database import read_transaction, write_transaction
from .errors import XfjyError
from .jurisdiction import covers
from .models import (
    Account,
    Attachment,
    ChainLink,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    Level,
    Project,
    ProjectReview,
)
from .money import fen_to_text
from .text import spreadsheet_safe
from .workflow import PROJECT

VERIFIER = Path(__file__).with_name("audit_verify.py")
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
CHUNK = 5000  # ids per IN (...): within every SQLite build's limit of bound parameters
DECISIONS = {"approve": "同意", "reject": "退回", "submit": "提交", "record": "记录"}


@dataclass(frozen=True)
class Packed:
    """A built pack: the zip's bytes and what it holds, for the command's one-line answer."""

    data: bytes
    folder: str
    files: int
    entries: int
    receipts: int


def find_project(code: str) -> Project:
    project = Project.get_or_none(Project.code == code.strip())
    if project is None:
        raise XfjyError(f"没有编号为「{code}」的项目，请核对项目编号（如 XF150121001001-01）")
    return project


def build(project: Project, root: os.PathLike, *, render_form: Callable[[Project, dt.date], str],
          as_of: dt.date | None = None) -> Packed:
    """The pack of ``project`` as of ``as_of`` (today by default); ``root`` is the attachments folder,
    ``render_form`` renders the 附件2 form (the admin's template) for the project and date."""
    as_of = as_of or today()
    with read_transaction():  # one consistent read: a gift is never packed without its entry
        return _build(project, root, render_form, as_of)


def _build(project: Project, root: os.PathLike, render_form, as_of: dt.date) -> Packed:
    folder = f"audit-{_safe(project.code) or project.id}-{as_of:%Y%m%d}"
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    files: dict[str, bytes] = {"form.html": render_form(project, as_of).encode("utf-8")}

    files["reviews.csv"] = _reviews(project, end)
    donations = list(project.donations.where(Donation.donated_at < end).order_by(Donation.donated_at, Donation.id))
    files["donations.csv"] = _donations(donations)
    entries = _entries(project, as_of)
    lines = list(project.expenditures.where(Expenditure.spent_on <= as_of).order_by(Expenditure.spent_on, Expenditure.id))
    versions = list(project.disclosures.where(Disclosure.published_on <= as_of).order_by(Disclosure.id))
    links = _links({"entry": [e.id for e in entries], "disclosure": [d.id for d in versions]})
    files["entries.csv"] = _entry_rows(entries, links)
    files["history.csv"] = _history_rows(links)

    attached, manifest, receipts = _attachments(root, lines, versions)
    files.update(attached)
    files["manifest.csv"] = manifest
    files["spending.csv"] = _spending(lines, entries, receipts)
    files["disclosures.csv"] = _disclosures(versions, links)
    files["evaluation.csv"] = _evaluations(project, as_of)
    files["verify.py"] = VERIFIER.read_bytes()
    files["README.txt"] = _readme(project, as_of, folder, len(donations), len(entries), len(lines),
                                  len(versions), len(attached)).encode("utf-8")
    return Packed(_zip(folder, files, as_of), folder, len(files), len(entries), len(attached))


def may_download(actor) -> bool:
    """An audit pack holds donors' names: a 旗县市区 federation and the levels above it (and the system
    administrator, who sees everything) take it, each for projects within its area."""
    return actor is not None and actor.level <= Level.COUNTY


def build_for(actor, project: Project, root: os.PathLike, *, render_form: Callable[[Project, dt.date], str],
              as_of: dt.date | None = None) -> Packed:
    """``build`` for a signed-in user (the admin's 下载审计包), who must be allowed it; the download is in 操作日志."""
    if not may_download(actor) or not covers(actor, project.village.area):
        raise XfjyError("审计包由旗县市区及以上慈善总会下载")
    packed = build(project, root, render_form=render_form, as_of=as_of)
    with write_transaction():
        audit.record(actor, "export", project, after={}, summary=f"下载审计包 {packed.folder}.zip（{project.name}）")
    return packed


# -- the rows ----------------------------------------------------------------------------------------

def _reviews(project: Project, end: dt.datetime) -> bytes:
    rows = [[r.id, _time(r.at), PROJECT.label(r.from_state), PROJECT.label(r.to_state), DECISIONS.get(r.decision, r.decision),
             r.unit, r.person, r.opinion]
            for r in project.reviews.where(ProjectReview.at < end).order_by(ProjectReview.at, ProjectReview.id)]
    return _csv(["review_id", "at", "from_state", "to_state", "decision", "unit", "person", "opinion"], rows)


def _donations(donations: list[Donation]) -> bytes:
    rows = [[d.txn_no, _time(d.donated_at), d.donor_name, fen_to_text(d.amount), d.amount,
             Donation.CHANNELS.get(d.channel, d.channel), Donation.CONSENTS.get(d.name_consent, d.name_consent),
             Donation.TIMINGS.get(d.timing, d.timing), d.message] for d in donations]
    return _csv(["txn_no", "donated_at", "donor_name", "amount_yuan", "amount_fen", "channel", "name_consent", "timing",
                 "message"], rows)


def _entries(project: Project, as_of: dt.date) -> list[Entry]:
    """Every entry of the project or moving money in or out of one of its accounts."""
    own = Account.select(Account.id).where(Account.project == project)
    touching = (Entry.project == project) | Entry.from_account.in_(own) | Entry.to_account.in_(own)
    Source, Target = Account.alias(), Account.alias()
    return list(Entry.select(Entry, Source, Target, Donation.id, Donation.txn_no)
                .join_from(Entry, Source, on=(Entry.from_account == Source.id))
                .join_from(Entry, Target, on=(Entry.to_account == Target.id))
                .join_from(Entry, Donation, JOIN.LEFT_OUTER, on=(Entry.donation == Donation.id))
                .where(touching & (Entry.booked_on <= as_of)).order_by(Entry.id))


@dataclass(frozen=True)
class PackLink:
    seq: int
    record: str
    record_id: int
    previous: str
    hash: str
    body: str  # the canonical JSON that was hashed


def _links(ids: dict[str, list[int]]) -> dict[tuple[str, int], PackLink]:
    """The public-history links of these records, each with the hash before it and its body as
    ``db.history`` computes it from the records now (so a record changed since it was linked shows)."""
    stored = {}
    for record, record_ids in ids.items():
        for chunk in chunked(record_ids, CHUNK):
            query = ChainLink.select().where((ChainLink.record == record) & ChainLink.record_id.in_(chunk))
            stored.update({(record, link.record_id): link for link in query})
    previous = {0: history.GENESIS}
    for chunk in chunked(sorted({link.seq - 1 for link in stored.values()} - {0}), CHUNK):
        previous.update(ChainLink.select(ChainLink.seq, ChainLink.hash).where(ChainLink.seq.in_(chunk)).tuples())
    accounts: dict = {}
    result = {}
    for record, record_ids in ids.items():
        model, bodies_of = history.BODIES[record]
        for chunk in chunked([i for i in record_ids if (record, i) in stored], CHUNK):
            bodies = bodies_of(model.id.in_(chunk), accounts)
            for record_id in chunk:
                link = stored[(record, record_id)]
                result[(record, record_id)] = PackLink(link.seq, record, record_id, previous.get(link.seq - 1, ""),
                                                       link.hash, history.canonical(bodies[record_id]))
    return result


def _entry_rows(entries: list[Entry], links: dict) -> bytes:
    names: dict[int, str] = {}

    def named(account: Account) -> str:  # a project's entries use a handful of accounts, many times over
        if account.id not in names:
            names[account.id] = ledger.describe(account)
        return names[account.id]

    rows = []
    for e in entries:
        link = links.get(("entry", e.id))
        rows.append([e.id, e.booked_on.isoformat(), _time(e.posted_at), e.kind, Entry.KINDS.get(e.kind, e.kind),
                     named(e.from_account), e.from_account.kind, named(e.to_account), e.to_account.kind,
                     fen_to_text(e.amount), e.amount, e.reverses_id or "", e.reason, e.memo,
                     e.donation.txn_no if e.donation_id else "", e.expenditure_id or "",
                     link.seq if link else "", link.hash if link else ""])
    return _csv(["entry_id", "booked_on", "posted_at", "kind", "kind_label", "from_account", "from_kind", "to_account",
                 "to_kind", "amount_yuan", "amount_fen", "reverses", "reason", "memo", "donation_txn", "expenditure_id",
                 "chain_seq", "chain_hash"], rows)


def _history_rows(links: dict) -> bytes:
    rows = [[k.seq, k.record, k.record_id, k.previous, k.hash, k.body] for k in sorted(links.values(), key=lambda k: k.seq)]
    return _csv(["seq", "record", "record_id", "previous_hash", "hash", "body"], rows)


def _attachments(root: os.PathLike, lines: list[Expenditure], versions: list[Disclosure]):
    """Each spending line's receipts as ``receipts/<voucher or line id>-<n>.<ext>``, each disclosure's
    files as ``disclosures/<id>-<n>.<ext>``, and manifest.csv naming every one with its SHA-256."""
    files: dict[str, bytes] = {}
    by_line: dict[int, list[str]] = {line.id: [] for line in lines}
    rows = []
    owners = []
    stems: set[str] = set()
    for line in lines:
        stem = _safe(line.voucher_no) or f"line{line.id}"
        if stem in stems:
            stem = f"{stem}-line{line.id}"
        stems.add(stem)
        owners.append((f"receipts/{stem}", line.attachments, line.id, ""))
    for version in versions:
        owners.append((f"disclosures/{version.id}", version.attachments, "", version.id))
    for prefix, query, line_id, disclosure_id in owners:
        for n, attachment in enumerate(query.order_by(Attachment.id), start=1):
            ext = EXTENSIONS.get(attachment.mime) or Path(attachment.filename).suffix.lstrip(".").lower() or "bin"
            name = f"{prefix}-{n}.{ext}"
            source = path_for(root, attachment.sha256)
            if source.is_file():
                files[name] = source.read_bytes()
                if line_id:
                    by_line[line_id].append(name)
            else:
                name = ""  # the stored file is gone: the manifest says so and verify.py fails
            rows.append([name, line_id, disclosure_id, attachment.id, attachment.filename, attachment.mime,
                         attachment.size, attachment.sha256, "是" if attachment.published else "否"])
    manifest = _csv(["file", "expenditure_id", "disclosure_id", "attachment_id", "original_filename", "mime", "bytes",
                     "sha256", "published"], rows)
    return files, manifest, by_line


def _spending(lines: list[Expenditure], entries: list[Entry], receipts: dict[int, list[str]]) -> bytes:
    reversed_lines = {e.expenditure_id for e in entries if e.reverses_id and e.expenditure_id}
    rows = [[line.id, line.spent_on.isoformat(), line.item, line.payee, fen_to_text(line.amount), line.amount,
             line.voucher_no, line.approved_by, "是" if line.id in reversed_lines else "否", " ".join(receipts[line.id])]
            for line in lines]
    return _csv(["line_id", "spent_on", "item", "payee", "amount_yuan", "amount_fen", "voucher_no", "approved_by",
                 "reversed", "receipts"], rows)


def _disclosures(versions: list[Disclosure], links: dict) -> bytes:
    corrected_by = {v.corrects_id: v.id for v in versions if v.corrects_id}
    rows = []
    for v in versions:
        link = links.get(("disclosure", v.id))
        rows.append([v.id, v.published_on.isoformat(), v.title, _day(v.period_start), _day(v.period_end),
                     v.corrects_id or "", v.correction_note, corrected_by.get(v.id, ""), v.body,
                     link.seq if link else "", link.hash if link else ""])
    return _csv(["disclosure_id", "published_on", "title", "period_start", "period_end", "corrects", "correction_note",
                 "corrected_by", "body", "chain_seq", "chain_hash"], rows)


def _evaluations(project: Project, as_of: dt.date) -> bytes:
    rows = [[e.id, e.evaluated_on.isoformat(), e.unit, e.evaluator, Evaluation.RESULTS.get(e.result, e.result),
             "" if e.score is None else e.score, e.notes]
            for e in project.evaluations.where(Evaluation.evaluated_on <= as_of).order_by(Evaluation.evaluated_on, Evaluation.id)]
    return _csv(["evaluation_id", "evaluated_on", "unit", "evaluator", "result", "score", "notes"], rows)


# -- writing -----------------------------------------------------------------------------------------

def _csv(header: list[str], rows: list[list]) -> bytes:
    """UTF-8 with BOM (opens in Excel); text that starts like a formula gets a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _zip(folder: str, files: dict[str, bytes], as_of: dt.date) -> bytes:
    stamp = (max(as_of.year, 1980), as_of.month, as_of.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], compresslevel=9)
    return out.getvalue()


def _safe(text: str) -> str:
    """A piece of a file name: letters, digits, CJK, ``_`` and ``-``; anything else becomes ``_``."""
    return re.sub(r"[^0-9A-Za-z\u4e00-\u9fff_-]", "_", text.strip())[:64].strip("_")


def _time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _day(value) -> str:
    return value.isoformat() if value else ""


def _readme(project: Project, as_of: dt.date, folder: str, donations: int, entries: int, lines: int, versions: int,
            receipts: int) -> str:
    village = project.village
    return README.format(code=project.code, name=project.name, village=village.full_name, as_of=as_of.isoformat(),
                         state=PROJECT.label(project.state), folder=folder, donations=donations, entries=entries,
                         lines=lines, versions=versions, receipts=receipts).replace("\n", "\r\n")


README = """幸福家园 村社互助工程 · 项目审计包
==================================

项目：{name}（编号 {code}）
村社：{village}
截至：{as_of}（含当日；各记录按其自身日期计：捐赠按捐赠时间，分录按记账日期，审核按办理时间，
      支出按支出日期，公示按公示日期，评估按评估日期）
项目当前状态：{state}（申报表各栏为项目的现行内容，审核意见为截至当日已办理的）

本审计包供审计、监管人员使用，含捐赠人姓名等不公开的信息，请妥善保管，不得公开。
同一项目、同一截至日期生成的审计包逐字节相同，可以用 SHA-256 核对两份是否一致。

一、文件清单
------------
form.html        附件2《村社慈善公益项目申报表》，与管理后台“打印申报表”的页面相同，可用浏览器打开打印。
reviews.csv      审核经过：每一步的时间、由何状态到何状态、结论、单位、经办人、意见。
donations.csv    全部捐赠（{donations} 笔）：交易号、捐赠时间、捐赠人（按系统记录，未做隐去处理）、
                 金额（amount_yuan 元、amount_fen 分）、捐赠方式、公开意愿、到账说明、留言。
entries.csv      涉及本项目的全部资金台账分录（{entries} 条）：记账日期、业务类型、转出/转入账户、
                 金额（元和分）、冲正关系与原因、摘要、对应的捐赠交易号或支出行，
                 以及该分录在“公开历史”中的编号 chain_seq 与哈希 chain_hash（尚未链入的为空）。
history.csv      上述分录和公示在公开历史中的每一条链：编号 seq、记录类型与编号、前一条的哈希 previous_hash、
                 本条哈希 hash，以及被哈希的内容 body（规范 JSON，金额单位为分）。
spending.csv     全部支出（{lines} 笔）：日期、事项、收款方、金额、凭证号、审批人、是否已冲正、票据文件。
receipts/        支出票据原件（文件名为 凭证号-序号 或 line支出行号-序号）。
disclosures/     公示所附文件（公示编号-序号）。
manifest.csv     每个票据/附件文件（共 {receipts} 个）：在包中的文件名、所属支出行或公示、原文件名、类型、
                 字节数和 SHA-256（系统按 SHA-256 保存上传的文件，此值即上传时记下的值）。
                 file 为空表示系统中找不到该文件，核验会报告。
disclosures.csv  全部公示版本（{versions} 版）：公示日期、标题、期间、正文；更正版写明更正的是哪一版
                 （corrects）和更正说明，被更正的一版写明由哪一版更正（corrected_by）。
evaluation.csv   验收评估：日期、单位、评估人、结果、评分、说明。
verify.py        核验程序，只用 Python 自带的模块。
README.txt       本说明。

表格均为 UTF-8（带 BOM）的 CSV，可直接用 Excel 打开。为防止表格软件把文字当作公式执行，
以 = + - @ 等开头的文字前加了一个英文单引号 '。

二、如何核验
------------
解压后在 {folder} 目录中运行（需要 Python 3.8 或更高版本，无需安装其他软件）：

    python3 verify.py

全部通过时显示“核验通过”，退出码为 0；发现问题时逐条列出（写明文件和行），退出码为 1。它检查：

1. 每个票据/附件文件的 SHA-256 和字节数与 manifest.csv 一致，没有缺失，也没有清单以外的文件；
2. history.csv 每一条：body 是规范 JSON，且
       hash = SHA-256( previous_hash + 换行符 + body )（UTF-8，小写十六进制；第 1 条的 previous_hash 为 64 个 0）；
   编号相邻的两条首尾相接；
3. entries.csv 每条已链入的分录：在 history.csv 中有对应的一条，哈希相同，且金额（分和元）、业务类型、
   记账日期、冲正关系与被哈希的内容一致；disclosures.csv 的每个公示版本同样核对公示日期和更正关系；
4. 每笔捐赠的金额与其入账分录一致，每笔支出的金额与其支出分录一致，支出所列票据都在清单中。

三、与公示网站核对
------------------
history.csv 中的 seq 和 hash 就是公示网站“核验历史”页所说的公开历史（data/history/ 下的 .jsonl 与 .jsonl.gz 文件）中的同一条。
在网站的历史文件中找到相同编号的一行，其 hash 应与本包相同；网站上的历史是首尾相连、只增不减的，
因此本包中的分录若被改动，就与网站对不上。网站上的 body 与本包的 body 相同（捐赠人姓名、交易号不在其中）。
公开的票据也可在网站村社页面的支出表中下载，与 manifest.csv 的 SHA-256 对照。
"""
