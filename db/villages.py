"""Registering villages (村社) and their projects (附件2)."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from . import audit
from .areas import add_area, get_area
from .clock import now, today
from .database import write_transaction
from .errors import XfjyError
from .jurisdiction import covers, require_write
from .models import Area, Batch, Level, Project, Village
from .workflow import check_project


def register_village(area_code: str, *, full_name: str, kind: str = "村", address: str = "",
                     leader_name: str = "", leader_phone: str = "", batch: str = "pilot", actor=None) -> Village:
    """Enter a village-level area into the programme (its admission starts as 未申请)."""
    area = get_area(area_code)
    if actor is not None and not covers(actor, area):
        raise XfjyError(f"{area.name}不在您的管辖范围内")
    check_village(Village(area=area, kind=kind, full_name=full_name or area.name))
    batch_row = Batch.get_or_none(Batch.code == batch)
    if batch_row is None:
        raise XfjyError(f"批次「{batch}」不存在")
    with write_transaction():
        village = Village.create(area=area, full_name=full_name.strip() or area.name, kind=kind, address=address,
                                 leader_name=leader_name, leader_phone=leader_phone, batch=batch_row)
        audit.record(actor, "create", village, summary=f"登记村社 {village.full_name}")
    return village


def village_code_problem(code: str, township: Area | None) -> str | None:
    """Why ``code`` cannot be a new 村社 under ``township`` (统计用区划代码: 12 digits, the first 9 its
    乡镇/街道's), or None."""
    if not (len(code) == 12 and code.isdigit()):
        return "村社代码应为 12 位数字的统计用区划代码"
    if township is not None and code[:9] != township.code:
        return f"村社代码的前 9 位应为所属乡镇/街道的代码 {township.code}"
    existing = Area.get_or_none(Area.code == code)
    if existing is not None and (existing.level != Level.VILLAGE or Village.select().where(Village.area == existing).exists()):
        return f"代码 {code} 已被{existing.name}使用"
    return None


def register_new_village(township_code: str, code: str, name: str, *, actor=None, **fields) -> Village:
    """A village that is not yet in the area tree: its area under an existing 乡镇/街道, then its
    registration, in one transaction (the admin's 新建村社; the import does the same per row)."""
    require_write(actor)
    township = Area.get_or_none(Area.code == (township_code or "").strip())
    if township is None or township.level != Level.TOWNSHIP:
        raise XfjyError(f"找不到乡镇/街道代码 {township_code}，请填写 9 位的乡镇/街道代码")
    if actor is not None and not covers(actor, township):
        raise XfjyError(f"{township.name}不在您的管辖范围内")
    code, name = (code or "").strip(), (name or "").strip()
    problem = village_code_problem(code, township)
    if problem:
        raise XfjyError(problem)
    if not name or len(name) > 60:
        raise XfjyError("村社名称不能为空，且不超过 60 个字")
    with write_transaction():
        area = Area.get_or_none(Area.code == code) or add_village_area(township, code, name)
        fields["full_name"] = (fields.get("full_name") or "").strip() or f"{township.name}{name}"
        return register_village(area.code, actor=actor, **fields)


def check_village(village: Village) -> None:
    """What any new or edited village must satisfy, whichever screen it comes from."""
    area = village.area
    if area.level != Level.VILLAGE:
        raise XfjyError(f"{area.name}（{area.code}）不是村社级区划")
    if village.kind not in Village.KINDS:
        raise XfjyError(f"村社类别「{village.kind}」无效，应为 村、嘎查 或 社区")
    if not (village.full_name or "").strip():
        raise XfjyError("申报村居全称不能为空")
    others = Village.select().where(Village.area == area)
    if village.id is not None:
        others = others.where(Village.id != village.id)
    if others.exists():
        raise XfjyError(f"{area.name}已登记")


def add_township(county: Area, code: str, name: str) -> Area:
    if county.county_id != county.id:
        raise XfjyError(f"{county.name}不是旗县市区")
    return add_area(code, name, Level.TOWNSHIP, county, official=False)


def add_village_area(township: Area, code: str, name: str) -> Area:
    if township.level != Level.TOWNSHIP:
        raise XfjyError(f"{township.name}不是乡镇/街道")
    return add_area(code, name, Level.VILLAGE, township, official=False)


def next_project_code(village: Village) -> str:
    count = Project.select().where(Project.village == village).count()
    return f"XF{village.area.code}-{count + 1:02d}"


def create_project(village: Village, *, name: str, target: int, starts_on: dt.date, ends_on: dt.date,
                   summary: str = "", background: str = "", democratic_decision: str = "", urgent: bool = False,
                   reporting_unit: str = "", reported_on: dt.date | None = None, address: str = "",
                   leader_name: str = "", leader_phone: str = "", code: str | None = None,
                   actor=None) -> tuple[Project, list[str]]:
    """Draft a project on the 附件2 form; returns it with the reviewers' warnings."""
    require_write(actor)
    if actor is not None and not covers(actor, village.area):
        raise XfjyError(f"{village.full_name}不在您的管辖范围内")
    project = Project(
        code=code or next_project_code(village), village=village, name=name.strip(), target=target,
        starts_on=starts_on, ends_on=ends_on, summary=summary, background=background,
        democratic_decision=democratic_decision, urgent=urgent,
        reporting_unit=reporting_unit or f"{village.full_name}委员会", reported_on=reported_on or today(),
        address=address or village.address, leader_name=leader_name or village.leader_name,
        leader_phone=leader_phone or village.leader_phone, created_at=now(), updated_at=now(),
    )
    warnings = check_project(project)
    with write_transaction():
        project.save(force_insert=True)
        audit.record(actor, "create", project, summary=f"新建项目 {project.name}")
    return project, warnings


def check_donation_url(url: str) -> str:
    """The project's page on the donation platform: an https address, or empty."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or "." not in parts.hostname or any(c in url for c in " \"'<>"):
        raise XfjyError("捐赠页面地址应为完整的 https 地址，如 https://gongyi.example.cn/project/12345")
    if len(url) > 256:
        raise XfjyError("捐赠页面地址最多 256 个字符")
    return url
