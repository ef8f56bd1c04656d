"""A form is posted once (issue 12): the same 资金池 or spending form sent twice books once."""
from __future__ import annotations

import re

import pytest

from db import ledger, submissions
from db.database import database
from db.errors import XfjyError
from db.models import Entry, Expenditure, Role, Submission, Volunteer

from .admin_support import Desk, errors, login, project_url, spending_form, successes
from .factories import Chain, project_in


def once_of(page: str, form_marker: str) -> str:
    """The one-time token of the form whose opening tag contains ``form_marker``."""
    form = page[page.index(form_marker):]
    form = form[:form.index("</form>")]
    return re.search(r'name="once" value="([^"]+)"', form).group(1)


def test_a_token_is_claimed_once_and_freed_when_its_write_fails(db):
    submissions.claim("t-1")
    with pytest.raises(XfjyError, match="已经提交过一次"):
        submissions.claim("t-1")
    with pytest.raises(XfjyError, match="余额不足"):
        with database.atomic():
            submissions.claim("t-2")
            raise XfjyError("余额不足")
    submissions.claim("t-2")  # the failed write did not use it up
    assert Submission.select().count() == 2
    submissions.claim("")  # a form without a token is not checked
    with pytest.raises(XfjyError, match="表单已失效"):
        submissions.claim("x" * 65)


def test_a_pool_form_sent_twice_books_once(app, db):
    chain = Chain()
    desk = Desk(app, chain)
    once = once_of(desk.get(Role.COUNTY, "/admin/workflow/pool"), 'id="pool-form"')
    form = {"amount": "50,000.00", "source": "本级配套资金", "once": once}
    assert successes(desk.post(Role.COUNTY, "/admin/workflow/pool", form)) == ["已入账"]
    page = desk.post(Role.COUNTY, "/admin/workflow/pool", form)
    assert errors(page) == [submissions.ALREADY_POSTED]
    assert ledger.balance(ledger.pool_account(chain.county)) == 5_000_000
    fresh = once_of(page, 'id="pool-form"')
    assert fresh != once
    assert successes(desk.post(Role.COUNTY, "/admin/workflow/pool", {**form, "once": fresh})) == ["已入账"]
    assert ledger.balance(ledger.pool_account(chain.county)) == 10_000_000


def test_a_spending_line_without_a_voucher_sent_twice_is_booked_once(app, db):
    chain = Chain()
    project = project_in(chain, "implementing")
    desk = Desk(app, chain)
    page = desk.get(Role.VILLAGE, project_url(project))
    form = {**spending_form(voucher_no=""), "once": once_of(page, f'action="{project_url(project)}/expenditure"')}
    assert successes(desk.post(Role.VILLAGE, f"{project_url(project)}/expenditure", form)) == ["支出已登记并记账"]
    entries = Entry.select().count()
    page = desk.post(Role.VILLAGE, f"{project_url(project)}/expenditure", form)
    assert errors(page) == [submissions.ALREADY_POSTED]
    assert Expenditure.select().where(Expenditure.project == project.id).count() == 1
    assert Entry.select().count() == entries


def test_a_refused_form_can_be_corrected_and_sent_again(app, db):
    chain = Chain()
    project = project_in(chain, "implementing")
    desk = Desk(app, chain)
    once = once_of(desk.get(Role.VILLAGE, project_url(project)), f'action="{project_url(project)}/expenditure"')
    page = desk.post(Role.VILLAGE, f"{project_url(project)}/expenditure",
                     {**spending_form(amount="99,999.00"), "once": once})
    assert errors(page) and "余额不足" in errors(page)[0]
    page = desk.post(Role.VILLAGE, f"{project_url(project)}/expenditure", {**spending_form(), "once": once})
    assert successes(page) == ["支出已登记并记账"]


def test_a_grid_create_form_sent_twice_creates_one_row(app, db):
    chain = Chain()
    client = app.test_client()
    token = login(client, chain.users[Role.VILLAGE])
    page = client.get("/admin/volunteer/new/").get_data(as_text=True)
    once = re.search(r'id="once" name="once" type="hidden" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "once": once, "village": str(chain.village.id), "name": "王芳",
            "joined_on": "2024-03-01"}
    client.post("/admin/volunteer/new/", data=form)
    page = client.post("/admin/volunteer/new/", data=form, follow_redirects=True).get_data(as_text=True)
    assert submissions.ALREADY_POSTED in page
    assert Volunteer.select().where(Volunteer.village == chain.village.id).count() == 1
