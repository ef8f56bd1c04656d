"""Importing the platform's donation export: every row of a good file, or nothing at all.

Each hostile file must be refused with a DataImportError naming the row and the column at fault,
and must leave Donation, Entry and ImportRun exactly as they were.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest

from db import imports, settlement
from db.errors import DataImportError, Problem
from db.imports import import_donations, preview_donations
from db.models import Donation, Entry, ImportRun, Role

from .factories import HEADER, WHEN, Chain, advance_to, csv_bytes, new_project, row, xlsx_bytes

# -- building files -------------------------------------------------------------------------------

def rewrite_zip(data: bytes, member: str, change) -> bytes:
    """The same XLSX with one member's bytes replaced by ``change(old_bytes)``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == member:
                body = change(body)
            zout.writestr(info.filename, body)
    return out.getvalue()


def counts() -> tuple[int, int, int]:
    return Donation.select().count(), Entry.select().count(), ImportRun.select().count()


def refused(data: bytes, filename: str, actor=None) -> list[Problem]:
    """Import must fail as a whole: a DataImportError, and not one row written anywhere."""
    before = counts()
    with pytest.raises(DataImportError) as info:
        import_donations(data, filename, actor)
    assert counts() == before, "a refused import wrote rows"
    problems = info.value.problems
    assert problems, "DataImportError without problems"
    preview = preview_donations(data, filename, actor)
    assert not preview.ok
    assert counts() == before
    return problems


def at(problems, row, column) -> Problem:
    """The problem reported for ``row``/``column``; fails listing what was reported instead."""
    for problem in problems:
        if problem.row == row and problem.column == column:
            text = str(problem)
            if row is not None:
                assert f"第 {row} 行" in text
            if column is not None:
                assert f"「{column}」列" in text
            return problem
    pytest.fail(f"no problem at row {row!r}, column {column!r}: {problems!r}")


def file_level(problems, *words) -> Problem:
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.row is None and problem.column is None, problem
    for word in words:
        assert word in problem.message, problem
    return problem


# -- good files -----------------------------------------------------------------------------------

def test_good_csv_imports_every_row_with_a_ledger_entry(project):
    rows = [
        row(project, "GY-0001", "100", "2024-04-01 10:00:00", "张三", "是", "祝家乡越来越好"),
        row(project, "GY-0002", "1,234.56", "2024/04/02 08:15", "李四", "否"),
        row(project, "GY-0003", "0.01", "2024-04-03", "", "部分"),
        row(project, "GY-0004", "¥50.5", "2024-04-04T12:00:00", "王五", ""),
    ]
    before = counts()
    result = import_donations(csv_bytes(rows), "平台导出.csv")
    assert counts() == (before[0] + 4, before[1] + 4, before[2] + 1)
    assert (result.added, result.skipped) == (4, 0)
    assert result.message == "成功导入 4 条捐赠"
    run = result.run
    assert (run.kind, run.filename, run.added, run.skipped) == ("donations", "平台导出.csv", 4, 0)

    got = {d.txn_no: d for d in Donation.select().where(Donation.import_run == run)}
    assert {t: d.amount for t, d in got.items()} == {"GY-0001": 10000, "GY-0002": 123456, "GY-0003": 1,
                                                      "GY-0004": 5050}
    assert {t: d.name_consent for t, d in got.items()} == {"GY-0001": "full", "GY-0002": "none",
                                                           "GY-0003": "masked", "GY-0004": "none"}
    assert got["GY-0001"].donated_at == dt.datetime(2024, 4, 1, 10, 0, 0)
    assert got["GY-0002"].donated_at == dt.datetime(2024, 4, 2, 8, 15)
    assert got["GY-0003"].donated_at == dt.datetime(2024, 4, 3)
    assert got["GY-0001"].donor_name == "张三" and got["GY-0001"].message == "祝家乡越来越好"
    assert all(d.project_id == project.id and d.channel == "online" for d in got.values())

    for donation in got.values():
        entries = list(Entry.select().where(Entry.donation == donation))
        assert len(entries) == 1
        entry = entries[0]
        assert (entry.kind, entry.amount, entry.project_id) == ("donation", donation.amount, project.id)
        assert entry.booked_on == donation.donated_at.date()


def test_good_xlsx_with_numeric_and_datetime_cells(project):
    rows = [
        ["X-1", project.code, "赵六", 100.5, dt.datetime(2024, 4, 2, 9, 30, 15), "是", "加油"],
        ["X-2", project.code, "钱七", 200, dt.datetime(2024, 4, 3, 18, 0), "否", None],
        ["X-3", project.code, "孙八", "3.30", "2024-04-04 07:05:00", True, ""],
        ["X-4", project.code, "周九", 0.1, dt.date(2024, 4, 5), False, ""],
        ["X-5", project.code, "吴十", 1234567.89, dt.datetime(2024, 4, 6), "部分", ""],
    ]
    before = counts()
    result = import_donations(xlsx_bytes(rows), "export.xlsx")
    assert result.added == 5 and result.skipped == 0
    assert counts() == (before[0] + 5, before[1] + 5, before[2] + 1)
    got = {d.txn_no: d for d in Donation.select().where(Donation.import_run == result.run)}
    assert {t: d.amount for t, d in got.items()} == {"X-1": 10050, "X-2": 20000, "X-3": 330, "X-4": 10,
                                                      "X-5": 123456789}
    assert got["X-1"].donated_at == dt.datetime(2024, 4, 2, 9, 30, 15)
    assert got["X-4"].donated_at == dt.datetime(2024, 4, 5)
    assert {t: d.name_consent for t, d in got.items()} == {"X-1": "full", "X-2": "none", "X-3": "full",
                                                           "X-4": "none", "X-5": "masked"}
    entries = Entry.select().where(Entry.donation.in_([d.id for d in got.values()]))
    assert sorted(e.amount for e in entries) == sorted(d.amount for d in got.values())


def test_gb18030_csv_imports_correctly(project):
    rows = [row(project, "GB-1", "88.80", donor="乌云其木格", message="祝福家乡，扎根草原")]
    data = csv_bytes(rows, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really not UTF-8
    result = import_donations(data, "gbk导出.csv")
    assert result.added == 1
    donation = Donation.get(Donation.txn_no == "GB-1")
    assert (donation.donor_name, donation.message, donation.amount) == ("乌云其木格", "祝福家乡，扎根草原", 8880)


def test_utf8_bom_and_blank_lines_are_tolerated(project):
    data = "\ufeff".encode() + csv_bytes([row(project, "BOM-1", "10"), ["", "", "", "", "", "", ""],
                                          row(project, "BOM-2", "20")])
    result = import_donations(data, "bom.csv")
    assert result.added == 2
    assert Donation.get(Donation.txn_no == "BOM-2").amount == 2000


def test_reimporting_the_same_file_adds_nothing(project):
    data = csv_bytes([row(project, "R-1", "10"), row(project, "R-2", "20"), row(project, "R-3", "30")])
    first = import_donations(data, "a.csv")
    assert first.added == 3
    before = counts()
    again = import_donations(data, "a.csv")
    assert counts() == before
    assert (again.added, again.skipped, again.run) == (0, 3, None)
    assert "全部" in again.message and "此前已导入" in again.message and "3" in again.message
    preview = preview_donations(data, "a.csv")
    assert preview.ok and preview.rows == [] and preview.already == 3


def test_mixed_old_and_new_rows_adds_only_the_new(project):
    import_donations(csv_bytes([row(project, "M-1", "10"), row(project, "M-2", "20")]), "day1.csv")
    before = counts()
    data = xlsx_bytes([row(project, "M-1", "10"), row(project, "M-2", "20"), row(project, "M-3", "30.5")])
    result = import_donations(data, "day2.xlsx")
    assert (result.added, result.skipped) == (1, 2)
    assert "1" in result.message and "2" in result.message and "全部" not in result.message
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert Donation.get(Donation.txn_no == "M-3").amount == 3050
    assert Donation.select().where(Donation.txn_no.in_(["M-1", "M-2"])).count() == 2


def test_actor_inside_the_area_may_import(chain, project):
    result = import_donations(csv_bytes([row(project, "A-1", "10")]), "a.csv", chain.users[Role.TOWNSHIP])
    assert result.added == 1 and result.run.user_id == chain.users[Role.TOWNSHIP].id


# -- hostile files: cell problems -----------------------------------------------------------------

@pytest.mark.parametrize("amount", ["12.345", "-5", "abc", "1e3", "0", "", "1.2.3"])
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_bad_amount_names_row_and_column(project, amount, kind):
    rows = [row(project, "OK-1", "10"), row(project, "BAD-1", amount)]
    data = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    problems = refused(data, f"f.{kind}")
    at(problems, 3, "金额")
    assert len(problems) == 1


@pytest.mark.parametrize("value", [12.345, -5, 1e-7, True])
def test_bad_numeric_xlsx_amount(project, value):
    problems = refused(xlsx_bytes([row(project, "N-1", value)]), "n.xlsx")
    at(problems, 2, "金额")


def test_absurdly_large_amount_is_a_cell_problem(project):
    """More fen than a BIGINT holds must be refused by the check, not crash the insert."""
    before = counts()
    data = csv_bytes([row(project, "HUGE-1", "99999999999999999999")])
    with pytest.raises(DataImportError) as info:
        import_donations(data, "huge.csv")
    assert counts() == before
    at(info.value.problems, 2, "金额")


@pytest.mark.parametrize("missing", ["交易号", "项目编号", "金额", "捐赠时间"])
def test_missing_required_column(project, missing):
    header = [c for c in HEADER if c != missing]
    full = row(project, "C-1", "10")
    rows = [[v for c, v in zip(HEADER, full) if c != missing]]
    problems = refused(csv_bytes(rows, header=header), "cols.csv")
    problem = at(problems, 1, missing)
    assert "缺少" in problem.message


def test_unknown_project_code(project):
    rows = [row(project, "U-1", "10"), ["U-2", "NO-SUCH-CODE", "张三", "10", WHEN, "是", ""]]
    problems = refused(csv_bytes(rows), "u.csv")
    assert "NO-SUCH-CODE" in at(problems, 3, "项目编号").message


def test_project_outside_the_actors_area(chain, project):
    other = Chain()  # another township of the same county
    outsider = other.users[Role.TOWNSHIP]
    problems = refused(csv_bytes([row(project, "O-1", "10")]), "o.csv", actor=outsider)
    at(problems, 2, "项目编号")
    # a village user of another village is refused too
    problems = refused(csv_bytes([row(project, "O-2", "10")]), "o.csv", actor=other.users[Role.VILLAGE])
    at(problems, 2, "项目编号")


def test_project_in_another_county_outside_county_user(project):
    elsewhere = Chain("150122")
    problems = refused(csv_bytes([row(project, "O-3", "10")]), "o.csv", actor=elsewhere.users[Role.COUNTY])
    at(problems, 2, "项目编号")


def test_project_not_in_fundraising(chain, project):
    draft = new_project(chain, name="文化活动室修缮")
    assert draft.state == "draft"
    rows = [row(project, "S-1", "10"), row(draft, "S-2", "10")]
    problems = refused(csv_bytes(rows), "s.csv")
    assert "不接受捐赠" in at(problems, 3, "项目编号").message


def test_duplicate_transaction_in_file_names_the_earlier_row(project):
    rows = [row(project, "D-1", "10"), row(project, "D-2", "10"), row(project, "D-1", "10")]
    problems = refused(csv_bytes(rows), "d.csv")
    problem = at(problems, 4, "交易号")
    assert "第 2 行" in problem.message
    assert len(problems) == 1


def test_transaction_already_imported_with_different_amount(chain, project):
    import_donations(csv_bytes([row(project, "P-1", "10")]), "first.csv")
    problems = refused(csv_bytes([row(project, "P-2", "5"), row(project, "P-1", "10.01")]), "second.csv")
    assert "P-1" in at(problems, 3, "交易号").message


def test_transaction_already_imported_for_a_different_project(chain, project):
    second = advance_to(new_project(chain, chain.add_village(), name="饮水安全改造"), "fundraising", chain)
    import_donations(csv_bytes([row(project, "P-9", "10")]), "first.csv")
    problems = refused(csv_bytes([row(second, "P-9", "10")]), "second.csv")
    at(problems, 2, "交易号")


def test_xlsx_formula_cell(project):
    rows = [row(project, "F-1", "10"), ["F-2", project.code, "张三", "=SUM(1,2)", WHEN, "是", ""]]
    problems = refused(xlsx_bytes(rows), "f.xlsx")
    assert "公式" in at(problems, 3, "金额").message


@pytest.mark.parametrize("column", ["捐赠人", "留言", "金额"])
def test_csv_cell_starting_with_equals(project, column):
    cells = dict(zip(HEADER, row(project, "E-1", "10")))
    cells[column] = '=HYPERLINK("http://evil.example","点我")'
    problems = refused(csv_bytes([list(cells.values())]), "e.csv")
    assert "公式" in at(problems, 2, column).message


@pytest.mark.parametrize("when", ["2024-13-45 10:00:00", "昨天", "", "01/04/2024", "2024-04-01 25:00"])
def test_bad_time(project, when):
    problems = refused(csv_bytes([row(project, "T-1", "10", when=when)]), "t.csv")
    at(problems, 2, "捐赠时间")


def test_time_in_the_future(project):
    problems = refused(csv_bytes([row(project, "T-2", "10", when="2099-01-01 00:00:00")]), "t.csv")
    at(problems, 2, "捐赠时间")


@pytest.mark.parametrize("consent", ["也许", "maybe", "2"])
def test_bad_consent(project, consent):
    problems = refused(csv_bytes([row(project, "K-1", "10", consent=consent)]), "k.csv")
    at(problems, 2, "公开姓名")


def test_bad_channel(project):
    rows = [row(project, "CH-1", "10") + ["微信红包"]]
    problems = refused(csv_bytes(rows, header=HEADER + ["渠道"]), "ch.csv")
    at(problems, 2, "渠道")


def test_empty_and_overlong_transaction_numbers(project):
    rows = [row(project, "", "10"), row(project, "X" * 65, "10")]
    problems = refused(csv_bytes(rows), "txn.csv")
    at(problems, 2, "交易号")
    at(problems, 3, "交易号")


def test_overlong_donor_and_message(project):
    rows = [row(project, "L-1", "10", donor="名" * 65), row(project, "L-2", "10", message="言" * 501)]
    problems = refused(csv_bytes(rows), "long.csv")
    at(problems, 2, "捐赠人")
    at(problems, 3, "留言")


def test_every_bad_row_is_reported(project):
    rows = [row(project, "V-1", "abc"), row(project, "V-2", "10"), row(project, "V-3", "10", when="x"),
            row(project, "V-4", "10", consent="?")]
    problems = refused(xlsx_bytes(rows), "v.xlsx")
    assert {(p.row, p.column) for p in problems} == {(2, "金额"), (4, "捐赠时间"), (5, "公开姓名")}


# -- hostile files: the file itself ---------------------------------------------------------------

def test_csv_renamed_to_xlsx(project):
    problems = refused(csv_bytes([row(project, "Z-1", "10")]), "fake.xlsx")
    file_level(problems, "XLSX")


def test_truncated_xlsx(project):
    data = xlsx_bytes([row(project, f"Z-{i}", "10") for i in range(50)])
    file_level(refused(data[: len(data) // 2], "cut.xlsx"), "损坏")
    file_level(refused(data[:-22], "cut.xlsx"), "损坏")  # end-of-central-directory record gone


def test_zip_that_is_not_a_workbook(project):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    file_level(refused(out.getvalue(), "archive.xlsx"), "XLSX")


@pytest.mark.parametrize("member", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"])
def test_xlsx_with_corrupt_xml_inside(project, member):
    """A valid zip whose XML is cut off is a damaged file, reported as such (not a crash)."""
    data = xlsx_bytes([row(project, f"Z-{i}", "10") for i in range(20)])
    bad = rewrite_zip(data, member, lambda body: body[: len(body) // 2])
    file_level(refused(bad, "damaged.xlsx"), "XLSX")


def test_xlsx_with_corrupt_compressed_data(project):
    data = xlsx_bytes([row(project, f"Z-{i}", "10") for i in range(200)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    damaged = bytearray(data)
    for i in range(start + 20, start + 60):
        damaged[i] ^= 0xFF
    file_level(refused(bytes(damaged), "bitrot.xlsx"), "XLSX")


def test_xlsx_with_stale_dimension_imports_every_row(project):
    """Some exporters write a wrong <dimension>; the rows below it must not be dropped silently."""
    rows = [row(project, f"DIM-{i}", "10") for i in range(5)]
    data = rewrite_zip(xlsx_bytes(rows), "xl/worksheets/sheet1.xml",
                       lambda body: re.sub(rb"<dimension[^>]*>", b'<dimension ref="A1:G2"/>', body))
    try:
        result = import_donations(data, "stale.xlsx")
    except DataImportError:
        return  # refusing the file is acceptable; losing rows is not
    assert result.added == 5, f"only {result.added} of 5 rows imported"


@pytest.mark.parametrize("filename", ["empty.csv", "empty.xlsx"])
def test_empty_file(project, filename):
    file_level(refused(b"", filename), "为空")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_header_only(project, kind):
    data = csv_bytes([]) if kind == "csv" else xlsx_bytes([])
    file_level(refused(data, f"header.{kind}"), "只有表头")


def test_blank_csv_has_no_header(project):
    file_level(refused(b"\r\n,,,\r\n\r\n", "blank.csv"), "没有表头")


@pytest.mark.parametrize("filename", ["donations.txt", "donations.xls", "donations", "donations.csv.exe"])
def test_unsupported_file_types(project, filename):
    file_level(refused(csv_bytes([row(project, "Y-1", "10")]), filename), "不支持")


def test_binary_file_renamed_csv(project):
    data = xlsx_bytes([row(project, "B-1", "10")])
    problems = refused(data, "really-xlsx.csv")
    assert len(problems) >= 1
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    file_level(refused(png, "image.csv"))


def test_csv_field_larger_than_the_limit(project):
    data = csv_bytes([row(project, "H-1", "10")]) + b'"' + b"a" * 200_000 + b"\r\n"
    file_level(refused(data, "huge-field.csv"), "CSV")


def test_oversize_file(project, monkeypatch):
    data = csv_bytes([row(project, f"O-{i}", "10") for i in range(20)])
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", len(data) - 1)
    file_level(refused(data, "big.csv"), "上限")
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", len(data))
    assert import_donations(data, "big.csv").added == 20


def test_too_many_rows(project, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    data = csv_bytes([row(project, f"MR-{i}", "10") for i in range(4)])
    problems = refused(data, "rows.csv")
    assert problems[0].row == 5 and "上限" in problems[0].message


# -- gifts that arrive outside the fundraising period (issue 11) --------------------------------------

def test_a_gift_after_fundraising_closed_is_booked_late_to_the_project(chain):
    from db import integrity, ledger
    from db.totals import project_totals

    project = advance_to(new_project(chain), "use_applied", chain)
    raised = project_totals(project).raised
    data = csv_bytes([row(project, "LATE-1", "250.00", when="2024-09-05 08:15:00")])
    preview = preview_donations(data, "late.csv")
    assert preview.ok and len(preview.rows) == 1
    assert [(w.row, w.column) for w in preview.warnings] == [(2, "捐赠时间")]
    assert "逾期到账" in preview.warnings[0].message and "使用申请" in preview.warnings[0].message
    import_donations(data, "late.csv")
    gift = Donation.get(Donation.txn_no == "LATE-1")
    assert (gift.timing, gift.donated_at) == ("late", dt.datetime(2024, 9, 5, 8, 15))
    assert project_totals(project).raised == raised + 25_000
    assert ledger.balance(ledger.fund_account(chain.village)) == 0
    assert integrity.integrity_problems() == []


def test_a_gift_after_the_project_closed_goes_on_to_the_village_fund(chain):
    from db import integrity, ledger, workflow
    from db.totals import project_totals

    project = advance_to(new_project(chain, target=500_000), "fundraising", chain)
    workflow.advance_project(project, "expire", None, on=dt.datetime(2024, 9, 1, 9, 0))
    workflow.advance_project(project, "close", chain.users[Role.COUNTY], "结项", settle=settlement.settle_remaining)
    data = csv_bytes([row(project, "AFTER-1", "80"), row(project, "AFTER-2", "20")])
    import_donations(data, "after.csv")
    assert {d.timing for d in Donation.select().where(Donation.txn_no.startswith("AFTER-"))} == {"to_fund"}
    t = project_totals(project)
    assert (t.raised, t.to_fund, t.unused) == (10_000, 10_000, 0)
    assert ledger.balance(ledger.fund_account(chain.village)) == 10_000
    moved = Entry.select().where((Entry.kind == "to_fund") & Entry.donation.is_null(False)).count()
    assert moved == 2
    assert integrity.integrity_problems() == []


def test_a_gift_dated_before_the_fundraising_start_is_accepted_with_a_warning(chain, project):
    data = csv_bytes([row(project, "EARLY-1", "10", when="2024-02-27 23:59:00")])
    preview = preview_donations(data, "early.csv")
    assert preview.ok and "早于募集开始日期 2024-03-01" in preview.warnings[0].message
    import_donations(data, "early.csv")
    assert Donation.get(Donation.txn_no == "EARLY-1").timing == "early"


def test_a_formula_behind_leading_spaces_is_refused_like_any_formula(project):
    problems = refused(csv_bytes([row(project, "F-1", "10", message=" =HYPERLINK(1)"),
                                  row(project, "F-2", "10", message="\u3000=1+1")]), "f.csv")
    assert "公式" in at(problems, 2, "留言").message and "公式" in at(problems, 3, "留言").message


# -- digits and dates a spreadsheet lets through (issue 12, item 17) -----------------------------------

@pytest.mark.parametrize("amount", ["１２３", "١٢٣", "᠑᠒᠓", "1 000", "1\u00a0000"])
def test_amounts_in_other_digits_or_with_inner_spaces_are_refused(project, amount):
    problems = refused(csv_bytes([row(project, "DG-1", "10"), row(project, "DG-2", amount)]), "d.csv")
    assert "金额" in at(problems, 3, "金额").message


@pytest.mark.parametrize("when, words", [("0001-01-01 00:00:00", "早于 2000 年"), ("١٩٩٩-٠١-٠١", "半角数字"),
                                         ("２０２４-０４-０１ １０:００:００", "半角数字")])
def test_dates_in_year_one_or_other_digits_are_refused(project, when, words):
    problems = refused(csv_bytes([row(project, "DT-1", "10", when=when)]), "t.csv")
    assert words in at(problems, 2, "捐赠时间").message


def test_a_column_given_twice_is_refused_instead_of_the_last_one_winning(project):
    problems = refused(csv_bytes([[*row(project, "DC-1", "10"), "99999"]], header=[*HEADER, "金额"]), "dup.csv")
    assert "不止一次" in at(problems, 1, "金额").message


# -- XLSX bombs (issue 12, item 15) --------------------------------------------------------------------

def _xlsx_with(sheet_xml: bytes, strings_xml: bytes | None = None) -> bytes:
    """A minimal XLSX whose sheet (and shared strings) are the given XML, deflated."""
    base = xlsx_bytes([["交易号"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = sheet_xml
            elif info.filename == "xl/sharedStrings.xml" and strings_xml is not None:
                body = strings_xml
            zout.writestr(info.filename, body)
        if strings_xml is not None and "xl/sharedStrings.xml" not in zin.namelist():
            zout.writestr("xl/sharedStrings.xml", strings_xml)
    return out.getvalue()


def test_a_sheet_of_millions_of_rows_is_refused_while_it_is_read():
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>1</t></is></c></row>' % (n, n)
                    for n in range(1, 260_001))
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats'
             b'.org/spreadsheetml/2006/main"><sheetData>' + rows + b"</sheetData></worksheet>")
    data = _xlsx_with(sheet)
    assert len(data) < 3 * 1024 * 1024
    with pytest.raises(DataImportError) as info:
        imports.read_table(data, "bomb.xlsx")
    assert "超过单次导入" in info.value.problems[0].message


def test_a_shared_strings_bomb_is_refused_before_it_is_unpacked():
    strings = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
               b'2006/main" count="1" uniqueCount="1"><si><t>' + b"A" * (60 * 1024 * 1024) + b"</t></si></sst>")
    data = _xlsx_with(xlsx_sheet_xml(), strings)
    assert len(data) < 1024 * 1024
    with pytest.raises(DataImportError) as info:
        imports.read_table(data, "strings.xlsx")
    assert "压缩比异常" in info.value.problems[0].message


def xlsx_sheet_xml() -> bytes:
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes([["交易号"]]))) as z:
        return z.read("xl/worksheets/sheet1.xml")
