"""Forms staff reported broken or in English (issue 11): a new 村社 registered from the grid, a
volunteer's service hours, a 配捐 rule of the wrong unit. Every message is Chinese and says what to fix."""
from __future__ import annotations

import html
import re

from db import settlement
from db.areas import get_area
from db.models import Area, MatchingRule, Role, ServiceRecord, Village, Volunteer

from .admin_support import login
from .factories import Chain


def post(app, user, url, data):
    client = app.test_client()
    token = login(client, user)
    response = client.post(url, data={**data, "csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def flashed(page: str) -> list[str]:
    return [html.unescape(x).strip() for x in re.findall(
        r'class="alert alert-\w+ alert-dismissable">\s*<button[^>]*>[^<]*</button>(.*?)</div>', page, re.S)]


def field_errors(page: str) -> list[str]:
    return [html.unescape(x).strip() for x in re.findall(r'<ul class="form-text text-danger ">\s*<li>(.*?)</li>', page, re.S)]


def village_form(chain, **overrides):
    form = dict(township=chain.township.code, code=chain.township.code + "201", name="新光村", full_name="",
                kind="村", batch="rollout", address="新光村委会", leader_name="赵志刚", leader_phone="13912345678")
    form.update(overrides)
    return form


def test_a_township_registers_a_new_village_with_its_own_code(app, db):
    chain = Chain()
    page = post(app, chain.users[Role.TOWNSHIP], "/admin/village/new/", village_form(chain))
    assert not [m for m in flashed(page) if "失败" in m], flashed(page)
    village = Village.get(Village.full_name == f"{chain.township.name}新光村")
    assert (village.area.code, village.area.parent_id, village.area.level, village.admission_state) == (
        chain.township.code + "201", chain.township.id, 5, "draft")
    assert village.area.county_id == chain.county.id


def test_a_bad_village_code_is_refused_with_what_to_fix_and_writes_nothing(app, db):
    chain = Chain()
    elsewhere = Chain(county_code="150102")
    before = (Area.select().count(), Village.select().count())
    cases = [
        (village_form(chain, code="15012110020"), "12 位数字"),
        (village_form(chain, code="150121999201"), f"前 9 位应为所属乡镇/街道的代码 {chain.township.code}"),
        (village_form(chain, code=chain.village.area.code), "已被"),
        (village_form(chain, township="150121"), "找不到乡镇/街道代码 150121"),
        (village_form(elsewhere, code=elsewhere.township.code + "201"), "不在您的管辖范围内"),
    ]
    for form, words in cases:
        messages = flashed(post(app, chain.users[Role.TOWNSHIP], "/admin/village/new/", form))
        assert any(m.startswith("新建失败：") and words in m for m in messages), (words, messages)
    assert (Area.select().count(), Village.select().count()) == before


def test_a_volunteer_is_saved_with_service_hours_and_chinese_labels(app, db):
    chain = Chain()
    user = chain.users[Role.VILLAGE]
    client = app.test_client()
    token = login(client, user)
    page = client.get("/admin/volunteer/new/").get_data(as_text=True)
    assert ">Save<" not in page and "服务记录" in page and "姓名" in page
    response = client.post("/admin/volunteer/new/", data={
        "csrf_token": token, "village": str(chain.village.id), "name": "王芳", "phone": "13700000000", "skills": "护理",
        "joined_on": "2024-03-01", "services-0-served_on": "2024-03-05", "services-0-minutes": "90",
        "services-0-activity": "探望独居老人"}, follow_redirects=True)
    assert not [m for m in flashed(response.get_data(as_text=True)) if "失败" in m]
    record = ServiceRecord.get()
    assert (record.volunteer.name, record.minutes, record.activity) == ("王芳", 90, "探望独居老人")
    response = client.post("/admin/volunteer/new/", data={
        "csrf_token": token, "village": str(chain.village.id), "name": "李强", "services-0-served_on": "2024-03-05",
        "services-0-minutes": "2000", "services-0-activity": "巡逻"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "新建失败：请按各栏下方的提示修改后重新提交。" in flashed(page)
    assert "服务时长应在 1 分钟到 24 小时之间" in field_errors(page)
    assert Volunteer.select().count() == 1 and "Failed" not in page


def test_a_matching_rule_of_the_wrong_unit_says_which_to_choose(app, db):
    chain = Chain()
    county = chain.users[Role.COUNTY]
    form = dict(kind="matching", name="土左旗配捐", ratio_bp="1000", cap="5,000.00", active="y")
    page = post(app, county, "/admin/matching_rule/new/", {**form, "area": str(get_area("150102").id)})
    assert "所选记录不存在或不在您的管辖范围内，请重新选择" in field_errors(page) and "Failed" not in page
    page = post(app, county, "/admin/matching_rule/new/", {**form, "area": str(chain.township.id)})
    assert any("不是慈善总会所在的自治区、盟市或旗县市区" in m for m in flashed(page)), flashed(page)
    page = post(app, county, "/admin/matching_rule/new/", {**form, "area": str(chain.county.id), "ratio_bp": "0"})
    assert any("比例应在 1 到 10000 之间" in m for m in flashed(page)), flashed(page)
    assert MatchingRule.select().count() == 0
    post(app, county, "/admin/matching_rule/new/", {**form, "area": str(chain.county.id)})
    assert MatchingRule.get().cap == 500_000


def test_fund_payments_are_listed_and_exported_only_within_the_area(app, db):
    import datetime as dt

    from db import funds, workflow
    from db.clock import travel

    from .factories import advance_to, donate, new_project

    chain, other = Chain(), Chain(county_code="150102")
    project = advance_to(new_project(chain, target=500_000), "fundraising", chain)
    donate(project, 90_000)
    workflow.advance_project(project, "expire", None, on=dt.datetime(2024, 9, 1, 9, 0))
    workflow.advance_project(project, "close", chain.users[Role.COUNTY], "结项", settle=settlement.settle_remaining)
    with travel(dt.datetime(2025, 1, 10, 9)):
        funds.spend(chain.village, spent_on=dt.date(2025, 1, 10), item="冬季取暖补助", payee="困难户某某",
                    amount=20_000, approved_by="李秀英、张海军", approved_on=dt.date(2025, 1, 8))
    for user, seen in ((chain.users[Role.COUNTY], True), (chain.users[Role.VILLAGE], True),
                       (other.users[Role.COUNTY], False), (other.users[Role.VILLAGE], False)):
        client = app.test_client()
        login(client, user)
        listing = client.get("/admin/fund_spending/").get_data(as_text=True)
        exported = client.get("/admin/fund_spending/export/csv/").get_data(as_text=True)
        assert ("冬季取暖补助" in listing) is seen and ("冬季取暖补助" in exported) is seen, user.username
        assert ("李秀英、张海军" in exported) is seen


def test_the_donation_page_is_set_after_approval_but_the_form_stays_locked(app, db):
    from db.models import Project

    from .factories import advance_to, new_project

    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    client = app.test_client()
    token = login(client, chain.users[Role.COUNTY])
    update = "/admin/project/ajax/update/"
    response = client.post(update, data={"list_form_pk": project.id, "donation_url": "http://x.cn/1", "csrf_token": token})
    assert response.status_code != 200 and "https" in response.get_data(as_text=True)
    response = client.post(update, data={"list_form_pk": project.id, "donation_url": "https://gongyi.example.cn/p/9",
                                         "csrf_token": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert Project.get_by_id(project.id).donation_url == "https://gongyi.example.cn/p/9"
    response = client.post(update, data={"list_form_pk": project.id, "urgent": "1", "csrf_token": token})
    assert response.status_code != 200 and "不能修改申报内容" in response.get_data(as_text=True)
