"""Small builders for tests: a township and villages under 土默特左旗 (150121), users of every level,
and projects driven to any state through the real workflow and ledger."""
from __future__ import annotations

import datetime as dt
import itertools

from db import ledger, workflow
from db.areas import get_area
from db.errors import LedgerError, TransitionError
from db.models import Donation, Level, Project, Role, SupervisoryMember, User, Village
from db.villages import add_township, add_village_area, create_project, register_village

COUNTY = "150121"
_serial = itertools.count(1)

# The states a project passes through on the straight road, and the action that enters each.
PATH = [
    ("draft", None),
    ("township_review", "submit"),
    ("county_review", "approve"),
    ("prefecture_filing", "approve"),
    ("region_approval", "approve"),
    ("fundraising", "approve"),
    ("target_reached", "reach_target"),
    ("use_applied", "apply_use"),
]
ACTING_ROLE = {Level.VILLAGE: Role.VILLAGE, Level.TOWNSHIP: Role.TOWNSHIP, Level.COUNTY: Role.COUNTY,
               Level.PREFECTURE: Role.PREFECTURE, Level.REGION: Role.REGION}


def user(role: str, area, name: str | None = None) -> User:
    """A user without a real password hash (hashing is slow and tested on its own)."""
    n = next(_serial)
    return User.create(username=name or f"{role}-{n}", password_hash="-", role=role, area=area,
                       display_name=f"{Role.NAMES[role]}经办人{n}", unit=f"{area.name}{Role.NAMES[role]}")


class Chain:
    """A village and one user at each level above it, all within 土默特左旗."""

    def __init__(self, county_code: str = COUNTY, township_code: str | None = None):
        n = next(_serial)
        self.county = get_area(county_code)
        self.prefecture = self.county.prefecture
        self.region = get_area("150000")
        township_code = township_code or f"{county_code}{100 + n % 900:03d}"
        self.township = add_township(self.county, township_code, f"测试{n}镇")
        self.users = {
            Role.REGION: user(Role.REGION, self.region),
            Role.PREFECTURE: user(Role.PREFECTURE, self.prefecture),
            Role.COUNTY: user(Role.COUNTY, self.county),
            Role.TOWNSHIP: user(Role.TOWNSHIP, self.township),
            Role.ADMIN: user(Role.ADMIN, self.region),
        }
        self.village = self.add_village()
        self.users[Role.VILLAGE] = user(Role.VILLAGE, self.village.area)

    def add_village(self, established: bool = True) -> Village:
        n = next(_serial)
        area = add_village_area(self.township, f"{self.township.code}{n % 1000:03d}", f"测试{n}村")
        village = register_village(area.code, full_name=f"{self.township.name}{area.name}", leader_name="王建国",
                                   leader_phone="13800000000")
        if established:
            establish(village, self)
        return village

    def actor(self, level: int, village: Village | None = None) -> User:
        if level == Level.VILLAGE and village is not None and village.id != self.village.id:
            return user(Role.VILLAGE, village.area)
        return self.users[ACTING_ROLE[level]]


def establish(village: Village, chain: Chain) -> None:
    local = user(Role.VILLAGE, village.area)
    workflow.advance_village(village, "apply", local)
    workflow.advance_village(village, "approve", chain.users[Role.TOWNSHIP], "同意")
    workflow.advance_village(village, "approve", chain.users[Role.COUNTY], "同意")
    workflow.advance_village(village, "approve", chain.users[Role.PREFECTURE], "予以备案")
    for name in ("李秀英", "张海军", "乌云其木格"):
        SupervisoryMember.create(village=village, name=name, title="委员")
    workflow.advance_village(village, "establish_fund", local)


def new_project(chain: Chain, village: Village | None = None, *, target: int = 1_000_000,
                starts_on=dt.date(2024, 3, 1), ends_on=dt.date(2024, 8, 31), name="村道路灯安装") -> Project:
    village = village or chain.village
    project, _ = create_project(village, name=name, target=target, starts_on=starts_on, ends_on=ends_on,
                                summary="为村内主干道安装太阳能路灯 60 盏。", background="常住 320 户。",
                                democratic_decision="经村民代表大会表决通过。")
    return project


def donate(project: Project, amount: int, txn: str | None = None, when=dt.datetime(2024, 4, 1, 10, 0)) -> Donation:
    donation = Donation.create(project=project, txn_no=txn or f"T{next(_serial):08d}", donor_name="爱心人士",
                               amount=amount, donated_at=when)
    ledger.receive_donation(donation)
    return donation


def advance_to(project: Project, state: str, chain: Chain) -> Project:
    """Walk the project along the review chain to ``state`` (raising the target on the way)."""
    for target_state, action in PATH[1:]:
        if project.state == state:
            break
        if action == "reach_target":
            from db.totals import project_raised

            short = project.target - project_raised(project)
            if short > 0:
                donate(project, short)
        transition = workflow.PROJECT.transitions[(project.state, action)]
        actor = chain.actor(transition.level, project.village) if transition.level is not None else None
        workflow.advance_project(project, action, actor, "同意")
        project = Project.get_by_id(project.id)
        assert project.state == target_state
    senders = [chain.users[Role.REGION], chain.users[Role.PREFECTURE], chain.users[Role.COUNTY]]
    while project.state != state and project.state in ("use_applied", "disbursing") \
            and state in ("disbursing", "implementing"):
        for sender in senders:
            try:
                ledger.disburse(project, sender)
                break
            except (LedgerError, TransitionError):
                continue
        else:
            raise AssertionError("no level could pass the money down")
        project = Project.get_by_id(project.id)
    assert project.state == state, (project.state, state)
    return project
