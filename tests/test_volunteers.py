import datetime as dt

import pytest

from db import evaluations, volunteers
from db.errors import XfjyError
from db.models import Role

from .factories import Chain, advance_to, new_project


def test_team_size_and_hours(db):
    chain = Chain()
    actor = chain.users[Role.VILLAGE]
    a = volunteers.add_volunteer(chain.village, "乌云", phone="13900000000", skills="助老", actor=actor)
    b = volunteers.add_volunteer(chain.village, "张海军", actor=actor)
    volunteers.record_service(a, dt.date(2024, 5, 1), 90, "看望独居老人", actor=actor)
    volunteers.record_service(b, dt.date(2024, 5, 2), 120, "清扫村道", actor=actor)
    size = volunteers.team_size(chain.village)
    assert (size.volunteers, size.minutes, size.hours) == (2, 210, "3.5")
    assert volunteers.team_size(Chain("150122").village).hours == "0"


@pytest.mark.parametrize("minutes", [0, -30, 24 * 60 + 1])
def test_service_minutes_must_be_plausible(db, minutes):
    chain = Chain()
    v = volunteers.add_volunteer(chain.village, "斯琴", actor=chain.users[Role.VILLAGE])
    with pytest.raises(XfjyError, match="服务时长"):
        volunteers.record_service(v, dt.date(2024, 5, 1), minutes, "义诊服务")


def test_volunteers_of_another_village_are_refused(db):
    chain = Chain()
    with pytest.raises(XfjyError, match="管辖范围"):
        volunteers.add_volunteer(chain.village, "巴特尔", actor=Chain("150122").users[Role.VILLAGE])


def test_evaluation_by_a_federation_once_the_project_is_in_acceptance(db):
    chain = Chain()
    project = advance_to(new_project(chain), "implementing", chain)
    with pytest.raises(XfjyError, match="验收阶段"):
        evaluations.record_evaluation(project, result="good", evaluated_on=dt.date(2024, 12, 1),
                                      actor=chain.users[Role.COUNTY])
    from db import workflow

    workflow.advance_project(project, "request_acceptance", chain.users[Role.VILLAGE])
    with pytest.raises(XfjyError, match="旗县市区及以上"):
        evaluations.record_evaluation(project, result="good", evaluated_on=dt.date(2024, 12, 1),
                                      actor=chain.users[Role.TOWNSHIP])
    with pytest.raises(XfjyError, match="评估结果"):
        evaluations.record_evaluation(project, result="A+", evaluated_on=dt.date(2024, 12, 1),
                                      actor=chain.users[Role.COUNTY])
    evaluation = evaluations.record_evaluation(project, result="excellent", score=96, evaluated_on=dt.date(2024, 12, 1),
                                               actor=chain.users[Role.COUNTY])
    assert evaluation.unit == chain.users[Role.COUNTY].unit and evaluation.score == 96
