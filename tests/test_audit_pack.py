"""项目审计包 (``db.audit_pack``, ``xfjy audit-pack``): the pack's verify.py passes on an honest pack and
names what was changed; the same project and date give the same bytes; nothing of another project is inside."""
from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner
from PIL import Image

from admin.cli import cli
from db import attachments, disclosures, evaluations, history, spending, workflow
from db.models import Attachment, AuditLog, Donation, Expenditure, Project, Role

from .admin_support import login
from .backends import bound
from .factories import PDF, Chain, advance_to, donate, new_project, reload

AS_OF = dt.date(2030, 1, 1)  # after everything the factories date (and after today's uploads)


def png() -> bytes:
    """A small real picture (a receipt photo): the upload encodes it again, so only a decodable one will do."""
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def filed(app, tmp_path):
    """A project with donations, spending with receipts, a corrected disclosure and an evaluation, in
    土默特左旗, all linked into the public history; and another project of the same village with a gift."""
    chain = Chain()
    project = advance_to(new_project(chain, name="审计路灯"), "implementing", chain)
    donate(project, 12_345, txn="AUDIT-EXTRA-1", when=dt.datetime(2024, 5, 2, 8, 30))
    Donation.update(donor_name="张三丰", name_consent="masked").where(Donation.txn_no == "AUDIT-EXTRA-1").execute()
    root = app.config["ATTACHMENTS_DIR"]
    village = chain.users[Role.VILLAGE]
    first = spending.record_expenditure(project, spent_on=dt.date(2024, 9, 10), item="路灯 30 盏", payee="某某照明公司",
                                        amount=300_000, voucher_no="PZ-001", approved_by="王建国", actor=village)
    attachments.store(root, PDF, "发票.pdf", expenditure=first, actor=village)
    attachments.store(root, png(), "签收单.png", expenditure=first, actor=village)
    second = spending.record_expenditure(project, spent_on=dt.date(2024, 9, 12), item="安装费", payee="张师傅",
                                         amount=50_000, actor=village)
    attachments.store(root, PDF + b"%second\n", "收据.pdf", expenditure=second, actor=village)
    notice = disclosures.publish(project, "支出公示", "路灯 30 盏，3000 元。", published_on=dt.date(2024, 9, 15),
                                 actor=village)
    disclosures.correct(notice, "路灯 30 盏，3,000.00 元。", "金额写法更正", published_on=dt.date(2024, 9, 16), actor=village)
    workflow.advance_project(project, "request_acceptance", village)
    evaluations.record_evaluation(project, result="good", evaluated_on=dt.date(2024, 10, 1), score=88, notes="路灯全部点亮",
                                  actor=chain.users[Role.COUNTY])
    other = advance_to(new_project(chain, chain.add_village(), name="另一项目"), "fundraising", chain)
    donate(other, 777, txn="OTHER-PROJECT-GIFT")
    history.seal()
    return Filed(reload(project), chain)


class Filed(NamedTuple):
    project: Project
    chain: Chain


def pack(app, project_code: str, out: Path, *extra: str):
    return app.test_cli_runner().invoke(cli, ["audit-pack", project_code, "--out", str(out), *extra])


def built(app, filed, tmp_path, name="pack.zip") -> Path:
    out = tmp_path / name
    result = pack(app, filed.project.code, out, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, (result.output, result.exception)
    assert "已生成审计包" in result.output
    return out


def extracted(zip_path: Path, into: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
        (top,) = {name.split("/")[0] for name in archive.namelist()}
    return into / top


def verify(folder: Path) -> subprocess.CompletedProcess:
    """The pack's own verify.py, run by the Python running the tests from the extracted copy, isolated
    (-I: no PYTHONPATH, no user site, not the project's folder)."""
    return subprocess.run([sys.executable, "-I", "verify.py"], cwd=folder, capture_output=True, text=True, timeout=60)


def rows(folder: Path, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO((folder / name).read_text("utf-8-sig"))))


def rewrite(folder: Path, name: str, change) -> None:
    """Rewrite a CSV of the pack with ``change(rows)`` applied, as an editor would save it."""
    data = rows(folder, name)
    change(data)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(data[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(data)
    (folder / name).write_text("\ufeff" + out.getvalue(), "utf-8")


def test_an_honest_pack_verifies(app, filed, tmp_path):
    folder = extracted(built(app, filed, tmp_path), tmp_path / "x")
    result = verify(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "核验通过" in result.stdout
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    second = [r for r in rows(folder, "spending.csv") if r["voucher_no"] == ""][0]
    assert names == sorted(["README.txt", "disclosures.csv", "donations.csv", "entries.csv", "evaluation.csv", "form.html",
                            "history.csv", "manifest.csv", "receipts/PZ-001-1.pdf", "receipts/PZ-001-2.png",
                            f"receipts/line{second['line_id']}-1.pdf", "reviews.csv", "spending.csv", "verify.py"])
    assert second["receipts"] == f"receipts/line{second['line_id']}-1.pdf"
    assert (folder / second["receipts"]).read_bytes() == PDF + b"%second\n"

    # What each file holds: the donors as stored, amounts in 元 and fen, links into the public history.
    gifts = {r["txn_no"]: r for r in rows(folder, "donations.csv")}
    assert gifts["AUDIT-EXTRA-1"]["donor_name"] == "张三丰"  # as stored, though the public sees 张*
    assert gifts["AUDIT-EXTRA-1"]["name_consent"] == "部分公开"
    assert (gifts["AUDIT-EXTRA-1"]["amount_yuan"], gifts["AUDIT-EXTRA-1"]["amount_fen"]) == ("123.45", "12345")
    assert gifts["AUDIT-EXTRA-1"]["donated_at"] == "2024-05-02 08:30:00"
    assert {r["channel"] for r in gifts.values()} == {"网络平台"}
    entries = rows(folder, "entries.csv")
    assert entries and all(r["chain_seq"] and len(r["chain_hash"]) == 64 for r in entries)
    assert {"donation", "disbursement", "expenditure"} <= {r["kind"] for r in entries}
    versions = rows(folder, "disclosures.csv")
    assert [v["correction_note"] for v in versions] == ["", "金额写法更正"]
    assert versions[1]["corrects"] == versions[0]["disclosure_id"]
    assert versions[0]["corrected_by"] == versions[1]["disclosure_id"]
    assert rows(folder, "evaluation.csv")[0]["result"] == "良好"
    reviews = rows(folder, "reviews.csv")
    assert [r["decision"] for r in reviews[:5]] == ["提交", "同意", "同意", "同意", "同意"]
    assert all(r["opinion"] == "同意" for r in reviews[1:5])
    form = (folder / "form.html").read_text("utf-8")
    assert "村社慈善公益项目申报表" in form and "审计路灯" in form and "同意" in form
    readme = (folder / "README.txt").read_text("utf-8")
    assert "python3 verify.py" in readme and "SHA-256" in readme


def test_the_form_is_the_admin_print_view(app, filed, tmp_path):
    folder = extracted(built(app, filed, tmp_path), tmp_path / "x")
    client = app.test_client()
    login(client, filed.chain.users[Role.COUNTY])
    printed = client.get(f"/admin/workflow/project/{filed.project.id}/print")
    assert printed.status_code == 200
    assert printed.get_data() == (folder / "form.html").read_bytes()


def test_one_changed_receipt_byte_fails_naming_the_file(app, filed, tmp_path):
    folder = extracted(built(app, filed, tmp_path), tmp_path / "x")
    receipt = folder / "receipts" / "PZ-001-2.png"
    data = bytearray(receipt.read_bytes())
    data[-5] ^= 0x01
    receipt.write_bytes(bytes(data))
    result = verify(folder)
    assert result.returncode == 1
    assert "receipts/PZ-001-2.png" in result.stderr and "SHA-256" in result.stderr
    assert "PZ-001-1.pdf" not in result.stderr


def test_a_changed_amount_in_the_entries_fails(app, filed, tmp_path):
    folder = extracted(built(app, filed, tmp_path), tmp_path / "x")

    def raise_one(data):
        row = next(r for r in data if r["kind"] == "expenditure")
        row["amount_fen"] = str(int(row["amount_fen"]) + 100)
        row["amount_yuan"] = f"{int(row['amount_fen']) / 100:.2f}"

    rewrite(folder, "entries.csv", raise_one)
    result = verify(folder)
    assert result.returncode == 1
    assert "entries.csv" in result.stderr and "哈希过的金额" in result.stderr


def test_a_changed_body_in_the_history_fails(app, filed, tmp_path):
    folder = extracted(built(app, filed, tmp_path), tmp_path / "x")

    def edit_body(data):
        data[0]["body"] = data[0]["body"].replace('"amount":', '"amount":1', 1)

    rewrite(folder, "history.csv", edit_body)
    result = verify(folder)
    assert result.returncode == 1
    assert "哈希与内容不符" in result.stderr


def test_the_same_project_and_date_give_the_same_bytes(app, filed, tmp_path):
    one, two = built(app, filed, tmp_path, "one.zip"), built(app, filed, tmp_path, "two.zip")
    assert one.read_bytes() == two.read_bytes()
    with zipfile.ZipFile(one) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(2030, 1, 1, 0, 0, 0)}
    earlier = tmp_path / "earlier.zip"
    assert pack(app, filed.project.code, earlier, "--as-of", "2024-09-11").exit_code == 0
    folder = extracted(earlier, tmp_path / "e")
    assert [r["voucher_no"] for r in rows(folder, "spending.csv")] == ["PZ-001"]  # the 09-12 line is after the date
    assert rows(folder, "disclosures.csv") == [] and rows(folder, "evaluation.csv") == []
    assert verify(folder).returncode == 0


def test_nothing_of_another_project_is_inside(app, filed, tmp_path):
    with zipfile.ZipFile(built(app, filed, tmp_path)) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"OTHER-PROJECT-GIFT" not in everything
    assert "另一项目".encode() not in everything


def test_an_unknown_project_is_a_chinese_error(app, db, tmp_path):
    out = tmp_path / "none.zip"
    result = pack(app, "XF000000000000-99", out)
    assert result.exit_code == 1
    assert "没有编号为「XF000000000000-99」的项目" in result.output
    assert not out.exists()


def test_a_bad_date_is_a_chinese_error(app, filed, tmp_path):
    result = pack(app, filed.project.code, tmp_path / "p.zip", "--as-of", "2024/09/11")
    assert result.exit_code == 1 and "不是有效日期" in result.output


def test_a_missing_stored_receipt_is_reported(app, filed, tmp_path):
    gone = filed.project.expenditures.order_by(Expenditure.id).first().attachments.order_by(Attachment.id).first()
    attachments.path_for(app.config["ATTACHMENTS_DIR"], gone.sha256).unlink()
    folder = extracted(built(app, filed, tmp_path), tmp_path / "x")
    result = verify(folder)
    assert result.returncode == 1
    assert f"附件 #{gone.id}（发票.pdf）在系统中找不到文件" in result.stderr


# -- the admin's 下载审计包 ------------------------------------------------------------------------------

def test_a_county_user_downloads_the_pack_from_the_project_page(app, filed, tmp_path):
    client = app.test_client()
    login(client, filed.chain.users[Role.COUNTY])
    page = client.get(f"/admin/workflow/project/{filed.project.id}").get_data(as_text=True)
    assert 'id="audit-pack"' in page and "下载审计包" in page
    response = client.get(f"/admin/workflow/project/{filed.project.id}/audit-pack")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment")
    (tmp_path / "web.zip").write_bytes(response.get_data())
    result = verify(extracted(tmp_path / "web.zip", tmp_path / "w"))
    assert result.returncode == 0, result.stderr
    logged = AuditLog.select().where((AuditLog.action == "export") & (AuditLog.table == "project")
                                     & (AuditLog.object_id == str(filed.project.id))).get()
    assert logged.username == filed.chain.users[Role.COUNTY].username and "下载审计包" in logged.summary


def test_the_pack_is_refused_below_the_county_and_outside_the_area(app, filed):
    url = f"/admin/workflow/project/{filed.project.id}/audit-pack"
    township = app.test_client()
    login(township, filed.chain.users[Role.TOWNSHIP])
    assert 'id="audit-pack"' not in township.get(f"/admin/workflow/project/{filed.project.id}").get_data(as_text=True)
    assert township.get(url).status_code == 403
    elsewhere = app.test_client()
    login(elsewhere, Chain("150122").users[Role.COUNTY])  # 托克托县: another county of the same 盟市
    assert elsewhere.get(url).status_code == 404
    assert not AuditLog.select().where(AuditLog.action == "export").exists()


# -- the command on a database of its own (no test transaction around it: its own consistent read) -------

def test_the_command_reads_its_own_database(cli_url, tmp_path):
    runner = CliRunner()
    for command in (["init-db"], ["load-regions"]):
        assert runner.invoke(cli, command, prog_name="xfjy").exit_code == 0
    with bound(cli_url):
        chain = Chain()
        project = advance_to(new_project(chain), "fundraising", chain)
        donate(project, 4_321, txn="OWN-DB-GIFT")
        history.seal()
        code = project.code
    out = tmp_path / "own.zip"
    result = runner.invoke(cli, ["audit-pack", code, "--out", str(out)], prog_name="xfjy")
    assert result.exit_code == 0, (result.output, result.exception)
    folder = extracted(out, tmp_path / "o")
    assert "OWN-DB-GIFT" in (folder / "donations.csv").read_text("utf-8-sig")
    checked = verify(folder)
    assert checked.returncode == 0, checked.stderr
