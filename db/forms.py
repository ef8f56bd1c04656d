"""The printed 附件2 form (村社慈善公益项目申报表): which recorded review fills which opinion box.

The admin's 打印申报表 page and the audit pack (``db.audit_pack``) render the same template from this context."""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from .models import Project, ProjectReview
from .money import format_fen

# The form's opinion boxes, top to bottom, and the review step whose approval fills each.
BOXES = (
    ("街道审核意见", "township_review"),
    ("旗县市区慈善总会审核意见", "county_review"),
    ("盟市慈善总会审核意见", "prefecture_filing"),
    ("自治区慈善总会审批意见", "region_approval"),
)


class Box(NamedTuple):
    title: str
    review: ProjectReview | None


def print_form_context(project: Project, as_of: dt.date | None = None) -> dict:
    """What ``admin/print_form.html`` shows: the project, its opinion boxes (the latest approval of each
    level, recorded on or before ``as_of`` when given) and the 盟市 named in the heading."""
    query = project.reviews.order_by(ProjectReview.at, ProjectReview.id)
    if as_of is not None:
        query = query.where(ProjectReview.at < dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
    approvals = {r.from_state: r for r in query if r.action == "approve"}
    return {"project": project, "blocks": [Box(title, approvals.get(state)) for title, state in BOXES],
            "fmt": format_fen, "prefecture": project.village.area.prefecture}
