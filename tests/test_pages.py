"""site_builder/pages.py and the village page template: what the page offers donors."""
from __future__ import annotations

import pytest

from site_builder.audit import audit_site
from site_builder.build import build

from .factories import Chain, advance_to, new_project


def test_a_project_raising_money_links_to_its_donation_page(db, tmp_path):
    from db.errors import XfjyError
    from db.models import Project
    from db.villages import check_donation_url

    for bad in ("http://gongyi.example.cn/p/1", "javascript:alert(1)", "https://", "https://x/\"onmouseover=1",
                "gongyi.example.cn/p/1"):
        with pytest.raises(XfjyError, match="https"):
            check_donation_url(bad)
    assert check_donation_url("  https://gongyi.example.cn/p/1 ") == "https://gongyi.example.cn/p/1"
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    Project.update(donation_url="https://gongyi.example.cn/p/1").where(Project.id == project.id).execute()
    build(tmp_path / "site", attachments=tmp_path / "attachments")
    page = (tmp_path / "site" / "village" / chain.village.area.code / "index.html").read_text(encoding="utf-8")
    assert ('<a class="md-button md-button--primary xfjy-donate" href="https://gongyi.example.cn/p/1" '
            'rel="noopener external">去捐赠</a>') in page
    assert audit_site(tmp_path / "site") == []
