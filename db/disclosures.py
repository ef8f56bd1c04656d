"""Disclosure posts (公示). A correction never edits a post: it is a new version saying why."""
from __future__ import annotations

import datetime as dt

from . import audit
from .clock import today
from .database import write_transaction
from .errors import XfjyError
from .jurisdiction import covers, may_write, require_write
from .models import Disclosure, Project, Role
from .workflow import PUBLISHED_STATES


def may_publish(actor, project: Project) -> bool:
    """Anyone working in the project's area discloses once it is published; the system admin does not."""
    return project.state in PUBLISHED_STATES and actor.role != Role.ADMIN and may_write(actor)


def _check(project: Project, actor, title: str) -> None:
    if actor is not None and not covers(actor, project.village.area):
        raise XfjyError("该项目不在您的管辖范围内")
    if actor is not None and actor.role == Role.ADMIN:
        raise XfjyError("系统管理员不办理公示，请由村社或慈善总会发布")
    if project.state not in PUBLISHED_STATES:
        raise XfjyError("项目发布募捐后才能公示")
    if not title.strip():
        raise XfjyError("公示标题不能为空")


def publish(project: Project, title: str, body: str, *, period_start: dt.date | None = None,
            period_end: dt.date | None = None, published_on: dt.date | None = None, actor=None) -> Disclosure:
    require_write(actor)
    _check(project, actor, title)
    if period_start and period_end and period_end < period_start:
        raise XfjyError("公示期间的结束日期早于开始日期")
    disclosure = Disclosure.create(project=project, title=title.strip(), body=body, period_start=period_start,
                                   period_end=period_end, published_on=published_on or today(),
                                   user=getattr(actor, "id", None))
    audit.record(actor, "create", disclosure, summary=f"发布公示 {title}")
    return disclosure


def correct(original: Disclosure, body: str, note: str, *, title: str | None = None, actor=None,
            published_on: dt.date | None = None) -> Disclosure:
    """Publish a corrected version beside the original; the original stays as it was."""
    require_write(actor)
    _check(original.project, actor, title or original.title)
    if not note.strip():
        raise XfjyError("更正必须填写更正说明")
    with write_transaction():
        if Disclosure.select().where(Disclosure.corrects == original).exists():
            raise XfjyError("该公示已被更正，请更正其最新版本")
        corrected = Disclosure.create(project=original.project, title=(title or original.title).strip(), body=body,
                                      period_start=original.period_start, period_end=original.period_end,
                                      published_on=published_on or today(), corrects=original,
                                      correction_note=note.strip(), user=getattr(actor, "id", None))
        audit.record(actor, "create", corrected, summary=f"更正公示 {original.title}：{note}")
    return corrected


def threads(corrects: dict[int, int | None]) -> dict[int, list[int]]:
    """Disclosure threads from each version's id and the id it corrects: the latest version of each
    (corrected by no later one) → the versions it corrected, newest first. Order as given."""
    corrected = {earlier for earlier in corrects.values() if earlier}
    result = {}
    for version, cursor in corrects.items():
        if version in corrected:
            continue
        earlier = []
        while cursor in corrects:
            earlier.append(cursor)
            cursor = corrects[cursor]
        result[version] = earlier
    return result


def current_versions(project: Project):
    """The latest version of each disclosure thread, oldest first."""
    versions = threads(dict(project.disclosures.select(Disclosure.id, Disclosure.corrects).tuples()))
    return project.disclosures.where(Disclosure.id.in_(list(versions))).order_by(Disclosure.published_on)
