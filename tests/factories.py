"""Small builders for tests: a township and villages under 土默特左旗 (150121), users of every level,
projects driven to any state through the real workflow and ledger, and the files an import reads."""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from pathlib import Path

import openpyxl

from db import disbursement, donations, ledger, settlement, workflow
from db.areas import get_area
from db.errors import LedgerError, TransitionError
from db.models import Donation, Entry, Level, MatchingRule, Project, ProjectReview, Role, SupervisoryMember, User, Village
from db.totals import project_raised
from db.villages import add_township, add_village_area, create_project, register_village

COUNTY = "150121"
_serial = itertools.count(1)

# new_project's collection period is 2024-03-01 .. 2024-08-31; these fall after it.
AFTER_DEADLINE = dt.date(2024, 9, 1)
EXPIRED_ON = dt.datetime(2024, 9, 2, 9, 30)

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
        self.users[Role.AUDITOR] = user(Role.AUDITOR, self.county)
        self.users[Role.SUPERVISOR] = user(Role.SUPERVISOR, self.village.area)

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
    donations.receive_donation(donation)
    return donation


def advance_to(project: Project, state: str, chain: Chain) -> Project:
    """Walk the project along the review chain to ``state`` (raising the target on the way)."""
    for target_state, action in PATH[1:]:
        if project.state == state:
            break
        if action == "reach_target":
            short = project.target - project_raised(project)
            if short > 0:
                donate(project, short)
        transition = workflow.PROJECT.transitions[(project.state, action)]
        actor = chain.actor(transition.level, project.village) if transition.level is not None else None
        workflow.advance_project(project, action, actor, "同意", settle=settlement.settle_remaining)
        project = Project.get_by_id(project.id)
        assert project.state == target_state
    senders = [chain.users[Role.REGION], chain.users[Role.PREFECTURE], chain.users[Role.COUNTY]]
    while project.state != state and project.state in ("use_applied", "disbursing") \
            and state in ("disbursing", "implementing"):
        for sender in senders:
            try:
                disbursement.disburse(project, sender)
                break
            except (LedgerError, TransitionError):
                continue
        else:
            raise AssertionError("no level could pass the money down")
        project = Project.get_by_id(project.id)
    assert project.state == state, (project.state, state)
    return project


def reload(project: Project) -> Project:
    return Project.get_by_id(project.id)


def reviews(project: Project) -> int:
    return ProjectReview.select().where(ProjectReview.project == project.id).count()


def project_in(chain: Chain, state: str, *, on: dt.datetime = EXPIRED_ON, **kwargs) -> Project:
    """A project of ``chain.village`` in ``state``, reached through the real workflow (expired ``on``, for
    期满未达成 and 结项); ``kwargs`` go to ``new_project``."""
    project = new_project(chain, **kwargs)
    if state in ("target_missed", "closed"):
        project = advance_to(project, "fundraising", chain)
        workflow.advance_project(project, "expire", None, on=on)
        if state == "closed":
            workflow.advance_project(project, "close", chain.users[Role.COUNTY], "结项", settle=settlement.settle_remaining)
    elif state == "acceptance":
        project = advance_to(project, "implementing", chain)
        workflow.advance_project(project, "request_acceptance", chain.users[Role.VILLAGE])
    else:
        project = advance_to(project, state, chain)
    project = reload(project)
    assert project.state == state
    return project


def ready_for(chain: Chain, key, *, on: dt.datetime = EXPIRED_ON, move_money: bool = True) -> Project:
    """A project in the transition's source state, with whatever the step needs (money, a passed deadline).

    ``move_money=False`` leaves the money where it is for the steps that follow it (拨付, 到账)."""
    state, action = key
    project = project_in(chain, state, on=on)
    if action == "reach_target":
        donate(project, project.target)
    if move_money and action in ("start_disbursing", "funds_arrived"):
        move_money_down(project, to_village=action == "funds_arrived")
    return project


def move_money_down(project: Project, to_village: bool) -> None:
    """Post a hop straight to the ledger (as another office's system would), leaving the state alone."""
    chain = [acct for _, acct in disbursement.disbursement_chain(project)]
    holder = next(a for a in chain[:-1] if ledger.balance(a) > 0)
    target = chain[-1] if to_village else chain[chain.index(holder) + 1]
    ledger.post("disbursement", holder, target, ledger.balance(holder), project=project)


def step_id(key) -> str:
    """A test id for a (state, action) transition key."""
    return f"{key[0]}-{key[1]}"


# -- the ledger's tests (test_ledger, test_donations, test_matching, test_disbursement, test_settlement) --

REGION, HOHHOT, TUMOTE_LEFT, TOGTOH, MANZHOULI = "150000", "150100", "150121", "150122", "150781"


def entry_count() -> int:
    return Entry.select().count()


def rule(area_code: str, kind: str = "matching", ratio_bp: int = 5000, cap: int = 300_000, **kw) -> MatchingRule:
    """A 配捐 (or 以奖代补) rule of the federation at ``area_code``."""
    return MatchingRule.create(area=get_area(area_code), kind=kind, name=f"{kind}-{area_code}", ratio_bp=ratio_bp,
                               cap=cap, **kw)


def chain_codes(project: Project) -> list[str]:
    return [area.code for area, _ in disbursement.disbursement_chain(project)]


# -- files --------------------------------------------------------------------------------------------

# The platform's donation export (db.imports), and a receipt that passes the content check.
HEADER = ["交易号", "项目编号", "捐赠人", "金额", "捐赠时间", "公开姓名", "留言"]
WHEN = "2024-04-01 10:00:00"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def csv_bytes(rows, header=HEADER, encoding="utf-8") -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if header is not None:
        sheet.append(header)
    for r in rows:
        sheet.append(list(r))
    out = io.BytesIO()
    book.save(out)
    book.close()
    return out.getvalue()


def row(project, txn, amount="100", when=WHEN, donor="张三", consent="是", message=""):
    """One line of the donation export (in HEADER's order)."""
    return [txn, project.code, donor, amount, when, consent, message]


def file_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by its relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
