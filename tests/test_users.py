"""db.users: the read-only roles bind to the areas they read (issue 15)."""
from __future__ import annotations

import pytest

from db.errors import XfjyError
from db.models import Role
from db.users import create_user

from .factories import Chain

PASSWORD = "long-enough-pass"


@pytest.mark.parametrize("code", ["150000", "150100", "150121"])
def test_an_auditor_acts_for_a_federations_area(db, code):
    person = create_user(f"auditor-{code}", PASSWORD, Role.AUDITOR, code)
    assert (person.role, person.area.code, person.level) == (Role.AUDITOR, code, person.area.level)
    assert person.unit.endswith("审计/财政检查")


def test_a_supervisor_acts_for_a_village_and_the_others_are_refused(db):
    chain = Chain()
    member = create_user("member-1", PASSWORD, Role.SUPERVISOR, chain.village.area.code, display_name="王秀兰")
    assert (member.area_id, member.display_name, member.unit) == (chain.village.area_id, "王秀兰",
                                                                  f"{chain.village.area.name}监管会")
    with pytest.raises(XfjyError, match="监管会成员用户不能以"):
        create_user("member-2", PASSWORD, Role.SUPERVISOR, "150121")
    with pytest.raises(XfjyError, match="审计/检查人员用户不能以"):
        create_user("auditor-v", PASSWORD, Role.AUDITOR, chain.village.area.code)
    with pytest.raises(XfjyError, match="审计/检查人员用户不能以"):
        create_user("auditor-t", PASSWORD, Role.AUDITOR, chain.township.code)


def test_a_users_email_is_kept_for_the_reminders_and_a_bad_one_refused(db):
    person = create_user("county-mail", PASSWORD, Role.COUNTY, "150121", email=" zhang@example.org ")
    assert person.email == "zhang@example.org"
    assert create_user("county-none", PASSWORD, Role.COUNTY, "150121").email == ""
    for bad in ("zhang", "zhang@example", "zhang san@example.org", "a@b@example.org"):
        with pytest.raises(XfjyError, match="电子邮箱.*格式不正确"):
            create_user(f"county-{len(bad)}", PASSWORD, Role.COUNTY, "150121", email=bad)
