"""监督意见: what a village's 监管会 members say about its projects, dated and kept as written.

Like a disclosure, an opinion is never edited or deleted: a correction is a new opinion that names the
one it corrects. One marked 公开 is published on the village page (``db.snapshot``)."""
from __future__ import annotations

import datetime as dt

from . import audit
from .clock import today
from .database import write_transaction
from .errors import JurisdictionError, XfjyError
from .jurisdiction import covers
from .models import Project, Role, SupervisionOpinion

MAX_TEXT = 2000


def may_opine(actor, project: Project) -> bool:
    """A 监管会成员 of the project's own village (the role ``supervisor``), and nobody else."""
    return actor is not None and actor.role == Role.SUPERVISOR and covers(actor, project.village.area)


def give_opinion(project: Project, text: str, *, given_on: dt.date, public: bool, actor,
                 corrects: SupervisionOpinion | None = None) -> SupervisionOpinion:
    if not may_opine(actor, project):
        raise JurisdictionError("监督意见由本村社监管会成员填写")
    text = (text or "").strip()
    if not text:
        raise XfjyError("请填写监督意见")
    if len(text) > MAX_TEXT:
        raise XfjyError(f"监督意见不超过 {MAX_TEXT} 字")
    if given_on > today():
        raise XfjyError("意见日期不能晚于今天")
    if corrects is not None and corrects.project_id != project.id:
        raise XfjyError("只能更正本项目的监督意见")
    with write_transaction():
        opinion = SupervisionOpinion.create(project=project, given_on=given_on, text=text, public=bool(public),
                                            member_name=actor.display_name or actor.username, corrects=corrects,
                                            user=actor.id)
        audit.record(actor, "opinion", opinion, summary=f"{opinion.member_name}对「{project.name}」的监督意见"
                     + ("（更正）" if corrects is not None else ""))
    return opinion


def opinions_of(project: Project):
    return project.opinions.order_by(SupervisionOpinion.given_on, SupervisionOpinion.id)
