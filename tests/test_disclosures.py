import datetime as dt

import pytest

from db import disclosures
from db.errors import XfjyError
from db.models import Disclosure, Role

from .factories import Chain


def test_a_correction_is_a_new_version_beside_the_original(chain, project):
    p = project
    actor = chain.users[Role.VILLAGE]
    first = disclosures.publish(p, "募捐进展公示（第 1 期）", "已筹 5,000.00 元。", period_start=dt.date(2024, 3, 1),
                                period_end=dt.date(2024, 5, 31), actor=actor)
    fixed = disclosures.correct(first, "已筹 5,500.00 元。", "漏计一笔线下捐赠 500 元", actor=actor)
    original = Disclosure.get_by_id(first.id)
    assert original.body == "已筹 5,000.00 元。"
    assert fixed.corrects_id == first.id and fixed.correction_note == "漏计一笔线下捐赠 500 元"
    assert (fixed.period_start, fixed.period_end) == (first.period_start, first.period_end)
    assert [d.id for d in disclosures.current_versions(p)] == [fixed.id]
    with pytest.raises(XfjyError, match="最新版本"):
        disclosures.correct(first, "又改", "再次更正", actor=actor)
    third = disclosures.correct(fixed, "已筹 5,600.00 元。", "再补 100 元", actor=actor)
    assert [d.id for d in disclosures.current_versions(p)] == [third.id]


def test_a_correction_needs_a_note(chain, project):
    p = project
    first = disclosures.publish(p, "公示", "正文", actor=chain.users[Role.VILLAGE])
    with pytest.raises(XfjyError, match="更正说明"):
        disclosures.correct(first, "新正文", "  ", actor=chain.users[Role.VILLAGE])
    assert Disclosure.select().where(Disclosure.project == p).count() == 1


def test_disclosures_outside_the_users_area_are_refused(chain, project):
    p = project
    stranger = Chain("150122").users[Role.COUNTY]
    with pytest.raises(XfjyError, match="管辖范围"):
        disclosures.publish(p, "公示", "正文", actor=stranger)
    with pytest.raises(XfjyError, match="结束日期"):
        disclosures.publish(p, "公示", "正文", period_start=dt.date(2024, 5, 1), period_end=dt.date(2024, 4, 1),
                            actor=chain.users[Role.VILLAGE])
