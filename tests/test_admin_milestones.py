"""工程进度 over HTTP: the board, one 盟市 recording its 实施方案 with a document and the region returning then
approving it, training records, the dashboard's table and to-do lines, and who may open what."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from db.areas import get_area
from db.clock import travel
from db.models import Attachment, Milestone, MilestoneReview, Role, Training

from .admin_support import Desk, errors, messages, successes
from .factories import Chain, user
from .test_milestones import docx, png

PLAN = "/admin/programme/pilot/150100/1"


@pytest.fixture
def desk(app, db):
    chain = Chain("150121")  # 呼和浩特市: its 盟市 user and the region's
    chain.users["baotou"] = user(Role.PREFECTURE, get_area("150200"))
    return Desk(app, chain)


def test_the_board_shows_every_unit_to_the_region_and_its_own_row_to_a_unit(desk):
    page = desk.get(Role.REGION, "/admin/programme/?batch=pilot")
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>', page)
    assert len(rows) == 14 and "满洲里市" in rows and "二连浩特市" in rows
    own = desk.get(Role.PREFECTURE, "/admin/programme/?batch=pilot")
    assert re.findall(r'<tr><th scope="row">([^<]+)</th>', own) == ["呼和浩特市"]
    assert 'id="due-form"' in page and 'id="due-form"' not in own


def test_a_county_user_cannot_open_the_board(desk):
    client, _ = desk.client(Role.COUNTY)
    assert client.get("/admin/programme/").status_code == 403
    assert client.get(PLAN).status_code == 403


def test_a_unit_uploads_its_plan_and_the_region_returns_then_approves_it(desk, app):
    plan = docx()
    with travel(dt.datetime(2023, 4, 25, 10)):
        page = desk.post(Role.PREFECTURE, f"{PLAN}/record", {
            "done_on": "2023-04-24", "summary": "已报送", "public": "1",
            "documents": [(io.BytesIO(plan), "呼和浩特市实施方案.docx")]}, content_type="multipart/form-data")
        assert successes(page) == ["已保存"], messages(page)
        milestone = Milestone.get()
        assert (milestone.done_on, milestone.public, milestone.state) == (dt.date(2023, 4, 24), True, "draft")
        assert milestone.recorded_by_id == desk.chain.users[Role.PREFECTURE].id
        assert desk.chain.users[Role.PREFECTURE].display_name in desk.get(Role.REGION, PLAN)  # 填报人
        page = desk.post(Role.PREFECTURE, f"{PLAN}/advance", {"action": "submit", "from_state": "draft"})
        assert successes(page) == ["已办理"] and "待自治区审核" in page
        again = desk.post(Role.PREFECTURE, f"{PLAN}/advance", {"action": "submit", "from_state": "draft"})
        assert errors(again) and MilestoneReview.select().count() == 1
        page = desk.post(Role.REGION, f"{PLAN}/advance", {"action": "reject", "from_state": "submitted", "opinion": ""})
        assert errors(page) == ["退回时必须填写意见"]
        page = desk.post(Role.REGION, f"{PLAN}/advance",
                         {"action": "reject", "from_state": "submitted", "opinion": "请补充试点村社名单"})
        assert "请补充试点村社名单" in page and Milestone.get().state == "returned"
        desk.post(Role.PREFECTURE, f"{PLAN}/advance", {"action": "submit", "from_state": "returned"})
        page = desk.post(Role.REGION, f"{PLAN}/advance", {"action": "approve", "from_state": "submitted", "opinion": "同意"})
        assert successes(page) == ["已办理"] and "自治区已同意" in page
    board = desk.get(Role.REGION, "/admin/programme/?batch=pilot")
    assert re.search(r'<td data-status="done"><a href="/admin/programme/pilot/150100/1">', board)
    document = Attachment.get(Attachment.milestone == milestone.id)
    client, _ = desk.client(Role.REGION)
    with client.get(f"/admin/workflow/attachment/{document.id}") as response:
        assert response.data == plan
    other, _ = desk.client("baotou")
    assert other.get(f"/admin/workflow/attachment/{document.id}").status_code == 404
    assert other.get(PLAN).status_code == 404


def test_a_bad_document_writes_nothing(desk, app):
    page = desk.post(Role.PREFECTURE, f"{PLAN}/record", {
        "done_on": "2023-04-24", "documents": [(io.BytesIO(b"MZ\x90\x00"), "方案.docx")]},
        content_type="multipart/form-data")
    assert errors(page) and not Milestone.select().exists() and not Attachment.select().exists()


def test_another_unit_cannot_record_for_this_one(desk):
    page = desk.post("baotou", "/admin/programme/pilot/150200/1/record", {"done_on": "2023-04-24"})
    assert successes(page) == ["已保存"]
    client, token = desk.client("baotou")
    assert client.post(f"{PLAN}/record", data={"done_on": "2023-04-24", "csrf_token": token}).status_code == 404
    assert Milestone.select().where(Milestone.area == get_area("150100")).count() == 0


def test_a_training_with_a_photo(desk):
    url = "/admin/programme/pilot/150100/2"
    desk.post(Role.PREFECTURE, f"{url}/record", {"done_on": "2023-05-18"})
    page = desk.post(Role.PREFECTURE, f"{url}/training", {
        "held_on": "2023-05-18", "participants": "四十", "place": "市慈善总会", "trainers": "张老师"})
    assert errors(page) == ["参训人数应为正整数"]
    page = desk.post(Role.PREFECTURE, f"{url}/training", {
        "held_on": "2023-05-18", "participants": "42", "place": "市慈善总会", "trainers": "张老师",
        "photos": [(io.BytesIO(png()), "现场.png")]}, content_type="multipart/form-data")
    assert successes(page) == ["培训记录已登记"], messages(page)
    training = Training.get()
    assert (training.participants, training.attachments.count()) == (42, 1)
    assert "现场.png" in desk.get(Role.REGION, url)


def test_the_region_moves_a_due_date(desk):
    page = desk.post(Role.REGION, "/admin/programme/due", {"batch": "pilot", "step": "2", "due_on": "2023-06-15"})
    assert successes(page) == ["完成时间已更新"] and "截止 2023-06-15" in page
    client, token = desk.client(Role.PREFECTURE)
    client.post("/admin/programme/due", data={"batch": "pilot", "step": "2", "due_on": "2023-07-15", "csrf_token": token})
    assert "截止 2023-06-15" in desk.get(Role.REGION, "/admin/programme/?batch=pilot")


def test_the_dashboard_has_the_table_and_the_to_do_lines(desk):
    with travel(dt.datetime(2025, 3, 10, 9)):  # 全面实施: 实施方案 due 2025-03-31
        own = desk.get(Role.PREFECTURE, "/admin/")
        region = desk.get(Role.REGION, "/admin/")
    assert 'id="milestones"' in own and "全面实施阶段实施步骤" in own
    # the four steps of each earlier phase are overdue, and 全面实施's 实施方案 is due in 21 days
    assert re.search(r"实施步骤：30 天内到期或已逾期</a>\s*<span[^>]*>(\d+)</span>", own).group(1) == "9"
    assert re.search(r"实施步骤：各盟市已逾期</a>\s*<span[^>]*>(\d+)</span>", region).group(1) != "0"
    county = desk.get(Role.COUNTY, "/admin/")
    assert 'id="milestones"' not in county and "实施步骤" not in county
