"""The import screens over HTTP: upload → preview (every problem by row and column) → confirm.

A good file previews, confirms and writes every row; importing it again adds nothing; each hostile file
shows the problem table and writes nothing — no donation, no ledger entry, no import run, and no kept
upload that a later confirm could pick up.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html as htmllib
import io
import re
import zipfile
from pathlib import Path

import pytest

import db.imports
from db import workflow
from db.areas import get_area
from db.models import Area, Donation, Entry, ImportRun, Role, Village

from .admin_support import flashes, login
from .factories import HEADER, WHEN, Chain, advance_to, csv_bytes, donate, new_project, xlsx_bytes
from .factories import row as gift

VILLAGE_HEADER = ["村社代码", "村社名称", "乡镇/街道代码", "乡镇/街道名称", "申报村居全称", "类别", "详细地址", "负责人",
                  "联系电话", "批次"]


# -- the screens ------------------------------------------------------------------------------------

class Importer:
    def __init__(self, app, person):
        self.app, self.person = app, person
        self.client = app.test_client()
        self.token = login(self.client, person)

    def preview(self, data: bytes, name: str, kind: str = "donations"):
        return self.client.post("/admin/imports/preview", data={
            "kind": kind, "csrf_token": self.token, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data")

    def confirm(self, sha256: str, name: str, kind: str = "donations"):
        return self.client.post("/admin/imports/confirm", data={
            "kind": kind, "sha256": sha256, "name": name, "csrf_token": self.token})

    def follow(self, response) -> str:
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
        return self.client.get(response.headers["Location"]).get_data(as_text=True)

    def kept(self) -> list[Path]:
        folder = Path(self.app.instance_path) / "uploads"
        return sorted(p for p in folder.iterdir() if p.name.startswith(f"{self.person.id}-")) if folder.exists() else []


def problems(page: str) -> list[tuple[str, str, str]]:
    """(row, column, message) of the problem table."""
    block = re.search(r'<div class="alert alert-danger" id="problems">(.*?)</table>', page, flags=re.S)
    assert block, "no problem table on the page"
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", block.group(1), flags=re.S)
    return [tuple(htmllib.unescape(c) for c in cell) for cell in cells]


def confirm_form(page: str) -> dict:
    form = re.search(r'<form method="post" action="/admin/imports/confirm">(.*?)</form>', page, flags=re.S)
    assert form, "no confirm form"
    return dict(re.findall(r'name="(kind|sha256|name)" value="([^"]*)"', form.group(1)))


def counts():
    return (Donation.select().count(), Entry.select().count(), ImportRun.select().count(), Village.select().count(),
            Area.select().count())


@pytest.fixture
def project_name():
    """The ``project`` fixture's project (conftest) is 甲地路灯项目 here."""
    return "甲地路灯项目"


@pytest.fixture
def county(app, chain):
    return Importer(app, chain.users[Role.COUNTY])


# -- access ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY, Role.PREFECTURE, Role.REGION])
def test_the_import_page_opens_for_staff(app, chain, role):
    client = app.test_client()
    login(client, chain.users[role])
    page = client.get("/admin/imports/").get_data(as_text=True)
    assert 'id="import-donations"' in page and 'id="import-villages"' in page
    assert "、".join(HEADER) in page


def test_the_admin_has_no_import_screen(app, chain, project):
    admin = Importer(app, chain.users[Role.ADMIN])
    assert admin.client.get("/admin/imports/").status_code == 403
    before = counts()
    response = admin.preview(csv_bytes([gift(project, "ADM-1")]), "a.csv")
    assert response.status_code == 403
    assert counts() == before and admin.kept() == []


# -- a good donation file -------------------------------------------------------------------------------

def test_a_good_donation_csv_previews_confirms_and_writes_every_row(county, project):
    rows = [gift(project, "GY-0001", "100", donor="张三", message="祝家乡越来越好"),
            gift(project, "GY-0002", "1,234.56", "2024/04/02 08:15", "李四", "否"),
            gift(project, "GY-0003", "0.01", "2024-04-03", "", "部分")]
    data = csv_bytes(rows)
    before = counts()
    page = county.preview(data, "平台导出.csv").get_data(as_text=True)
    assert 'id="problems"' not in page
    assert "共 3 行：新增 3 行，已导入过 0 行" in page
    for txn, amount in (("GY-0001", "100.00 元"), ("GY-0002", "1,234.56 元"), ("GY-0003", "0.01 元")):
        assert txn in page and amount in page
    assert "公开" in page and "部分公开" in page and "不公开" in page
    form = confirm_form(page)
    assert form == {"kind": "donations", "sha256": hashlib.sha256(data).hexdigest(), "name": "平台导出.csv"}
    assert counts() == before, "the preview wrote rows"
    assert len(county.kept()) == 1
    response = county.confirm(**form)
    assert response.headers["Location"] == "/admin/donation/"
    assert "成功导入 3 条捐赠" in flashes(county.follow(response))
    assert counts()[:3] == (before[0] + 3, before[1] + 3, before[2] + 1)
    got = {d.txn_no: d for d in Donation.select().where(Donation.project == project.id)}
    assert got["GY-0002"].amount == 123456 and got["GY-0002"].name_consent == "none"
    assert got["GY-0001"].message == "祝家乡越来越好" and got["GY-0003"].name_consent == "masked"
    run = ImportRun.get()
    assert (run.filename, run.added, run.user_id, run.sha256) == ("平台导出.csv", 3, county.person.id, form["sha256"])
    assert county.kept() == [], "the upload was kept after the import"
    # The same confirm again finds nothing to import.
    page = county.follow(county.confirm(**form))
    assert "预览已过期，请重新上传文件" in flashes(page)
    assert counts()[:3] == (before[0] + 3, before[1] + 3, before[2] + 1)


def test_a_good_xlsx_previews_and_confirms(county, project):
    rows = [["X-1", project.code, "赵六", 100.5, dt.datetime(2024, 4, 2, 9, 30, 15), "是", "加油"],
            ["X-2", project.code, "钱七", 200, dt.datetime(2024, 4, 3, 18, 0), "否", None]]
    page = county.preview(xlsx_bytes(rows), "export.xlsx").get_data(as_text=True)
    assert "共 2 行：新增 2 行" in page
    county.follow(county.confirm(**confirm_form(page)))
    assert {d.txn_no: d.amount for d in Donation.select().where(Donation.txn_no.startswith("X-"))} == {
        "X-1": 10050, "X-2": 20000}


def test_a_gb18030_csv_imports(county, project):
    data = csv_bytes([gift(project, "GB-1", "88.80", donor="乌云其木格", message="扎根草原")], encoding="gb18030")
    page = county.preview(data, "gbk.csv").get_data(as_text=True)
    assert "乌云其木格" in page
    county.follow(county.confirm(**confirm_form(page)))
    assert Donation.get(Donation.txn_no == "GB-1").donor_name == "乌云其木格"


def test_reimporting_adds_nothing(app, county, project, chain):
    data = csv_bytes([gift(project, "R-1", "10"), gift(project, "R-2", "20"), gift(project, "R-3", "30")])
    # A second member of staff previews the same file before the first one confirms it.
    colleague = Importer(app, chain.users[Role.PREFECTURE])
    late = confirm_form(colleague.preview(data, "a.csv").get_data(as_text=True))
    county.follow(county.confirm(**confirm_form(county.preview(data, "a.csv").get_data(as_text=True))))
    before = counts()
    # Uploading it again: every row is known, nothing to confirm.
    page = county.preview(data, "a.csv").get_data(as_text=True)
    assert "共 3 行：新增 0 行，已导入过 3 行" in page
    assert 'action="/admin/imports/confirm"' not in page
    assert county.kept() == []
    # The colleague's stale preview: confirming says all rows were imported already, and adds nothing.
    page = colleague.follow(colleague.confirm(**late))
    assert "全部 3 行此前已导入，本次未新增任何记录" in flashes(page)
    assert counts() == before


# -- hostile donation files -------------------------------------------------------------------------------

def _zip_with(member: str, body: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(member, body)
    return out.getvalue()


def hostile_files(project, other_project, draft):
    """name → (bytes, filename, (row, column) expected in the table, words of the message)."""
    good = gift(project, "OK-1")
    return {
        "bad amount": (csv_bytes([good, gift(project, "H-1", "12.345")]), "h.csv", ("3", "金额"), "两位小数"),
        "amount not a number": (csv_bytes([gift(project, "H-1", "一百元")]), "h.csv", ("2", "金额"), "格式不正确"),
        "missing column": (csv_bytes([["H-1", project.code, "张三", WHEN, "是", ""]],
                                     header=["交易号", "项目编号", "捐赠人", "捐赠时间", "公开姓名", "留言"]),
                           "h.csv", ("1", "金额"), "缺少必需的列"),
        "unknown project": (csv_bytes([gift(project, "H-1")[:1] + ["XF000000000000-99"] + gift(project, "H-1")[2:]]),
                            "h.csv", ("2", "项目编号"), "不存在或不在您的管辖范围内"),
        "project of another county": (csv_bytes([good, gift(other_project, "H-1")]), "h.csv", ("3", "项目编号"),
                                      "不在您的管辖范围内"),
        "project not raising money": (csv_bytes([gift(draft, "H-1")]), "h.csv", ("2", "项目编号"), "不接受捐赠"),
        "duplicate txn": (csv_bytes([good, gift(project, "OK-1", "5")]), "h.csv", ("3", "交易号"), "与第 2 行的交易号重复"),
        "txn already used for another gift": (csv_bytes([gift(project, "USED-1", "999")]), "h.csv", ("2", "交易号"),
                                              "已导入过，但项目或金额不同"),
        "empty txn": (csv_bytes([gift(project, "")]), "h.csv", ("2", "交易号"), "交易号不能为空"),
        "not an xlsx renamed .xlsx": (b"%PDF-1.4 not a workbook", "h.xlsx", ("", ""), "不是有效的 XLSX"),
        "csv renamed .xlsx": (csv_bytes([good]), "h.xlsx", ("", ""), "不是有效的 XLSX"),
        "corrupt zip .xlsx": (b"PK\x03\x04" + b"\x00garbage" * 50, "h.xlsx", ("", ""), "XLSX 文件已损坏"),
        "zip without a workbook": (_zip_with("hello.txt", b"hi"), "h.xlsx", ("", ""), "XLSX 文件已损坏"),
        "empty file": (b"", "h.csv", ("", ""), "文件为空"),
        "header only": (csv_bytes([]), "h.csv", ("", ""), "文件只有表头"),
        "blank lines only": (b"\r\n,,,\r\n\r\n", "h.csv", ("", ""), "没有表头和数据"),
        "binary csv": (b"\x00\x01\x02" * 20, "h.csv", ("", ""), "不是文本 CSV"),
        "formula cell in xlsx": (xlsx_bytes([["H-1", project.code, "张三", "=SUM(50,50)", WHEN, "是", ""]]), "h.xlsx",
                                 ("2", "金额"), "单元格含公式"),
        "formula cell in csv": (csv_bytes([good, gift(project, "H-2", message='=HYPERLINK("http://evil")')]), "h.csv",
                                ("3", "留言"), "单元格含公式"),
        "bad date": (csv_bytes([gift(project, "H-1", when="2024-02-30 10:00")]), "h.csv", ("2", "捐赠时间"),
                     "格式不正确"),
        "date in the future": (csv_bytes([gift(project, "H-1", when="2099-01-01 00:00:00")]), "h.csv",
                               ("2", "捐赠时间"), "晚于今天"),
        "bad 公开姓名": (csv_bytes([gift(project, "H-1", consent="也许")]), "h.csv", ("2", "公开姓名"), "应填 是、否 或 部分"),
        "bad channel": (csv_bytes([gift(project, "H-1") + ["比特币"]], header=HEADER + ["渠道"]), "h.csv", ("2", "渠道"),
                        "应填"),
        "donor name too long": (csv_bytes([gift(project, "H-1", donor="张" * 65)]), "h.csv", ("2", "捐赠人"), "过长"),
    }


HOSTILE = ["bad amount", "amount not a number", "missing column", "unknown project", "project of another county",
           "project not raising money", "duplicate txn", "txn already used for another gift", "empty txn",
           "not an xlsx renamed .xlsx", "csv renamed .xlsx", "corrupt zip .xlsx", "zip without a workbook", "empty file",
           "header only", "blank lines only", "binary csv", "formula cell in xlsx", "formula cell in csv", "bad date",
           "date in the future", "bad 公开姓名", "bad channel", "donor name too long"]


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_donation_file_shows_its_problems_and_writes_nothing(county, project, chain, case):
    other = Chain("150122")
    other_project = advance_to(new_project(other, name="乙地项目"), "fundraising", other)
    draft = new_project(chain, chain.add_village(), name="草稿项目")
    donate(project, 500, txn="USED-1")
    data, name, (row, column), words = hostile_files(project, other_project, draft)[case]
    before = counts()
    response = county.preview(data, name)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    table = problems(page)
    assert any(r == row and c == column and words in m for r, c, m in table), table
    assert 'action="/admin/imports/confirm"' not in page
    assert counts() == before
    assert county.kept() == [], "a refused file was kept for a later confirm"
    # Forcing a confirm of the refused file's digest writes nothing either.
    page = county.follow(county.confirm(hashlib.sha256(data).hexdigest(), name))
    assert any("预览已过期" in f or "导入失败" in f for f in flashes(page)), flashes(page)
    assert counts() == before


def test_hostile_cases_are_many_and_distinct():
    assert len(HOSTILE) >= 15 and len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("name", ["捐赠.txt", "捐赠.xls", "捐赠", "捐赠.csv.exe"])
def test_a_file_that_is_not_csv_or_xlsx_is_refused_before_reading(county, project, name):
    before = counts()
    response = county.preview(csv_bytes([gift(project, "T-1")]), name)
    assert response.headers["Location"] == "/admin/imports/"
    assert any("不支持的文件类型" in f for f in flashes(county.follow(response)))
    assert counts() == before and county.kept() == []


def test_a_preview_without_a_file_is_refused(county):
    response = county.client.post("/admin/imports/preview", data={"kind": "donations", "csrf_token": county.token},
                                  content_type="multipart/form-data")
    assert "请选择要导入的文件" in flashes(county.follow(response))


def test_an_oversize_file_is_refused(county, project, monkeypatch):
    monkeypatch.setattr(db.imports, "MAX_FILE_BYTES", 200)
    data = csv_bytes([gift(project, f"BIG-{i}") for i in range(10)])
    assert len(data) > 200
    before = counts()
    table = problems(county.preview(data, "big.csv").get_data(as_text=True))
    assert table and table[0][:2] == ("", "") and "文件超过" in table[0][2]
    assert counts() == before and county.kept() == []


# -- tampered confirms ------------------------------------------------------------------------------------

def test_a_confirm_with_another_digest_is_refused(county, project):
    data = csv_bytes([gift(project, "C-1")])
    page = county.preview(data, "c.csv").get_data(as_text=True)
    form = confirm_form(page)
    before = counts()
    other = hashlib.sha256(b"a file never previewed").hexdigest()
    assert "预览已过期，请重新上传文件" in flashes(county.follow(county.confirm(other, "c.csv")))
    for bad in ("../../secret_key", "0" * 63, form["sha256"].upper(), form["sha256"] + "/../x", ""):
        assert "导入请求无效" in flashes(county.follow(county.confirm(bad, "c.csv"))), bad
    assert "导入请求无效" in flashes(county.follow(county.confirm(form["sha256"], "c.csv", kind="users")))
    assert counts() == before
    # The real digest still works afterwards.
    county.follow(county.confirm(**form))
    assert Donation.get_or_none(Donation.txn_no == "C-1") is not None


def test_a_confirm_of_someone_elses_preview_is_refused(app, county, project, chain):
    data = csv_bytes([gift(project, "S-1")])
    form = confirm_form(county.preview(data, "s.csv").get_data(as_text=True))
    stranger = Importer(app, Chain("150122").users[Role.COUNTY])
    before = counts()
    assert "预览已过期，请重新上传文件" in flashes(stranger.follow(stranger.confirm(**form)))
    assert counts() == before


def test_a_confirm_with_the_wrong_kind_writes_nothing(county, project):
    data = csv_bytes([gift(project, "K-1")])
    form = confirm_form(county.preview(data, "k.csv").get_data(as_text=True))
    before = counts()
    page = county.follow(county.confirm(form["sha256"], "k.csv", kind="villages"))
    assert any(f.startswith("导入失败，未写入任何记录") for f in flashes(page)), flashes(page)
    assert counts() == before


def test_a_confirm_rechecks_the_file_against_the_database(county, project, chain):
    """Between preview and confirm the project left 募捐中: the confirm books the gift as it stands
    then (late), not as the preview saw it."""
    data = csv_bytes([gift(project, "L-1")])
    page = county.preview(data, "l.csv").get_data(as_text=True)
    assert 'id="warnings"' not in page
    form = confirm_form(page)
    donate(project, project.target)
    workflow.advance_project(project, "reach_target", chain.users[Role.COUNTY])
    workflow.advance_project(project, "apply_use", chain.users[Role.VILLAGE])
    county.follow(county.confirm(**form))
    assert Donation.get(Donation.txn_no == "L-1").timing == "late"


# -- villages -----------------------------------------------------------------------------------------------

def free_code(prefix: str, width: int, start: int = 900) -> str:
    for n in range(start, 10 ** width):
        code = f"{prefix}{n:0{width}d}"
        if Area.get_or_none(Area.code == code) is None:
            return code
    raise AssertionError("no free code")


def village_row(code, name, town_name="", full_name="", kind="村", batch="稳步推广", phone="13800000001"):
    return [code, name, code[:9], town_name, full_name, kind, f"{name}详细地址", "负责人", phone, batch]


def test_a_good_village_csv_imports_villages_for_a_county_user(county, chain):
    known_town = chain.township.code
    new_town = free_code("150121", 3)
    first = free_code(known_town, 3)
    second = free_code(new_town, 3)
    rows = [village_row(first, "团结村", full_name="土默特左旗测试镇团结村"),
            village_row(second, "富民嘎查", town_name="新建镇", kind="嘎查", batch="全面实施", phone="0471-1234567")]
    data = csv_bytes(rows, header=VILLAGE_HEADER)
    before = counts()
    page = county.preview(data, "村社名单.csv", kind="villages").get_data(as_text=True)
    assert 'id="problems"' not in page, problems(page)
    assert "共 2 行：新增 2 行" in page and "团结村" in page and "富民嘎查" in page
    form = confirm_form(page)
    assert form["kind"] == "villages"
    assert counts() == before
    response = county.confirm(**form)
    assert response.headers["Location"] == "/admin/village/"
    assert "成功导入 2 个村社" in flashes(county.follow(response))
    one = Village.get(Village.area == get_area(first).id)
    two = Village.get(Village.area == get_area(second).id)
    assert (one.full_name, one.kind, one.batch.code, one.admission_state) == ("土默特左旗测试镇团结村", "村", "rollout",
                                                                               "draft")
    assert (two.kind, two.batch.code, two.leader_phone, two.address) == ("嘎查", "full", "0471-1234567", "富民嘎查详细地址")
    assert get_area(new_town).name == "新建镇" and get_area(second).parent_id == get_area(new_town).id
    run = ImportRun.get(ImportRun.kind == "villages")
    assert (run.added, run.user_id) == (2, county.person.id)
    listing = county.client.get("/admin/village/").get_data(as_text=True)
    assert "土默特左旗测试镇团结村" in listing
    # Again: nothing new.
    page = county.preview(data, "村社名单.csv", kind="villages").get_data(as_text=True)
    assert "新增 0 行，已导入过 2 行" in page and 'action="/admin/imports/confirm"' not in page


@pytest.mark.parametrize("case", ["another county", "not inner mongolia", "short code", "town code mismatch",
                                  "bad kind", "bad batch", "formula", "bad phone", "duplicate", "new town without name"])
def test_a_bad_village_file_shows_its_problems_and_writes_nothing(county, chain, case):
    mine = free_code(chain.township.code, 3)
    theirs = free_code("150122" + "201", 3)
    rows = {
        "another county": ([village_row(theirs, "外县村", town_name="外县镇")], ("2", "村社代码"), "不在您的管辖范围内"),
        "not inner mongolia": ([village_row("110101001001", "北京村", town_name="某街道")], ("2", "村社代码"),
                               "不是内蒙古的旗县市区代码"),
        "short code": ([village_row("15012110100", "短码村")], ("2", "村社代码"), "12 位数字"),
        "town code mismatch": ([[mine, "错镇村", "150121999", "", "", "村", "", "", "", "稳步推广"]],
                               ("2", "乡镇/街道代码"), "应为村社代码的前 9 位"),
        "bad kind": ([village_row(mine, "某村", kind="屯")], ("2", "类别"), "应为 村、嘎查 或 社区"),
        "bad batch": ([village_row(mine, "某村", batch="第四批")], ("2", "批次"), "探索试点"),
        "formula": ([village_row(mine, "=1+1")], ("2", "村社名称"), "单元格含公式"),
        "bad phone": ([village_row(mine, "某村", phone="call me")], ("2", "联系电话"), "电话号码格式不正确"),
        "duplicate": ([village_row(mine, "某村"), village_row(mine, "某村")], ("3", "村社代码"), "与第 2 行重复"),
        "new town without name": ([village_row(free_code(free_code("150121", 3), 3), "无名镇村")], ("2", "乡镇/街道名称"),
                                  "须填写名称"),
    }[case]
    data = csv_bytes(rows[0], header=VILLAGE_HEADER)
    before = counts()
    page = county.preview(data, "v.csv", kind="villages").get_data(as_text=True)
    table = problems(page)
    assert any(r == rows[1][0] and c == rows[1][1] and rows[2] in m for r, c, m in table), table
    assert 'action="/admin/imports/confirm"' not in page
    assert counts() == before and county.kept() == []


def test_a_village_user_cannot_import_villages(app, chain):
    local = Importer(app, chain.users[Role.VILLAGE])
    code = free_code(chain.township.code, 3)
    before = counts()
    page = local.preview(csv_bytes([village_row(code, "自己村")], header=VILLAGE_HEADER), "v.csv",
                         kind="villages").get_data(as_text=True)
    assert any(c == "村社代码" and "不在您的管辖范围内" in m for _, c, m in problems(page))
    assert counts() == before
