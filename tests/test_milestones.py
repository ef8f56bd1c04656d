"""实施步骤 (db.milestones): each phase's four steps per 盟市-level unit, their due dates, statuses read
against a day, step 三 from the projects' review history, the region's review, and who sees what."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from db import milestones
from db.areas import get_area
from db.clock import travel
from db.errors import AttachmentError, JurisdictionError, XfjyError
from db.jurisdiction import get_scoped, scoped
from db.milestones import Cell, status_of
from db.models import Attachment, AuditLog, Batch, Milestone, MilestoneReview, Role, Training

from .factories import PDF, Chain, advance_to, new_project, user

PILOT_START = dt.date(2023, 2, 1)


def batch(code: str = "pilot") -> Batch:
    return Batch.get(Batch.code == code)


def docx(extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal Word package: what a .docx must hold for the check (and Word) to read it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            package.writestr(name, data)
    return out.getvalue()


def xlsx() -> bytes:
    out = io.BytesIO()
    book = openpyxl.Workbook()
    book.active.append(["试点村社", "旗县"])
    book.save(out)
    return out.getvalue()


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def hohhot(db):
    """呼和浩特市 and its 盟市 user, the region's user, and 包头市's user (another unit)."""
    unit = get_area("150100")
    return dict(unit=unit, own=user(Role.PREFECTURE, unit), region=user(Role.REGION, get_area("150000")),
                other=user(Role.PREFECTURE, get_area("150200")), county=user(Role.COUNTY, get_area("150121")))


def done_plan(people, root, on=dt.date(2023, 4, 20)) -> Milestone:
    with travel(dt.datetime.combine(on, dt.time(10))):
        m = milestones.record(batch(), people["unit"], 1, done_on=on, summary="方案已报", actor=people["own"])
        milestones.add_document(root, m, PDF, "实施方案.pdf", actor=people["own"])
        milestones.advance(m, "submit", people["own"])
    return Milestone.get_by_id(m.id)


# -- due dates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "expected"), [
    ("pilot", [dt.date(2023, 4, 30), dt.date(2023, 5, 31), dt.date(2023, 6, 30), dt.date(2023, 12, 31)]),
    # 稳步推广 starts 2023-12-01: two months on is the end of February of a leap year
    ("rollout", [dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2024, 4, 30), dt.date(2024, 12, 31)]),
    ("full", [dt.date(2025, 3, 31), dt.date(2025, 4, 30), dt.date(2025, 5, 31), dt.date(2026, 1, 31)]),
])
def test_each_phase_has_the_plans_due_dates(db, code, expected):
    assert list(milestones.dues(batch(code)).values()) == expected
    assert [milestones.default_due(batch(code).starts_on, batch(code).ends_on, s) for s in milestones.STEPS] == expected


def test_the_region_moves_a_due_date_for_the_phase_and_no_one_else_may(hohhot):
    with pytest.raises(JurisdictionError):
        milestones.set_due(batch(), 1, dt.date(2023, 5, 15), hohhot["own"])
    assert milestones.dues(batch())[1] == dt.date(2023, 4, 30)
    with pytest.raises(XfjyError, match="阶段结束一年之内"):
        milestones.set_due(batch(), 1, dt.date(2022, 12, 1), hohhot["region"])
    milestones.set_due(batch(), 1, dt.date(2023, 5, 15), hohhot["region"])
    assert milestones.dues(batch())[1] == dt.date(2023, 5, 15)
    assert milestones.dues(batch("rollout"))[1] == dt.date(2024, 2, 29)
    assert AuditLog.select().where(AuditLog.summary.contains("完成时间改为 2023-05-15")).count() == 1
    with travel(dt.datetime(2023, 5, 10, 9)):
        assert milestones.board(batch(), hohhot["unit"])[0].cells[0].status == "not_started"


# -- status against a day ------------------------------------------------------------------------------

@pytest.mark.parametrize(("done", "recorded", "on", "expected"), [
    (None, False, dt.date(2023, 4, 30), ("not_started", 0)),   # the due date itself is still on time
    (None, True, dt.date(2023, 4, 1), ("in_progress", 0)),
    (None, False, dt.date(2023, 5, 1), ("overdue", 1)),
    (None, True, dt.date(2023, 6, 9), ("overdue", 40)),       # 1 day of May after the 30th of April, + 31 + 8
    (dt.date(2023, 4, 30), True, dt.date(2023, 9, 1), ("done", 0)),
    (None, True, dt.date(2023, 5, 20), ("overdue", 20)),
    (dt.date(2023, 5, 3), True, dt.date(2023, 9, 1), ("done", 3)),
])
def test_status_is_read_against_the_day(done, recorded, on, expected):
    assert status_of(dt.date(2023, 4, 30), done, recorded, on) == expected


def test_a_step_is_done_only_once_the_region_agrees(hohhot, tmp_path):
    m = done_plan(hohhot, tmp_path, on=dt.date(2023, 5, 2))
    on = dt.date(2023, 5, 10)
    assert milestones.board(batch(), hohhot["unit"], on)[0].cells[0].status == "in_progress"  # with the region
    milestones.advance(m, "reject", hohhot["region"], "请补充各旗县的试点村社名单")
    assert milestones.board(batch(), hohhot["unit"], on)[0].cells[0].status == "overdue"  # back with the unit
    milestones.add_document(tmp_path, m, PDF, "补充名单.pdf", actor=hohhot["own"])
    milestones.advance(m, "submit", hohhot["own"])
    milestones.advance(m, "approve", hohhot["region"], "同意")
    cell = milestones.board(batch(), hohhot["unit"], on)[0].cells[0]
    assert (cell.status, cell.days_late, cell.done_on) == ("done", 2, dt.date(2023, 5, 2))
    assert cell.describe() == "2023-05-02 完成，逾期 2 天完成"


# -- step 三, from the review history -------------------------------------------------------------------

def launch(chain: Chain, on: dt.datetime):
    village = chain.add_village()
    with travel(on):
        advance_to(new_project(chain, village, starts_on=dt.date(2023, 6, 1), ends_on=dt.date(2023, 12, 31)),
                   "fundraising", chain)
    return village


def test_step_three_is_the_share_of_pilot_villages_launched_by_the_due_date(db):
    chain = Chain("150121")  # its first village never launches a project
    launch(chain, dt.datetime(2023, 6, 10, 9))
    launch(chain, dt.datetime(2023, 6, 30, 23))  # the due date's last hour still counts
    launch(chain, dt.datetime(2023, 7, 5, 9))
    unit = chain.prefecture

    def cell(on) -> Cell:
        return milestones.board(batch(), unit, on)[0].cells[2]

    assert (cell(dt.date(2023, 6, 5)).status, cell(dt.date(2023, 6, 5)).share) == ("not_started", "0/4")
    assert (cell(dt.date(2023, 6, 20)).status, cell(dt.date(2023, 6, 20)).share) == ("in_progress", "1/4")
    after = cell(dt.date(2023, 7, 10))
    assert (after.status, after.days_late, after.share) == ("overdue", 10, "2/4")  # the July launch came too late
    assert milestones.board(batch("rollout"), unit, dt.date(2024, 5, 1))[0].cells[2].share == "—"


def test_step_three_is_done_on_the_day_the_last_village_launched(db):
    chain = Chain("150781")  # 满洲里市: a unit of its own
    launch(chain, dt.datetime(2023, 6, 10, 9))
    first_village = chain.village
    with travel(dt.datetime(2023, 7, 2, 9)):
        advance_to(new_project(chain, first_village, starts_on=dt.date(2023, 6, 1), ends_on=dt.date(2023, 12, 31)),
                   "fundraising", chain)
    cell = milestones.board(batch(), chain.prefecture, dt.date(2023, 8, 1))[0].cells[2]
    assert (cell.status, cell.done_on, cell.days_late, cell.share) == ("done", dt.date(2023, 7, 2), 2, "1/2")
    with pytest.raises(XfjyError, match="自动统计"):
        milestones.record(batch(), chain.prefecture, 3, done_on=None, actor=chain.users[Role.PREFECTURE])


def test_a_village_of_another_phase_does_not_count(db):
    chain = Chain("150121")
    launch(chain, dt.datetime(2023, 6, 10, 9))
    assert milestones.board(batch("rollout"), chain.prefecture, dt.date(2024, 3, 1))[0].cells[2].villages == 0


# -- the region's review ---------------------------------------------------------------------------------

def test_the_unit_submits_and_the_region_returns_with_an_opinion_then_agrees(hohhot, tmp_path):
    own, region = hohhot["own"], hohhot["region"]
    with travel(dt.datetime(2023, 4, 25, 9)):
        m = milestones.record(batch(), hohhot["unit"], 1, done_on=None, actor=own)
        with pytest.raises(XfjyError, match="完成日期"):
            milestones.advance(m, "submit", own)
        milestones.record(batch(), hohhot["unit"], 1, done_on=dt.date(2023, 4, 24), actor=own)
        with pytest.raises(XfjyError, match="上传实施方案"):
            milestones.advance(m, "submit", own)
        milestones.add_document(tmp_path, m, docx(), "实施方案.docx", actor=own)
        with pytest.raises(JurisdictionError):
            milestones.advance(m, "submit", hohhot["other"])
        milestones.advance(m, "submit", own, expected_state="draft")
        with pytest.raises(XfjyError, match="已办理"):
            milestones.advance(m, "submit", own, expected_state="draft")
        with pytest.raises(XfjyError, match="不能再修改"):
            milestones.record(batch(), hohhot["unit"], 1, done_on=dt.date(2023, 4, 23), actor=own)
        with pytest.raises(XfjyError, match="只能由"):
            milestones.advance(m, "approve", own)
        with pytest.raises(XfjyError, match="必须填写意见"):
            milestones.advance(m, "reject", region, "  ")
        milestones.advance(m, "reject", region, "请补充各旗县试点村社名单")
        assert Milestone.get_by_id(m.id).state == "returned"
        milestones.add_document(tmp_path, m, xlsx(), "试点村社名单.xlsx", actor=own)
        milestones.advance(m, "submit", own)
    with travel(dt.datetime(2023, 4, 28, 15)):
        milestones.advance(m, "approve", region, "同意")
    assert Milestone.get_by_id(m.id).recorded_at == dt.datetime(2023, 4, 25, 9)  # the unit's time, not the region's
    steps = list(MilestoneReview.select().where(MilestoneReview.milestone == m).order_by(MilestoneReview.id))
    assert [(s.action, s.to_state, s.opinion) for s in steps] == [
        ("submit", "submitted", ""), ("reject", "returned", "请补充各旗县试点村社名单"),
        ("submit", "submitted", ""), ("approve", "approved", "同意")]
    assert steps[1].user_id == region.id and steps[1].unit == region.unit
    assert [a.mime.rsplit(".", 1)[-1] for a in milestones.documents(m)] == ["document", "sheet"]
    with pytest.raises(XfjyError, match="不能再修改"):
        milestones.add_document(tmp_path, m, PDF, "补充.pdf", actor=own)


def test_training_records_with_photos(hohhot, tmp_path):
    own = hohhot["own"]
    with travel(dt.datetime(2023, 5, 20, 9)):
        m = milestones.record(batch(), hohhot["unit"], 2, done_on=dt.date(2023, 5, 18), actor=own)
        with pytest.raises(XfjyError, match="至少一次培训"):
            milestones.advance(m, "submit", own)
        with pytest.raises(XfjyError, match="参训人数"):
            milestones.add_training(tmp_path, m, held_on=dt.date(2023, 5, 18), place="市慈善总会", trainers="张老师",
                                    participants=0, actor=own)
        with pytest.raises(XfjyError, match="不是照片"):
            milestones.add_training(tmp_path, m, held_on=dt.date(2023, 5, 18), place="市慈善总会", trainers="张老师",
                                    participants=40, photos=[("签到表.pdf", PDF)], actor=own)
        assert not Training.select().exists()
        training = milestones.add_training(tmp_path, m, held_on=dt.date(2023, 5, 18), place="市慈善总会",
                                           trainers="张老师、李老师", participants=42, photos=[("现场.png", png())],
                                           actor=own)
        milestones.advance(m, "submit", own)
    assert [a.mime for a in Attachment.select().where(Attachment.training == training)] == ["image/png"]
    with pytest.raises(XfjyError, match="属于「开展专项培训」"):
        plan = milestones.record(batch(), hohhot["unit"], 1, done_on=None, actor=own)
        milestones.add_training(tmp_path, plan, held_on=dt.date(2023, 5, 18), place="x", trainers="y", participants=1,
                                actor=own)


# -- documents: the same checks as receipts, and Word and Excel ------------------------------------------

@pytest.mark.parametrize(("data", "name", "message"), [
    (docx({"word/vbaProject.bin": b"macro"}), "实施方案.docx", "含有宏"),
    (docx(), "实施方案.xlsx", "扩展名与内容"),
    (b"PK\x03\x04not really a zip", "实施方案.docx", "已损坏"),
    (b"hello", "实施方案.docx", "不是 PDF、Word"),
    (PDF, "实施方案.docx", "扩展名与内容"),
])
def test_a_bad_document_is_refused_and_nothing_is_written(hohhot, tmp_path, data, name, message):
    m = milestones.record(batch(), hohhot["unit"], 1, done_on=None, actor=hohhot["own"])
    with pytest.raises(AttachmentError, match=message):
        milestones.add_document(tmp_path, m, data, name, actor=hohhot["own"])
    assert not Attachment.select().where(Attachment.milestone == m).exists()
    assert not any(tmp_path.rglob("*"))


def test_a_receipt_is_still_only_pdf_or_an_image():
    with pytest.raises(AttachmentError, match="不是 PDF、PNG 或 JPEG"):
        from db.attachments import sniff
        sniff(docx(), "收据.docx")


# -- jurisdiction ----------------------------------------------------------------------------------------

def test_a_unit_cannot_see_or_record_another_units_steps(hohhot, tmp_path):
    m = done_plan(hohhot, tmp_path)
    other, county = hohhot["other"], hohhot["county"]
    with pytest.raises(JurisdictionError):
        milestones.record(batch(), hohhot["unit"], 1, done_on=None, actor=other)
    with pytest.raises(JurisdictionError):
        milestones.record(batch(), hohhot["unit"], 2, done_on=None, actor=county)
    with pytest.raises(JurisdictionError):
        milestones.add_document(tmp_path, m, PDF, "x.pdf", actor=other)
    for model in (Milestone, MilestoneReview, Attachment):
        assert not scoped(model.select(), other).exists(), model
        assert not scoped(model.select(), county).exists(), model
        assert scoped(model.select(), hohhot["own"]).exists(), model
        assert scoped(model.select(), hohhot["region"]).exists(), model
    with pytest.raises(JurisdictionError):
        get_scoped(Milestone, other, m.id)
    assert [row.unit.code for row in milestones.board(batch(), other.area)] == ["150200"]
    assert len(milestones.board(batch(), hohhot["region"].area)) == 14
    with pytest.raises(XfjyError, match="只能由自治区办理"):
        milestones.advance(m, "approve", other)
    assert not milestones.may_review(other, hohhot["unit"])


def test_read_only_users_record_nothing(hohhot):
    auditor = user(Role.AUDITOR, hohhot["unit"])
    with pytest.raises(JurisdictionError):
        milestones.record(batch(), hohhot["unit"], 1, done_on=None, actor=auditor)


# -- the to-do list ------------------------------------------------------------------------------------

def test_the_unit_is_told_what_is_due_within_30_days_and_the_region_what_waits(hohhot, tmp_path):
    with travel(dt.datetime(2023, 4, 5, 9)):
        due = milestones.due_for(hohhot["own"])
    assert [(d.unit.code, d.cell.step, d.cell.status) for d in due] == [("150100", 1, "not_started")]
    with travel(dt.datetime(2023, 3, 30, 9)):
        assert milestones.due_for(hohhot["own"]) == []  # 2023-04-30 is 31 days away
    done_plan(hohhot, tmp_path)
    with travel(dt.datetime(2023, 4, 21, 9)):
        assert milestones.due_for(hohhot["own"]) == []  # with the region now
        waiting = milestones.due_for(hohhot["region"])
    assert [(d.unit.code, d.waiting_review) for d in waiting] == [("150100", True)]
    with travel(dt.datetime(2023, 5, 2, 9)):
        overdue = milestones.due_for(hohhot["region"])
    assert sum(1 for d in overdue if d.cell.status == "overdue" and d.cell.step == 1) == 13
    waiting = [d for d in overdue if d.unit.code == "150100" and d.cell.step == 1]
    assert [(d.cell.status, d.waiting_review) for d in waiting] == [("in_progress", True)]  # the review is late
    assert milestones.due_for(hohhot["county"]) == []
