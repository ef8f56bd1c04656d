"""Volunteers (志愿者) of a village and the hours they served."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from . import audit
from .errors import XfjyError
from .jurisdiction import covers, require_write
from .models import ServiceRecord, Village, Volunteer


def add_volunteer(village: Village, name: str, *, phone: str = "", skills: str = "",
                  joined_on: dt.date | None = None, actor=None) -> Volunteer:
    require_write(actor)
    if actor is not None and not covers(actor, village.area):
        raise XfjyError(f"{village.full_name}不在您的管辖范围内")
    if not name.strip():
        raise XfjyError("志愿者姓名不能为空")
    volunteer = Volunteer.create(village=village, name=name.strip(), phone=phone.strip(), skills=skills.strip(),
                                 joined_on=joined_on)
    audit.record(actor, "create", volunteer, summary=f"{village.full_name}登记志愿者 {volunteer.name}")
    return volunteer


def record_service(volunteer: Volunteer, served_on: dt.date, minutes: int, activity: str, actor=None) -> ServiceRecord:
    require_write(actor)
    if actor is not None and not covers(actor, volunteer.village.area):
        raise XfjyError("该志愿者不在您的管辖范围内")
    if not isinstance(minutes, int) or not 0 < minutes <= 24 * 60:
        raise XfjyError("服务时长应在 1 分钟到 24 小时之间")
    if not activity.strip():
        raise XfjyError("服务内容不能为空")
    record = ServiceRecord.create(volunteer=volunteer, served_on=served_on, minutes=minutes, activity=activity.strip())
    audit.record(actor, "create", record, summary=f"{volunteer.name}服务 {minutes} 分钟：{activity}")
    return record


@dataclass
class TeamSize:
    volunteers: int
    minutes: int

    @property
    def hours(self) -> str:
        """Service hours to one decimal (rounded down), as the public page shows them: 90 min → "1.5"."""
        hours, rest = divmod(self.minutes, 60)
        return f"{hours}.{rest * 10 // 60}" if rest else str(hours)


def team_size(village: Village) -> TeamSize:
    volunteers = Volunteer.select().where(Volunteer.village == village).count()
    minutes = (ServiceRecord.select(fn.COALESCE(fn.SUM(ServiceRecord.minutes), 0))
               .join(Volunteer).where(Volunteer.village == village).scalar())
    return TeamSize(volunteers, int(minutes))
