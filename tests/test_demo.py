import datetime as dt
from collections import Counter

import pytest

from db import demo, integrity, milestones, sampling
from db.database import database
from db.errors import XfjyError
from db.models import (
    Area,
    Attachment,
    Batch,
    Donation,
    Expenditure,
    Milestone,
    Project,
    Role,
    SampleDraw,
    User,
    Village,
)
from db.totals import project_totals
from db.workflow import PROJECT


def snapshot():
    return (
        sorted(Village.select(Village.full_name, Village.admission_state, Village.leader_phone).tuples()),
        sorted(Project.select(Project.code, Project.state, Project.target, Project.ends_on).tuples()),
        sorted(Donation.select(Donation.txn_no, Donation.amount, Donation.donor_name).tuples()),
    )


def test_same_seed_same_data_other_seed_other_data(db, tmp_path):
    runs = []
    for seed in (7, 7, 8):
        with database.atomic() as sp:
            demo.generate(30, 600, seed=seed)
            runs.append(snapshot())
            sp.rollback()
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_pilots_first_spread_over_the_units_of_annex_1(db):
    demo.generate(28, 300, seed=2)
    villages = list(Village.select())
    assert {v.batch.code for v in villages} == {"pilot"}
    units = Counter(v.area.prefecture.name for v in villages)
    assert len(units) == 14 and max(units.values()) == 2  # round-robin over all 14 units of 附件1


def test_every_project_state_and_money_that_agrees_with_it(db, tmp_path):
    stats = demo.generate(220, 5000, seed=1, attachments_root=tmp_path)
    assert stats["村社"] == 220
    assert {p.state for p in Project.select()} == set(PROJECT.states)
    assert integrity.integrity_problems() == []
    for project in Project.select():
        t = project_totals(project)
        if project.state in ("target_reached", "use_applied", "disbursing", "implementing", "acceptance"):
            assert t.raised >= project.target, project.code
        if project.state in ("fundraising", "target_missed"):
            assert t.raised < project.target, project.code
        if project.state in ("implementing", "acceptance"):
            assert t.disbursed == project.target and 0 < t.spent <= t.disbursed + t.matched
        if project.state in ("draft", "township_review", "county_review", "prefecture_filing", "region_approval"):
            assert t.raised == 0 and project.donations.count() == 0
        steps = [r.to_state for r in project.reviews.order_by(project.reviews.model.at, project.reviews.model.id)]
        if project.state != "draft":
            assert steps[-1] == project.state, project.code
    for village in Village.select().where(Village.admission_state == "established"):
        assert village.supervisors.count() >= 3 and village.fund_established_on is not None
    assert Expenditure.select().count() > 0
    for project in Project.select().where(Project.state.in_(("acceptance", "closed"))):
        asked = project.reviews.where(project.reviews.model.action == "request_acceptance").first()
        if asked is not None:  # nothing is spent after the village asked for 验收 (and so after closing)
            late = project.expenditures.where(Expenditure.spent_on > asked.at.date()).count()
            assert late == 0, (project.code, asked.at)
    assert Attachment.select().count() > 0
    assert {a.mime for a in Attachment.select().where(Attachment.training.is_null())} == {"application/pdf"}
    assert {a.mime for a in Attachment.select().where(Attachment.training.is_null(False))} == {"image/png"}
    _programme_in_each_state()
    assert {u.role for u in User.select().where(User.username.startswith("demo-"))} == set(Role.ALL)  # one of each
    villages_area = Area.select().where(Area.level == 5).count()
    assert villages_area == 220


def _programme_in_each_state():
    """实施步骤 in each status (read on a fixed day), one 盟市 late with its plan, one with its training done
    and documented, and one 抽查验收 with every item resolved."""
    on = dt.date(2026, 12, 1)
    boards = {b.code: milestones.board(b, None, on) for b in Batch.select()}
    statuses = {cell.status for rows in boards.values() for row in rows for cell in row.cells}
    assert statuses == set(milestones.STATUS)
    pilot = {row.unit.code: row.cells for row in boards["pilot"]}
    late = [code for code, cells in pilot.items() if cells[0].status == "done" and cells[0].days_late > 0]
    assert len(late) == 1 and pilot[late[0]][0].days_late == 12
    trained = [code for code, cells in pilot.items() if cells[1].status == "done"]
    assert len(trained) == 1
    training = Milestone.get((Milestone.step == 2) & (Milestone.area == Area.get(Area.code == trained[0])))
    assert all(t.attachments.count() == 1 for t in training.trainings) and training.trainings.count() == 2
    assert Milestone.get((Milestone.step == 1) & (Milestone.area == training.area)).attachments.count() == 1
    (draw,) = SampleDraw.select()
    coverage = sampling.coverage(draw)
    assert coverage.sampled > 0 and coverage.open == 0 and coverage.skipped == 1
    assert sampling.replay(draw) == [item.project_id for item in sampling.checklist(draw)]


def test_demo_refuses_a_database_that_already_has_villages(db):
    demo.generate(5, 50, seed=1)
    with pytest.raises(XfjyError, match="空库"):
        demo.generate(5, 50, seed=1)
