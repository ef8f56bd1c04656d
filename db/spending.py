"""Spending (支出) of project money by the village, each line posted to the ledger."""
from __future__ import annotations

import datetime as dt

from . import audit, ledger
from .database import write_transaction
from .errors import XfjyError
from .jurisdiction import covers, require_write
from .models import Entry, Expenditure, Level, Project, Role
from .workflow import SPENDING_STATES

RECORDERS = (Role.VILLAGE, Role.COUNTY)


def may_record(actor, project: Project) -> bool:
    """Spending is recorded by the village itself or its 旗县市区 federation, once the money has arrived."""
    return project.state in SPENDING_STATES and actor.role in RECORDERS


def record_expenditure(project: Project, *, spent_on: dt.date, item: str, payee: str, amount: int,
                       voucher_no: str = "", approved_by: str = "", actor=None) -> Expenditure:
    """A line of spending: village project account → payee, refused beyond what the village holds."""
    require_write(actor)
    if actor is not None and (actor.role not in RECORDERS or not covers(actor, project.village.area)):
        raise XfjyError("支出由本村社或旗县市区慈善总会登记")
    if project.state not in SPENDING_STATES:
        raise XfjyError("项目善款到村并进入实施阶段后才能登记支出")
    if not item.strip():
        raise XfjyError("支出事项不能为空")
    with write_transaction():
        expenditure = Expenditure.create(project=project, spent_on=spent_on, item=item.strip(), payee=payee.strip(),
                                         amount=amount, voucher_no=voucher_no.strip(), approved_by=approved_by.strip(),
                                         user=getattr(actor, "id", None))
        ledger.post("expenditure", ledger.project_account(project), ledger.payee_account(payee), amount,
                    actor=actor, project=project, expenditure=expenditure, booked_on=spent_on,
                    memo=f"{item}（凭证 {voucher_no}）" if voucher_no else item)
        audit.record(actor, "create", expenditure, summary=f"{project.name}支出 {item}")
    return expenditure


def cancel_expenditure(expenditure: Expenditure, reason: str, actor=None) -> Entry:
    """A wrong line is not edited: its entry is reversed, with the reason; both stay visible."""
    entry = expenditure.entries.where(ledger.ORIGINAL).order_by(Entry.id).first()
    if entry is None:
        raise XfjyError("该支出没有对应的记账分录")
    if actor is not None and actor.level > Level.VILLAGE:
        raise XfjyError("无权冲正该支出")
    return ledger.reverse(entry, reason, actor)


def is_cancelled(expenditure: Expenditure) -> bool:
    return expenditure.entries.where(Entry.reverses.is_null(False)).exists()
