"""抽查验收 over HTTP (admin/views/sampling.py): drawing through the form, once per form; the checklist ticked off
by an evaluation or a reason; the XLSX; and who sees which draw (``db.jurisdiction`` for SampleDraw and SampleItem)."""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

import openpyxl
import pytest

from db import sampling, submissions
from db.errors import JurisdictionError
from db.evaluations import record_evaluation
from db.jurisdiction import area_of, get_scoped, scoped
from db.models import AuditLog, Evaluation, Role, SampleDraw, SampleItem
from db.totals import totals_by_project

from .admin_support import Desk, errors, successes
from .factories import Chain, user
from .test_sampling import accepted

INDEX = "/admin/sampling/"
PROJECT_LINK = re.compile(r'href="/admin/workflow/project/(\d+)"')
ITEM_FORM = re.compile(r'action="/admin/sampling/item/\d+/')


@dataclass
class Field:
    tumote: Chain     # 土默特左旗 (呼和浩特市): two projects in 验收
    togtoh: Chain     # 托克托县 (呼和浩特市): one
    manzhouli: Chain  # 满洲里市: a 盟市-level unit of its own, one

    @property
    def hohhot(self):
        return self.tumote.prefecture

    def user(self, role, chain: Chain | None = None):
        return (chain or self.tumote).users[role]


@pytest.fixture
def field(db) -> Field:
    tumote, togtoh, manzhouli = Chain("150121"), Chain("150122"), Chain("150781")
    for chain in (tumote, tumote, togtoh, manzhouli):
        accepted(chain)
    return Field(tumote, togtoh, manzhouli)


@pytest.fixture
def desk(app, field) -> Desk:
    return Desk(app, field.tumote)


@pytest.fixture
def hohhot_draw(field) -> SampleDraw:
    """呼和浩特市's three projects, all drawn by its own federation."""
    return sampling.draw(field.hohhot, share_bp=10_000, seed="hohhot", actor=field.user(Role.PREFECTURE))


def draw_url(sample) -> str:
    return f"{INDEX}{sample.id}"


def item_url(item, what: str) -> str:
    return f"{INDEX}item/{item.id}/{what}"


def checklist_projects(page: str) -> list[int]:
    table = page.split('id="checklist"', 1)[1].split("</table>", 1)[0]
    return [int(pid) for pid in PROJECT_LINK.findall(table)]


def evaluation_form(**overrides) -> dict:
    form = dict(evaluated_on="2024-12-01", result="good", score="86", unit="土默特左旗慈善总会", evaluator="乌兰",
                notes="路灯 60 盏全部亮灯")
    return {**form, **overrides}


def nothing_drawn() -> bool:
    return not SampleDraw.select().exists() and not SampleItem.select().exists() and not AuditLog.select().where(
        AuditLog.table == "sample_draw").exists()


# -- drawing ----------------------------------------------------------------------------------------------

def test_a_region_user_draws_through_the_form_and_sees_the_checklist(desk, field):
    index = desk.get(Role.REGION, INDEX)
    assert 'id="draw-form"' in index and '<option value="150000">' in index and '<option value="150100">' in index
    page = desk.post(Role.REGION, f"{INDEX}draw", {"area": "150100", "share": "50", "seed": "  秋季抽查-1 ",
                                                   "note": "2024 年秋季", "once": submissions.new_token()})
    sample = SampleDraw.get()
    assert (sample.area_id, sample.share_bp, sample.count, sample.seed, sample.weighted) == (
        field.hohhot.id, 5000, None, "秋季抽查-1", False)
    assert successes(page) == [f"已从 3 个项目中抽取 {len(sampling.checklist(sample))} 个，清单如下"]
    assert checklist_projects(page) == [item.project_id for item in sampling.checklist(sample)]
    assert len(checklist_projects(page)) == 2  # one of each 旗县市区
    assert sample.seed in page and sample.population_hash in page and "按记录的种子和总体重新抽取，结果一致" in page
    assert "比例 50%" in page and "2024 年秋季" in page
    listing = desk.get(Role.REGION, INDEX)
    assert f'href="{draw_url(sample)}"' in listing and "呼和浩特市" in listing


def test_a_count_weighted_and_without_a_seed_draws_with_a_new_seed(desk, field):
    desk.post(Role.REGION, f"{INDEX}draw", {"area": "150000", "count": "2", "weighted": "1", "seed": ""})
    sample = SampleDraw.get()
    assert (sample.count, sample.share_bp, sample.weighted) == (2, None, True)
    assert re.fullmatch(r"[0-9a-f]{16}", sample.seed)
    assert sampling.replay(sample) == [item.project_id for item in sampling.checklist(sample)]
    assert "数量 2，按筹款额加权" in desk.get(Role.REGION, INDEX)


def test_the_same_form_posted_twice_draws_once(desk, field):
    form = {"area": "150100", "share": "100", "seed": "twice", "once": submissions.new_token()}
    desk.post(Role.REGION, f"{INDEX}draw", form)
    again = desk.post(Role.REGION, f"{INDEX}draw", form)
    assert errors(again) == [submissions.ALREADY_POSTED]
    assert SampleDraw.select().count() == 1 and SampleItem.select().count() == 3


@pytest.mark.parametrize("size, message", [
    ({"share": "abc"}, "应为百分数"), ({"share": "0"}, "0.01% 到 100%"), ({"share": "150"}, "0.01% 到 100%"),
    ({"share": "12.345"}, "最多两位小数"), ({"share": "-5"}, "应为百分数"), ({"share": "1e2"}, "应为百分数"),
    ({"count": "0"}, "至少为 1"), ({"count": "三"}, "应为整数"), ({"share": "10", "count": "2"}, "二者选一"), ({}, "二者选一"),
])
def test_a_bad_size_flashes_an_error_and_writes_nothing(desk, field, size, message):
    page = desk.post(Role.REGION, f"{INDEX}draw", {"area": "150000", "seed": "x", "once": submissions.new_token(),
                                                   **size})
    assert len(errors(page)) == 1 and message in errors(page)[0], errors(page)
    assert nothing_drawn()


def test_a_share_with_decimals_is_kept_in_basis_points(desk, field):
    desk.post(Role.REGION, f"{INDEX}draw", {"area": "150000", "share": "12.5%", "seed": "bp"})
    assert SampleDraw.get().share_bp == 1250


def test_a_prefecture_draws_for_its_own_area_only(app, desk, field):
    hohhot = field.user(Role.PREFECTURE)
    index = desk.get(hohhot, INDEX)
    assert re.findall(r'<option value="(\d+)">', index.split('id="draw-area"', 1)[1].split("</select>")[0]) == ["150100"]
    for area, message in (("150000", "不在您的管辖范围内"), ("150781", "不在您的管辖范围内"),
                          ("150121", "由自治区或盟市慈善总会组织")):
        page = desk.post(hohhot, f"{INDEX}draw", {"area": area, "share": "100"})
        assert len(errors(page)) == 1 and message in errors(page)[0], (area, errors(page))
    assert nothing_drawn()


@pytest.mark.parametrize("role", [Role.COUNTY, Role.AUDITOR, Role.ADMIN])
def test_who_cannot_draw_gets_no_form_and_a_post_is_refused(desk, field, role):
    assert 'id="draw-form"' not in desk.get(role, INDEX)
    page = desk.post(role, f"{INDEX}draw", {"area": field.tumote.county.code, "share": "100"})
    assert len(errors(page)) == 1 and nothing_drawn()


# -- ticking the checklist off ------------------------------------------------------------------------------

def tumote_item(sample) -> SampleItem:
    return next(item for item in sampling.checklist(sample) if item.stratum.code == "150121")


def test_a_county_records_the_evaluation_of_its_sampled_project_from_the_index(desk, field, hohhot_draw):
    county = field.user(Role.COUNTY)
    item = tumote_item(hohhot_draw)
    index = desk.get(county, INDEX)
    assert f'action="{item_url(item, "evaluation")}"' in index
    assert "/reason\"" not in index  # the reason why not is the drawing federation's
    togtoh_item = next(i for i in sampling.checklist(hohhot_draw) if i.stratum.code == "150122")
    assert f"item/{togtoh_item.id}/" not in index  # another county's
    form = evaluation_form(once=submissions.new_token())
    page = desk.post(county, item_url(item, "evaluation"), form)
    assert successes(page) == [f"「{item.project.name}」的验收评估已登记，抽查清单已勾销"]
    evaluation = Evaluation.get(Evaluation.project == item.project_id)
    assert (evaluation.result, evaluation.score, evaluation.evaluated_on, evaluation.unit, evaluation.evaluator,
            evaluation.notes) == ("good", 86, dt.date(2024, 12, 1), "土默特左旗慈善总会", "乌兰", "路灯 60 盏全部亮灯")
    done = SampleItem.get_by_id(item.id)
    assert done.evaluation_id == evaluation.id and done.resolved_by_id == county.id and done.resolved_at is not None
    assert f'action="{item_url(item, "evaluation")}"' not in page  # back on the index, no longer waiting
    # The same form again, and a new one: still one evaluation (the second is rolled back with the refusal).
    assert errors(desk.post(county, item_url(item, "evaluation"), form)) == [submissions.ALREADY_POSTED]
    again = desk.post(county, item_url(item, "evaluation"), evaluation_form())
    assert len(errors(again)) == 1 and "无需重复提交" in errors(again)[0]
    assert Evaluation.select().where(Evaluation.project == item.project_id).count() == 1
    assert sampling.coverage(hohhot_draw).evaluated == 1


def test_the_drawing_federation_evaluates_or_gives_a_reason_on_the_draw_page(desk, field, hohhot_draw):
    prefecture = field.user(Role.PREFECTURE)
    first, second, third = sampling.checklist(hohhot_draw)
    page = desk.get(prefecture, draw_url(hohhot_draw))
    for item in (first, second, third):
        assert f'action="{item_url(item, "evaluation")}"' in page and f'action="{item_url(item, "reason")}"' in page
    page = desk.post(prefecture, item_url(first, "evaluation"), evaluation_form(result="excellent", score=""))
    assert successes(page) and SampleItem.get_by_id(first.id).evaluation.result == "excellent"
    assert Evaluation.get(Evaluation.project == first.project_id).score is None
    page = desk.post(prefecture, item_url(second, "reason"), {"reason": "  村社遭受洪灾，道路中断 "})
    assert successes(page) == [f"已记录「{second.project.name}」未评估的原因"]
    skipped = SampleItem.get_by_id(second.id)
    assert skipped.skipped_reason == "村社遭受洪灾，道路中断" and skipped.evaluation_id is None
    assert not Evaluation.select().where(Evaluation.project == second.project_id).exists()
    assert f'action="{item_url(first, "evaluation")}"' not in page and f'action="{item_url(second, "reason")}"' not in page
    assert f'action="{item_url(third, "reason")}"' in page
    assert "村社遭受洪灾，道路中断" in page and "已评估：优秀" in page


@pytest.mark.parametrize("overrides, message", [
    ({"evaluated_on": "2024-13-01"}, "评估日期"), ({"score": "abc"}, "评分"), ({"score": "150"}, "0 到 100"),
    ({"result": "perfect"}, "评估结果应为"),
])
def test_a_bad_evaluation_writes_nothing(desk, field, hohhot_draw, overrides, message):
    item = tumote_item(hohhot_draw)
    page = desk.post(field.user(Role.COUNTY), item_url(item, "evaluation"), evaluation_form(**overrides))
    assert len(errors(page)) == 1 and message in errors(page)[0], errors(page)
    assert not Evaluation.select().where(Evaluation.project == item.project_id).exists()
    assert SampleItem.get_by_id(item.id).resolved_at is None


def test_a_county_cannot_give_a_reason_and_an_empty_reason_is_refused(desk, field, hohhot_draw):
    item = tumote_item(hohhot_draw)
    page = desk.post(field.user(Role.COUNTY), item_url(item, "reason"), {"reason": "不便前往"})
    assert errors(page) == ["未评估的原因由组织抽查的慈善总会填写"]
    page = desk.post(field.user(Role.PREFECTURE), item_url(item, "reason"), {"reason": "  "})
    assert len(errors(page)) == 1 and "二者选一" in errors(page)[0]
    assert SampleItem.get_by_id(item.id).resolved_at is None


def test_an_auditor_reads_the_draw_without_any_form(desk, field, hohhot_draw):
    auditor = field.user(Role.AUDITOR)  # 土默特左旗's: reaches its county's items, not the 盟市's draw
    index = desk.get(auditor, INDEX)
    assert tumote_item(hohhot_draw).project.name in index and "<form" not in index.split('id="pending"', 1)[1]
    client, _ = desk.client(auditor)
    assert client.get(draw_url(hohhot_draw)).status_code == 404
    region_auditor = user(Role.AUDITOR, field.tumote.region)
    page = desk.get(region_auditor, draw_url(hohhot_draw))
    assert len(checklist_projects(page)) == 3 and not ITEM_FORM.search(page)


# -- jurisdiction -------------------------------------------------------------------------------------------

def test_a_draw_is_seen_from_its_area_and_above_and_an_item_through_its_project(field, hohhot_draw):
    manzhouli_draw = sampling.draw(field.manzhouli.prefecture, count=1, seed="m", actor=field.user(Role.REGION))
    region_draw = sampling.draw(field.tumote.region, share_bp=10_000, seed="r", actor=field.user(Role.REGION))

    def draws(actor):
        return {d.id for d in scoped(SampleDraw.select(), actor)}

    assert draws(field.user(Role.REGION)) == draws(None) == {hohhot_draw.id, manzhouli_draw.id, region_draw.id}
    assert draws(field.user(Role.PREFECTURE)) == {hohhot_draw.id}
    assert draws(field.user(Role.PREFECTURE, field.manzhouli)) == {manzhouli_draw.id}
    assert draws(field.user(Role.COUNTY)) == set()
    county_items = {i.id for i in scoped(SampleItem.select(), field.user(Role.COUNTY))}
    assert county_items == {i.id for i in SampleItem.select() if i.stratum.code == "150121"} and len(county_items) == 4
    assert {i.id for i in scoped(SampleItem.select(), field.user(Role.PREFECTURE, field.manzhouli))} == {
        i.id for i in SampleItem.select() if i.stratum.code == "150781"}
    assert area_of(hohhot_draw) == field.hohhot
    assert area_of(tumote_item(hohhot_draw)) == tumote_item(hohhot_draw).project.village.area
    with pytest.raises(JurisdictionError, match="记录不存在或不在您的管辖范围内"):
        get_scoped(SampleDraw, field.user(Role.PREFECTURE, field.manzhouli), hohhot_draw.id)
    with pytest.raises(JurisdictionError, match="记录不存在或不在您的管辖范围内"):
        get_scoped(SampleItem, field.user(Role.COUNTY, field.togtoh), tumote_item(hohhot_draw).id)


def test_another_prefecture_gets_404_on_the_list_the_page_the_xlsx_and_the_forms(desk, field, hohhot_draw):
    other = field.user(Role.PREFECTURE, field.manzhouli)
    assert f'href="{draw_url(hohhot_draw)}"' not in desk.get(other, INDEX)
    assert f'href="{draw_url(hohhot_draw)}"' in desk.get(Role.PREFECTURE, INDEX)
    client, token = desk.client(other)
    item = tumote_item(hohhot_draw)
    assert client.get(draw_url(hohhot_draw)).status_code == 404
    assert client.get(f"{draw_url(hohhot_draw)}.xlsx").status_code == 404
    assert client.get(f"{INDEX}{hohhot_draw.id + 1000}").status_code == 404  # the same as a draw that does not exist
    for what, form in (("evaluation", evaluation_form()), ("reason", {"reason": "越权"})):
        assert client.post(item_url(item, what), data={**form, "csrf_token": token}).status_code == 404
    togtoh, togtoh_token = desk.client(field.user(Role.COUNTY, field.togtoh))
    assert togtoh.post(item_url(item, "evaluation"), data={**evaluation_form(), "csrf_token": togtoh_token}).status_code == 404
    assert not Evaluation.select().where(Evaluation.project == item.project_id).exists()
    assert SampleItem.get_by_id(item.id).resolved_at is None


@pytest.mark.parametrize("role", [Role.TOWNSHIP, Role.VILLAGE, Role.SUPERVISOR])
def test_the_screens_are_the_federations(desk, field, hohhot_draw, role):
    client, _ = desk.client(role)
    assert client.get(INDEX).status_code == 403


# -- the workbook --------------------------------------------------------------------------------------------

def test_the_xlsx_holds_the_draw_and_one_row_per_item(app, desk, field, hohhot_draw):
    first, second, third = sampling.checklist(hohhot_draw)
    county = field.user(Role.COUNTY)
    assert first.stratum == field.tumote.county  # strata in code order
    evaluation = record_evaluation(first.project, result="pass", evaluated_on=dt.date(2024, 11, 5), score=72,
                                   evaluator="=HYPERLINK(\"x\")", actor=county)
    sampling.resolve(first, evaluation=evaluation, actor=county)
    sampling.resolve(second, reason="项目已并入乡镇统一验收", actor=field.user(Role.PREFECTURE))
    client, _ = desk.client(Role.PREFECTURE)
    response = client.get(f"{draw_url(hohhot_draw)}.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["封面", "抽查清单"]
    cover = {row[0]: row[1] for row in book["封面"].iter_rows(values_only=True)}
    assert cover["随机种子"] == "hohhot" and hohhot_draw.population_hash in cover["总体哈希"]
    assert cover["抽查方式"].startswith("比例 100%") and cover["复核"] == "按记录的种子和总体重新抽取，结果一致"
    assert (cover["抽中"], cover["已评估"], cover["已说明原因"], cover["待办"]) == (3, 1, 1, 1)
    assert (cover["评估结果·合格"], cover["评估结果·优秀"]) == (1, 0)
    sheet = book["抽查清单"]
    header, *rows = sheet.iter_rows(values_only=True)
    items = list(sampling.checklist(hohhot_draw))
    column = {name: i for i, name in enumerate(header)}
    assert [row[column["项目编号"]] for row in rows] == [item.project.code for item in items]
    assert [row[column["旗县市区"]] for row in rows] == [item.stratum.name for item in items]
    raised = totals_by_project([item.project_id for item in items])
    assert [row[column["已筹善款"]] for row in rows] == [raised[item.project_id].raised / 100 for item in items]
    assert [row[column["抽查状态"]] for row in rows] == ["已评估", "未评估（已说明原因）", "待评估"]
    evaluated = rows[0]
    assert evaluated[column["评估日期"]] == dt.datetime(2024, 11, 5) and evaluated[column["评估结果"]] == "合格"
    assert evaluated[column["评分"]] == 72 and evaluated[column["评估人"]] == "'=HYPERLINK(\"x\")"  # never a formula
    assert rows[1][column["未评估原因"]] == "项目已并入乡镇统一验收" and rows[2][column["评估日期"]] is None
    assert isinstance(rows[0][column["处理时间"]], dt.datetime)
    money = sheet.cell(row=2, column=column["已筹善款"] + 1)
    assert money.number_format == "#,##0.00" and money.data_type == "n"
    assert sheet.cell(row=2, column=column["评估日期"] + 1).number_format == "yyyy-mm-dd"
    logged = AuditLog.get((AuditLog.action == "export") & (AuditLog.table == "sample_draw"))
    assert logged.object_id == str(hohhot_draw.id) and logged.user_id == field.user(Role.PREFECTURE).id


def test_the_page_says_when_the_population_changed_since(desk, field, hohhot_draw):
    accepted(field.togtoh)
    page = desk.get(Role.PREFECTURE, draw_url(hohhot_draw))
    assert "总体哈希不同" in page and "结果一致" not in page
