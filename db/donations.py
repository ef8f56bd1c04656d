"""Gifts into the ledger: each donation booked to 中华慈善总会's special account for its project, or
on to the village's 互助基金 once the project has closed, and returned to the donor on a refund."""
from __future__ import annotations

import datetime as dt

from .database import write_transaction
from .errors import LedgerError
from .jurisdiction import covers
from .ledger import (
    DONORS,
    donors_account,
    ensure_accounts,
    fund_account,
    lock_account,
    nation,
    post,
    post_many,
    special_account,
    standing,
)
from .models import Donation, Entry, Project
from .workflow import RECEIVING_STATES

LATE_TO_FUND = "项目结项后到账的捐赠转入村社互助基金"


def gift_timing(project: Project, donated_at: dt.datetime) -> str:
    """When a gift arrived against its project's fundraising (``Donation.TIMINGS``).

    The platform has already collected it, so it is always booked: after the project closed it goes
    on to the village's 互助基金, otherwise to the project (whose leftover goes there at closing)."""
    if project.state == "closed":
        return "to_fund"
    if project.state not in RECEIVING_STATES or donated_at.date() > project.ends_on:
        return "late"
    if donated_at.date() < project.starts_on:
        return "early"
    return ""


def receive_donation(donation: Donation, actor=None) -> Entry:
    with write_transaction():
        entry = post("donation", donors_account(), special_account(donation.project), donation.amount,
                     actor=actor, project=donation.project, donation=donation, memo=f"交易号 {donation.txn_no}",
                     booked_on=donation.donated_at.date())
        if donation.timing == "to_fund":
            post("to_fund", special_account(donation.project), fund_account(donation.project.village),
                 donation.amount, actor=actor, project=donation.project, donation=donation, memo=LATE_TO_FUND,
                 booked_on=donation.donated_at.date())
    return entry


def refund_donation(donation: Donation, reason: str, actor=None) -> Entry:
    """Return a donation to the donor from the special account (only while it is still there)."""
    if not reason.strip():
        raise LedgerError("退款必须填写原因")
    if actor is not None and not covers(actor, donation.project.village.area):
        raise LedgerError("该捐赠不在您的管辖范围内")
    special = special_account(donation.project)
    with write_transaction():
        lock_account(special)
        if standing(donation, "refund"):
            raise LedgerError(f"交易号 {donation.txn_no} 已退款")
        if standing(donation, "donation") != donation.amount:
            raise LedgerError(f"交易号 {donation.txn_no} 的入账已冲正，不能再退款")
        return post("refund", special, donors_account(), donation.amount, actor=actor, project=donation.project,
                    donation=donation, reason=reason.strip(), memo=f"退款 交易号 {donation.txn_no}")


def receive_donations_bulk(donations: list[tuple[int, int, int, str, dt.datetime]], actor=None,
                           to_fund: dict[int, int] | None = None) -> int:
    """Post many donations: ``(donation_id, project_id, amount, txn_no, donated_at)`` each. A donation
    whose project is in ``to_fund`` (project id → the village's area id) goes on to its 互助基金."""
    if not donations:
        return 0
    to_fund = to_fund or {}
    nation_id = nation().id
    keys = {project_id: ("special", nation_id, project_id, "") for project_id in {d[1] for d in donations}}
    funds = {project_id: ("fund", area_id, None, "") for project_id, area_id in to_fund.items()}
    ids = ensure_accounts([("donors", None, None, DONORS), *keys.values(), *funds.values()])
    donors = ids[("donors", None, None, DONORS)]
    rows = []
    for donation_id, project_id, amount, txn_no, donated_at in donations:
        rows.append(dict(kind="donation", from_account=donors, to_account=ids[keys[project_id]], amount=amount,
                         project=project_id, donation=donation_id, memo=f"交易号 {txn_no}", booked_on=donated_at.date()))
        if project_id in funds:
            rows.append(dict(kind="to_fund", from_account=ids[keys[project_id]], to_account=ids[funds[project_id]],
                             amount=amount, project=project_id, donation=donation_id, memo=LATE_TO_FUND,
                             booked_on=donated_at.date()))
    return post_many(rows, actor)
