"""Property tests of the ledger: random sequences of what users do, then the invariants an auditor checks.

The ``db`` fixture is function-scoped, so it is shared by all examples of one test; each example works
inside a savepoint of its own that is rolled back at the end, so examples never see each other's data.
Operations the rules refuse raise a domain error (LedgerError, TransitionError, XfjyError) and are skipped.
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from db import disbursement, donations, integrity, ledger, matching, settlement, spending, workflow
from db.areas import get_area
from db.database import database
from db.errors import LedgerError, XfjyError
from db.models import Account, Donation, Entry, MatchingRule, Project, Role
from db.totals import SIGNED_AMOUNT, project_raised, project_totals, totals

from .factories import AFTER_DEADLINE, Chain, advance_to, donate, new_project

REGION, COUNTY = "150000", "150121"
TARGET = 100_000

SETTINGS = dict(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

# "next": whichever federation's turn it is; otherwise a user of one level, right or wrong.
NEXT_HOP = st.just(("disburse", "next"))
OPERATION = st.one_of(
    NEXT_HOP,
    NEXT_HOP,
    NEXT_HOP,
    st.tuples(st.just("disburse"), st.sampled_from([Role.REGION, Role.PREFECTURE, Role.COUNTY, Role.VILLAGE])),
    st.tuples(st.just("donate"), st.integers(1, 60_000)),
    st.tuples(st.just("refund"), st.integers(0, 30)),
    st.tuples(st.just("advance"), st.just(0)),
    st.tuples(st.just("expire"), st.just(0)),
    st.tuples(st.just("spend"), st.integers(1, 120_000)),
    st.tuples(st.just("reverse"), st.integers(0, 60)),
    st.tuples(st.just("fund_pool"), st.sampled_from([REGION, COUNTY])),
    st.tuples(st.just("match"), st.sampled_from(["matching", "reward"])),
    st.tuples(st.just("settle"), st.sampled_from([Role.COUNTY, Role.REGION, Role.TOWNSHIP])),
)


@pytest.fixture
def world(db):
    """One village with users at every level, a project open for donations, a 配捐 and a 以奖代补 rule,
    shared by the examples (each example's changes are rolled back)."""
    chain = Chain()
    project = advance_to(new_project(chain, target=TARGET), "fundraising", chain)
    rules = {
        "matching": MatchingRule.create(area=get_area(REGION), kind="matching", name="自治区配捐", ratio_bp=5000,
                                        cap=40_000),
        "reward": MatchingRule.create(area=get_area(COUNTY), kind="reward", name="旗以奖代补", ratio_bp=1000,
                                      cap=6_000),
    }
    matching.fund_pool(get_area(REGION), 60_000, "爱心企业")
    matching.fund_pool(get_area(COUNTY), 10_000, "爱心企业")
    return chain, rules, project


def note_event(text: str) -> None:
    """Shown by ``--hypothesis-show-statistics``: how often each operation went through or was refused."""
    if currently_in_test_context():
        event(text)


class Run:
    """Applies operations to one project and keeps the model of what ``raised`` must be."""

    def __init__(self, chain: Chain, rules: dict, project: Project):
        self.chain, self.rules, self.project = chain, rules, project
        self.donations = list(project.donations.order_by(Donation.id))
        self.raised = project_raised(project)  # what advance_to donated on the way
        self.applied: list[tuple] = []

    def user(self, role):
        return self.chain.users[role]

    def apply(self, op: tuple) -> None:
        name, arg = op
        try:
            with database.atomic():
                getattr(self, f"do_{name}")(arg)
        except XfjyError:
            note_event(f"refused: {name}")
            return
        finally:
            self.project = Project.get_by_id(self.project.id)
        note_event(f"applied: {name}")
        self.applied.append(op)

    def do_donate(self, amount):
        self.donations.append(donate(self.project, amount))
        self.raised += amount

    def do_refund(self, index):
        if not self.donations:
            raise LedgerError("no donation")
        donation = self.donations[index % len(self.donations)]
        donations.refund_donation(donation, "捐赠人申请退款", actor=self.user(Role.COUNTY))
        self.raised -= donation.amount

    def do_advance(self, _):
        state = self.project.state
        if state == "fundraising":
            workflow.advance_project(self.project, "reach_target", None)
        elif state == "target_reached":
            workflow.advance_project(self.project, "apply_use", self.user(Role.VILLAGE))
        elif state == "implementing":
            workflow.advance_project(self.project, "request_acceptance", self.user(Role.VILLAGE))
        elif state == "acceptance":
            workflow.advance_project(self.project, "approve", self.user(Role.COUNTY), "验收通过",
                                     settle=settlement.settle_remaining)
        elif state == "target_missed":
            workflow.advance_project(self.project, "close", self.user(Role.COUNTY), settle=settlement.settle_remaining)
        else:
            raise XfjyError("nothing to advance")

    def do_expire(self, _):
        workflow.advance_project(self.project, "expire", None, on=dt.datetime(2024, 9, 1, 9, 0))

    def do_disburse(self, role):
        if role == "next":
            for level_role in (Role.REGION, Role.PREFECTURE, Role.COUNTY):
                try:
                    hop = disbursement.next_hop(self.project, self.user(level_role))
                except LedgerError:
                    continue
                entry = disbursement.disburse(self.project, self.user(level_role), expected=hop.amount)
                assert (entry.from_account_id, entry.to_account_id) == (hop.source.id, hop.target.id)
                return
            raise LedgerError("nobody can disburse")
        disbursement.disburse(self.project, self.user(role))

    def do_spend(self, amount):
        spending.record_expenditure(self.project, spent_on=dt.date(2024, 10, 1), item="材料款", payee="建材商店",
                                    amount=amount, actor=self.user(Role.VILLAGE))

    def do_reverse(self, index):
        entries = list(Entry.select().order_by(Entry.id))
        if not entries:
            raise LedgerError("no entry")
        entry = entries[index % len(entries)]
        ledger.reverse(entry, "核对后更正")
        if entry.kind == "donation":
            self.raised -= entry.amount
        elif entry.kind == "refund":
            self.raised += entry.amount

    def do_fund_pool(self, code):
        matching.fund_pool(get_area(code), 20_000, "爱心企业")

    def do_match(self, kind):
        rule = self.rules[kind]
        matching.post_matching(rule, self.project, self.user(Role.REGION if kind == "matching" else Role.COUNTY))

    def do_settle(self, role):
        settlement.settle_to_fund(self.project, self.user(role), on=AFTER_DEADLINE)


def from_fundraising_to(project: Project, state: str, chain: Chain) -> Project:
    """The world's project is open for donations; take it on to ``state`` the way users would."""
    if state == "fundraising":
        return project
    donate(project, project.target - project_raised(project))
    workflow.advance_project(project, "reach_target", None)
    workflow.advance_project(project, "apply_use", chain.users[Role.VILLAGE])
    hops = {"disbursing": 1, "implementing": 4}.get(state, 0)
    for role in (Role.REGION, Role.REGION, Role.PREFECTURE, Role.COUNTY)[:hops]:
        disbursement.disburse(project, chain.users[role])
    project = Project.get_by_id(project.id)
    assert project.state == state
    return project


def all_balances() -> dict[int, int]:
    return ledger.balances([a for (a,) in Account.select(Account.id).tuples()])


def assert_invariants(run: Run) -> None:
    project, village = run.project, run.chain.village
    values = all_balances()
    assert sum(values.values()) == 0, run.applied
    internal = {a.id: a for a in Account.select().where(Account.kind.not_in(Account.EXTERNAL))}
    negative = {str(internal[i]): v for i, v in values.items() if i in internal and v < 0}
    assert negative == {}, run.applied
    assert integrity.integrity_problems() == [], run.applied

    figures = project_totals(project)
    assert figures.raised == run.raised == project_raised(project), run.applied
    assert totals(area=get_area(REGION)).raised == run.raised
    assert totals(area=village.area) == figures
    assert figures.balance == ledger.balance(ledger.project_account(project)), run.applied
    assert figures.rewarded + figures.to_fund == ledger.balance(ledger.fund_account(village)), run.applied
    # The 中华慈善总会 hop never passes on more than the target.
    assert ledger.disbursed_from(ledger.special_account(project)) <= project.target, run.applied
    if project.state in ("implementing", "acceptance", "closed") and figures.disbursed:
        assert figures.disbursed <= project.target


@settings(max_examples=40, **SETTINGS)
@given(start=st.sampled_from(["fundraising", "use_applied", "disbursing", "implementing"]),
       ops=st.lists(OPERATION, min_size=3, max_size=12))
def test_random_operations_keep_the_ledger_balanced(db, world, start, ops):
    chain, rules, project = world
    with database.atomic() as sp:
        project = from_fundraising_to(Project.get_by_id(project.id), start, chain)
        run = Run(chain, rules, project)
        for op in ops:
            run.apply(op)
        note_event(f"final state: {run.project.state}")
        assert_invariants(run)
        sp.rollback()


# -- a donation goes back to the donor at most once --------------------------------------------------

DONATION_OPERATION = st.tuples(st.sampled_from(["refund", "reverse_donation", "reverse_refund"]),
                               st.integers(0, 3))


def _net(donation, kind) -> int:
    query = Entry.select(SIGNED_AMOUNT).where((Entry.donation == donation) & (Entry.kind == kind))
    return int(query.scalar() or 0)


@settings(max_examples=30, **SETTINGS)
@example(amounts=[100, 100], ops=[("reverse_donation", 0), ("refund", 0)])
@example(amounts=[100, 100], ops=[("refund", 0), ("reverse_donation", 0)])
@given(amounts=st.lists(st.integers(1, 50_000), min_size=2, max_size=4),
       ops=st.lists(DONATION_OPERATION, max_size=8))
def test_a_donation_is_returned_to_its_donor_at_most_once(db, world, amounts, ops):
    """Whether by refund or by reversing its entry, a donation leaves the special account at most once:
    per donation, what stands (donation net of reversals, less refunds net of reversals) is 0 or all of it."""
    chain, _, project = world
    with database.atomic() as sp:
        gifts = [donate(project, amount) for amount in amounts]
        for name, index in ops:
            donation = gifts[index % len(gifts)]
            try:
                with database.atomic():
                    if name == "refund":
                        donations.refund_donation(donation, "捐赠人申请退款")
                    else:
                        kind = "donation" if name == "reverse_donation" else "refund"
                        entry = (Entry.select().where((Entry.donation == donation) & (Entry.kind == kind)
                                                      & Entry.reverses.is_null()).order_by(Entry.id.desc()).first())
                        if entry is None:
                            continue
                        ledger.reverse(entry, "核对后更正")
            except XfjyError:
                pass
        standing = {d.id: _net(d, "donation") - _net(d, "refund") for d in gifts}
        for donation in gifts:
            assert standing[donation.id] in (0, donation.amount), (ops, standing)
        assert project_totals(project).raised == sum(standing.values())
        assert ledger.balance(ledger.special_account(project)) == sum(standing.values())
        sp.rollback()


# -- post_many against posting one by one -------------------------------------------------------------

ROW = st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 400))


@settings(max_examples=40, **SETTINGS)
@given(opening=st.integers(0, 600), rows=st.lists(ROW, min_size=1, max_size=10))
def test_post_many_accepts_exactly_what_post_would(db, world, opening, rows):
    """A batch is accepted if and only if posting its rows one after the other would be, and then leaves
    the same balances; a refused batch leaves nothing behind."""
    chain, _, _ = world
    with database.atomic() as sp:
        region, county = get_area(REGION), get_area(COUNTY)
        accounts = [ledger.sponsor_account("爱心企业"), ledger.pool_account(region), ledger.pool_account(county),
                    ledger.fund_account(chain.village)]
        if opening:
            matching.fund_pool(region, opening, "爱心企业")
        batch = [dict(kind="reward", from_account=accounts[a].id, to_account=accounts[b].id, amount=amount)
                 for a, b, amount in rows if a != b]
        before = ledger.balances(accounts)

        # What the rule says: a running balance of an internal account never dips below zero.
        running, dips = dict(before), False
        for row in batch:
            running[row["from_account"]] -= row["amount"]
            running[row["to_account"]] += row["amount"]
            if any(v < 0 for k, v in running.items() if k != accounts[0].id):
                dips = True

        one_by_one = None
        try:
            with database.atomic() as inner:
                for row in batch:
                    ledger.post(row["kind"], Account.get_by_id(row["from_account"]),
                                Account.get_by_id(row["to_account"]), row["amount"])
                one_by_one = ledger.balances(accounts)
                inner.rollback()
        except LedgerError:
            pass
        assert (one_by_one is None) == dips
        assert ledger.balances(accounts) == before

        count = Entry.select().count()
        if dips:
            with pytest.raises(LedgerError, match="余额不足"):
                ledger.post_many([dict(r) for r in batch])
            assert Entry.select().count() == count
            assert ledger.balances(accounts) == before
        else:
            assert ledger.post_many([dict(r) for r in batch]) == len(batch)
            assert ledger.balances(accounts) == one_by_one == running
            assert integrity.integrity_problems() == []
        sp.rollback()


def test_the_invariant_check_notices_an_overdraft_and_a_wrong_raised(db, world):
    """The checker above can fail: an entry slipped in past post() overdraws the special account."""
    chain, rules, project = world
    run = Run(chain, rules, Project.get_by_id(project.id))
    run.apply(("donate", 500))
    assert_invariants(run)
    run.raised += 1
    with pytest.raises(AssertionError):
        assert_invariants(run)
    run.raised -= 1
    Entry.insert(kind="disbursement", from_account=ledger.special_account(project).id,
                 to_account=ledger.pass_through_account(get_area(REGION), project).id, amount=501, reason="",
                 memo="", posted_at=dt.datetime(2024, 5, 1), booked_on=dt.date(2024, 5, 1)).execute()
    with pytest.raises(AssertionError):
        assert_invariants(run)
