"""site_builder/pages.py and the village page template: what the page offers donors."""
from __future__ import annotations

import contextlib
import datetime as dt
import html as html_lib
import re

import pytest

from db import disbursement, donations, settlement, workflow
from db.errors import LedgerError
from db.models import Area, Donation, Role, Village
from db.money import format_fen, parse_fen
from db.published import whereabouts
from db.spending import record_expenditure
from db.totals import Totals
from site_builder.audit import audit_site
from site_builder.build import build
from site_builder.charts import MOST_VILLAGES, Bar, Share, money_chart, percent, raised_spent_chart, share_chart

from .factories import EXPIRED_ON, Chain, advance_to, donate, new_project, reload


def test_a_project_raising_money_links_to_its_donation_page(db, tmp_path):
    from db.errors import XfjyError
    from db.models import Project
    from db.villages import check_donation_url

    for bad in ("http://gongyi.example.cn/p/1", "javascript:alert(1)", "https://", "https://x/\"onmouseover=1",
                "gongyi.example.cn/p/1"):
        with pytest.raises(XfjyError, match="https"):
            check_donation_url(bad)
    assert check_donation_url("  https://gongyi.example.cn/p/1 ") == "https://gongyi.example.cn/p/1"
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    Project.update(donation_url="https://gongyi.example.cn/p/1").where(Project.id == project.id).execute()
    build(tmp_path / "site", attachments=tmp_path / "attachments")
    page = (tmp_path / "site" / "village" / chain.village.area.code / "index.html").read_text(encoding="utf-8")
    assert ('<a class="md-button md-button--primary xfjy-donate" href="https://gongyi.example.cn/p/1" '
            'rel="noopener external">去捐赠</a>') in page
    assert audit_site(tmp_path / "site") == []


# -- charts (issue 14 item 6) ---------------------------------------------------------------------------

def _figure(html: str, kind: str) -> str:
    found = re.findall(rf'<figure class="xfjy-figure xfjy-figure-{kind}" data-search-exclude>.*?</figure>', html, re.S)
    assert len(found) == 1, (kind, len(found))
    return found[0]


def _aria(figure: str) -> str:
    return html_lib.unescape(re.search(r'<svg [^>]*role="img" aria-label="([^"]*)"', figure).group(1))


def _texts(figure: str) -> list[str]:
    return [html_lib.unescape(t) for t in re.findall(r"<text [^>]*>([^<]*)</text>", figure)]


def _card(html: str, label: str) -> int:
    value = re.search(rf'xfjy-card-label">{label}</span><span class="xfjy-card-value"[^>]*>([^<]+)<', html).group(1)
    return parse_fen(value.removesuffix(" 元"))


def _table_rows(html: str, region: str) -> list[list[str]]:
    """The body rows of the table in the scrolling box labelled ``region``, as cell texts."""
    table = re.search(rf'aria-label="{region}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[html_lib.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def _to_the_village(project, chain):
    """募捐中 with the target met → 实施中: the steps ``advance_to`` takes after fundraising."""
    workflow.advance_project(project, "reach_target", None)
    workflow.advance_project(reload(project), "apply_use", chain.users[Role.VILLAGE])
    senders = [chain.users[Role.REGION], chain.users[Role.PREFECTURE], chain.users[Role.COUNTY]]
    while reload(project).state in ("use_applied", "disbursing"):
        for sender in senders:
            with contextlib.suppress(LedgerError):
                disbursement.disburse(reload(project), sender)
    return reload(project)


@pytest.fixture
def charted(db, tmp_path):
    """Four villages of one township: money spent and at the village, money on its way down, money moved to
    the 互助基金, and one not yet admitted (no fund, no page)."""
    chain = Chain()
    spending = advance_to(new_project(chain, target=100_000), "fundraising", chain)
    for amount, day in ((30_000, 5), (20_000, 40), (50_000, 40), (40_000, 80)):
        donate(spending, amount, when=dt.datetime(2024, 3, 1, 9) + dt.timedelta(days=day))
    refunded = Donation.select().where((Donation.project == spending.id) & (Donation.amount == 20_000)).get()
    donations.refund_donation(refunded, "捐赠人重复支付")
    spending = _to_the_village(spending, chain)
    record_expenditure(spending, spent_on=dt.date(2024, 7, 1), item="太阳能路灯", payee="光明照明公司", amount=45_000,
                       voucher_no="PZ-1", approved_by="李秀英", actor=chain.users[Role.VILLAGE])
    waiting = chain.add_village()
    advance_to(new_project(chain, waiting, target=60_000), "disbursing", chain)
    moved = chain.add_village()
    missed = advance_to(new_project(chain, moved, target=500_000), "fundraising", chain)
    donate(missed, 25_000)
    chain.add_village(established=False)
    workflow.advance_project(missed, "expire", None, on=EXPIRED_ON)
    workflow.advance_project(reload(missed), "close", chain.users[Role.COUNTY], "结项", settle=settlement.settle_remaining)
    build(tmp_path / "site", attachments=tmp_path / "attachments")
    return chain, tmp_path / "site", [chain.village, waiting, moved]


def test_where_the_money_is_adds_up_to_the_figures_of_the_village_page(charted):
    chain, site, villages = charted
    expected = {chain.village: ("已支出", "项目结余（在村）", "尚未拨付到村"),  # 200 above the target stays up
                villages[1]: ("尚未拨付到村",), villages[2]: ("转入互助基金",)}
    for village, nonzero in expected.items():
        page = (site / "village" / village.area.code / "index.html").read_text(encoding="utf-8")
        figure = _figure(page, "money")
        parts = {label: parse_fen(amount) for label, amount in
                 (re.match(r"(\S+) ([\d,]+\.\d\d) 元（", text).groups() for text in _texts(figure))}
        assert list(parts) == ["已支出", "项目结余（在村）", "尚未拨付到村", "转入互助基金"]
        whole = _card(page, "已筹善款") + _card(page, "配捐")
        assert sum(parts.values()) == whole > 0
        assert parts["已支出"] == _card(page, "已支出")
        assert parts["项目结余（在村）"] == _card(page, "项目结余")
        assert parts["转入互助基金"] == _card(page, "转入互助基金")
        assert [label for label, amount in parts.items() if amount] == list(nonzero)
        for text in _texts(figure):  # the text alternative says every figure drawn
            assert text in _aria(figure)
        widths = [float(w) for w in re.findall(r'<rect y="\d+" width="([\d.]+)"', figure)]
        assert widths == pytest.approx([360 * amount / whole for amount in parts.values() if amount], abs=0.1)
    first = (site / "village" / chain.village.area.code / "index.html").read_text(encoding="utf-8")
    assert _texts(_figure(first, "money")) == ["已支出 450.00 元（38%）", "项目结余（在村） 550.00 元（46%）",
                                              "尚未拨付到村 200.00 元（17%）", "转入互助基金 0.00 元（0%）"]  # of 1,200


def test_fundraising_progress_follows_the_gifts_to_what_was_raised(charted):
    chain, site, _ = charted
    page = (site / "village" / chain.village.area.code / "index.html").read_text(encoding="utf-8")
    figure = _figure(page, "progress")
    raised = re.search(r'data-figure="raised">([^<]+)<', page).group(1)
    assert raised == "1,200.00 元"  # 300 + 500 + 400; the 200 refunded is not counted
    caption = "筹款进度：累计已筹 1,200.00 元，目标 1,000.00 元，2024-05-20 达到目标"
    assert f"<figcaption>{caption}</figcaption>" in figure
    assert _aria(figure).startswith(caption) and "首笔捐赠 2024-03-06，最近一笔 2024-05-20" in _aria(figure)
    points = [tuple(map(int, p.split(","))) for p in re.search(r'points="([^"]+)"', figure).group(1).split()]
    assert len(points) == 4  # from nothing, then one vertex per day with gifts
    assert points[0][1] == 118 and [y for _, y in points] == sorted((y for _, y in points), reverse=True)
    assert points[-1][1] == 22  # the highest point is what was raised (above the target)
    assert _texts(figure)[1:] == ["2024-03-01", "2024-08-31"]  # the fundraising period


def test_area_charts_have_a_bar_per_row_of_the_table_and_the_share_of_villages_with_a_fund(charted):
    chain, site, villages = charted
    county = (site / "area" / chain.county.code / "index.html").read_text(encoding="utf-8")
    rows = _table_rows(county, "各村社汇总表")
    figure = _figure(county, "bars")
    said = _aria(figure).split("：", 1)[1].rstrip("。").split("；")
    table = sorted(((f"{r[1]}（{r[0]}）", parse_fen(r[5]), parse_fen(r[6])) for r in rows), key=lambda r: -r[1])
    assert [f"{name} 已筹 {format_fen(raised)}，已支出 {format_fen(spent)}" for name, raised, spent in table] == said
    assert len(re.findall(r'fill="#2e7d32"', figure)) == sum(1 for _, raised, _ in table if raised) == 3
    share = _figure(county, "share")
    registered = Village.select().join(Area).where(Area.path.startswith(chain.township.path)).count()
    with_fund = Village.select().join(Area).where(Area.path.startswith(chain.township.path)
                                                  & Village.fund_established_on.is_null(False)).count()
    assert (with_fund, registered) == (3, 4)
    assert f"{chain.county.name}已登记村社 4 个，其中 3 个已设立（75%）" in share
    assert f"{chain.township.name} 3 / 4 个（75%）" in _aria(share)

    prefecture = (site / "area" / chain.prefecture.code / "index.html").read_text(encoding="utf-8")
    units = _table_rows(prefecture, "各旗县市区汇总表")
    figure = _figure(prefecture, "bars")
    said = _aria(figure).split("：", 1)[1].rstrip("。").split("；")
    assert len(said) == len(units) > 5  # every 旗县市区 of the 盟市, with or without villages
    shares = _aria(_figure(prefecture, "share"))
    for name, with_funds, _, raised, _, spent, _ in units:
        assert f"{name} 已筹 {format_fen(parse_fen(raised))}，已支出 {format_fen(parse_fen(spent))}" in said
        assert (f"{name} {with_funds} / " in shares) == (with_funds != "0")  # the table's count of villages with a fund
    assert f"{chain.county.name} 3 / 4 个（75%）" in shares
    assert audit_site(site) == []


def test_charts_are_drawn_from_the_values_they_are_given():
    assert [percent(1, 3), percent(2, 3), percent(1, 1000), percent(0, 5), percent(5, 0)] == \
        ["33%", "67%", "<1%", "0%", "0%"]
    bars = [Bar(f"村{n}", n * 100, n * 10) for n in range(1, 26)]
    figure = str(raised_spent_chart(bars, "村社", most=MOST_VILLAGES))
    names = re.findall(r'<text x="0" y="\d+">([^<]+)</text>', figure)
    assert names == [f"村{n}" for n in range(25, 5, -1)]  # the 20 that raised most, most first
    assert "已筹善款最多的 20 个村社（共 25 个，全部见下表）" in figure
    assert money_chart(whereabouts(Totals()), 0, 0) == ""  # nothing raised: nothing drawn
    totals = Totals(raised=90_000, matched=10_000, disbursed=60_000, spent=20_000, to_fund=5_000)
    parts = whereabouts(totals)
    assert [p.amount for p in parts] == [20_000, 50_000, 25_000, 5_000] and sum(p.amount for p in parts) == 100_000
    assert "甲镇 1 / 3 个（33%）" in str(share_chart([Share("甲镇", 1, 3)], "乡镇/街道", Share("某旗", 1, 3)))
    assert share_chart([], "乡镇/街道", Share("某旗", 0, 0)) == ""


# -- the 监管会's 监督意见 (issue 15) ----------------------------------------------------------------------

def test_public_supervision_opinions_are_on_the_village_page_and_private_ones_are_not(db, tmp_path):
    from db import supervision
    from db.fingerprints import fingerprints
    from db.snapshot import read

    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    member = chain.users[Role.SUPERVISOR]

    def digest():
        with read() as snap:
            return fingerprints(snap)[chain.village.id]

    before = digest()
    private = supervision.give_opinion(project, "内部意见：请补充票据", given_on=dt.date(2024, 4, 2), public=False,
                                       actor=member)
    assert digest() == before  # a private opinion is not on the page: the page need not be built again
    first = supervision.give_opinion(project, "募捐公示及时<script>alert(1)</script>", given_on=dt.date(2024, 4, 3),
                                     public=True, actor=member)
    supervision.give_opinion(project, "更正：公示于 4 月 3 日张贴", given_on=dt.date(2024, 4, 5), public=True,
                             actor=member, corrects=first)
    assert digest() != before
    build(tmp_path / "site", attachments=tmp_path / "attachments")
    page = (tmp_path / "site" / "village" / chain.village.area.code / "index.html").read_text(encoding="utf-8")
    assert "监管会监督意见" in page and "募捐公示及时" in page and "<script>alert" not in page
    assert f"监管会成员 {member.display_name}" in page and "（更正 2024-04-03 的意见）" in page
    assert private.text not in page
    assert audit_site(tmp_path / "site") == []
