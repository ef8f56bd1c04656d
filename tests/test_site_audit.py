"""site_builder/audit.py (``xfjy audit-site``): a published demo site passes, and each kind of planted
falsehood (a figure, a settlement sentence, a disclosure window, summary.json, a row taken out of the open
data) is found and named on its page. A publish whose audit fails keeps the previous site live."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from db import demo, disclosures, donations, published, settlement, workflow
from db.clock import travel
from db.database import database
from db.models import Donation, Role
from site_builder import publish
from site_builder.audit import audit_programme, audit_site
from site_builder.build import build

from .factories import Chain, advance_to, new_project


def _edge_case() -> str:
    """A village whose project had a late disclosure, a leftover at closing and a gift after it."""
    chain = Chain()
    with travel(dt.datetime(2024, 2, 20, 9)):
        project = advance_to(new_project(chain, target=500_000, starts_on=dt.date(2024, 3, 1),
                                         ends_on=dt.date(2024, 8, 31)), "implementing", chain)
    disclosures.publish(project, "募捐情况全面公开", "明细见本页。", published_on=dt.date(2024, 7, 10))
    with travel(dt.datetime(2024, 12, 1, 9)):
        workflow.advance_project(project, "request_acceptance", chain.users[Role.VILLAGE])
        workflow.advance_project(project, "approve", chain.users[Role.COUNTY], "验收合格", settle=settlement.settle_remaining)
    late = Donation.create(project=project, txn_no="AUDIT-LATE-1", amount=8_800, timing="to_fund",
                           donated_at=dt.datetime(2024, 12, 20, 10, 30))
    donations.receive_donation(late)
    return chain.village.area.code


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request, tmp_path_factory):
    backend = request.getfixturevalue(f"{request.param}_backend")
    database.initialize(backend)
    database.connect(reuse_if_open=True)
    root = tmp_path_factory.mktemp(f"audit-{request.param}")
    with database.atomic() as txn:
        demo.generate(60, 3000, seed=11, attachments_root=root / "attachments")
        code = _edge_case()
        build(root / "site", base_url="https://xfjy.example.org/", attachments=root / "attachments")
        yield {"root": root / "site", "code": code}
        txn.rollback()


def test_the_published_demo_passes_and_covers_the_edges(site):
    root = site["root"]
    assert audit_site(root) == []
    pages_text = "".join(p.read_text(encoding="utf-8") for p in (root / "village").glob("*/index.html"))
    for shown in ('data-status="late"', 'data-status="overdue"', "项目结项后到账，转入村社互助基金",
                  "募捐结束后到账，计入本项目", "监管会同意", "项目已结项，项目账户已无结余", "结项：村社项目账户结余"):
        assert shown in pages_text, shown
    edge = (root / "village" / site["code"] / "index.html").read_text(encoding="utf-8")
    assert re.search(r"2024-07-10 公示，逾期 \d+ 天", edge)
    assert "项目结项后到账，转入村社互助基金" in edge


def _copy(site: dict, tmp_path: Path) -> tuple[Path, str]:
    """The edge village's page and data in a site of their own, to plant a falsehood in."""
    code, root, copy = site["code"], site["root"], tmp_path / "site"
    for part in (f"village/{code}", f"data/village/{code}"):
        shutil.copytree(root / part, copy / part)
    return copy, code


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _page(copy, code):
    return copy / "village" / code / "index.html"


def _data(copy, code, name):
    return copy / "data" / "village" / code / name


def plant_figure(copy, code):
    text = _page(copy, code).read_text(encoding="utf-8")
    spent = re.search(r'data-figure="spent">([^<]*)<', text).group(1)
    _edit(_page(copy, code), f'data-figure="spent">{spent}<', 'data-figure="spent">1.00 元<')
    return "spent"


def plant_sentence(copy, code):
    text = _page(copy, code).read_text(encoding="utf-8")
    sentence = re.search(r'<p class="xfjy-settlement"[^>]*>(.*?)</p>', text, re.S).group(1)
    _edit(_page(copy, code), sentence, "没有未使用的善款需要结转。")
    return "结转说明"


def plant_missing_window(copy, code):
    _edit(_page(copy, code), 'data-status="late"', 'data-status="overdue"')
    return "公示日历"


def plant_hidden_disclosure(copy, code):
    text = _page(copy, code).read_text(encoding="utf-8")
    article = re.search(r'<article class="xfjy-disclosure".*?</article>', text, re.S).group(0)
    _edit(_page(copy, code), article, "")
    return "公示日历"


def plant_summary(copy, code):
    path = _data(copy, code, "summary.json")
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary["projects"][0]["unused_yuan"] = "19000.00"
    path.write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    return "unused_yuan"


def plant_dropped_ledger_row(copy, code):
    path = _data(copy, code, "ledger.csv")
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    kept = [line for line in lines if "转入互助基金" not in line or "结项：" not in line]
    assert len(kept) < len(lines)
    path.write_text("\ufeff" + "".join(kept), encoding="utf-8")
    return "to_fund"


def plant_dropped_gift(copy, code):
    path = _data(copy, code, "donations.csv")
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    path.write_text("\ufeff" + "".join(lines[:-1]), encoding="utf-8")
    return "捐赠明细之和"


def plant_fund_balance(copy, code):
    text = _page(copy, code).read_text(encoding="utf-8")
    shown = re.search(r'data-figure="fund_balance">([^<]*)<', text).group(1)
    _edit(_page(copy, code), f'data-figure="fund_balance">{shown}<', 'data-figure="fund_balance">0.00 元<')
    return "互助基金余额"


@pytest.mark.parametrize("plant", [plant_figure, plant_sentence, plant_missing_window, plant_hidden_disclosure,
                                   plant_summary, plant_dropped_ledger_row, plant_dropped_gift, plant_fund_balance],
                         ids=lambda f: f.__name__)
def test_each_planted_falsehood_is_found_on_its_page(site, tmp_path, plant):
    copy, code = _copy(site, tmp_path)
    assert audit_site(copy) == []
    words = plant(copy, code)
    found = audit_site(copy)
    assert found, f"{plant.__name__} was not found"
    assert all(m.page.startswith(f"village/{code}/") for m in found)  # its page, or one of its 年度报告 pages
    assert any(words in m.what for m in found), [str(m) for m in found]


def _programme_copy(site: dict, tmp_path: Path) -> Path:
    """关于工程, ``data/programme.csv`` and ``files/`` in a site of their own."""
    root, copy = site["root"], tmp_path / "site"
    shutil.copytree(root / "about", copy / "about")
    shutil.copytree(root / "files", copy / "files")
    (copy / "data").mkdir()
    shutil.copyfile(root / "data" / "programme.csv", copy / "data" / "programme.csv")
    return copy


@pytest.mark.parametrize(("old", "new", "what"), [
    ('data-status="done"', 'data-status="overdue"', "实施步骤"),
    ("，晚 12 天", "", "实施步骤"),
    ('<small class="xfjy-launched">已发起 ', '<small class="xfjy-launched">已发起 1', "实施步骤"),
])
def test_the_about_pages_steps_are_checked_against_programme_csv(site, tmp_path, old, new, what):
    copy = _programme_copy(site, tmp_path)
    assert audit_programme(copy) == []
    about = copy / "about" / "index.html"
    assert "data-cell=" in about.read_text(encoding="utf-8")
    _edit(about, old, new)
    found = audit_programme(copy)
    assert found and all(m.what == what and m.page.startswith("about/") for m in found), [str(m) for m in found]


def test_a_public_document_missing_from_files_is_found(site, tmp_path):
    copy = _programme_copy(site, tmp_path)
    linked = re.findall(r'href="\.\./(files/[^"]+)"', (copy / "about" / "index.html").read_text(encoding="utf-8"))
    assert linked
    (copy / linked[0]).unlink()
    assert [m.what for m in audit_programme(copy)] == ["公开材料"]


def test_the_command_prints_each_mismatch_and_exits_1(site, tmp_path):
    from click.testing import CliRunner

    from admin.cli import cli

    copy, code = _copy(site, tmp_path)
    assert CliRunner().invoke(cli, ["audit-site", str(copy)]).exit_code == 0
    plant_sentence(copy, code)
    result = CliRunner().invoke(cli, ["audit-site", str(copy)])
    assert result.exit_code == 1
    assert f"village/{code}/：项目" in result.output and "没有未使用的善款需要结转。" in result.output


def test_a_publish_whose_audit_fails_keeps_the_previous_site(site, tmp_path, monkeypatch):
    attachments = site["root"].parent / "attachments"
    live = tmp_path / "site"
    publish.publish(live, attachments=attachments)
    before = live.resolve()
    monkeypatch.setattr(published, "settlement_sentence", lambda state, totals: "没有未使用的善款需要结转。")
    with pytest.raises(Exception, match="公开数据核对发现"):
        publish.publish(live, attachments=attachments, full=True)
    assert live.resolve() == before
    page = (live / "village" / site["code"] / "index.html").read_text(encoding="utf-8")
    assert "没有未使用的善款需要结转" not in page and "项目已结项" in page

