"""The daily reminder digest: for one user, what waits for them, as the plain-text body of an e-mail.

The rules are the to-do list's (``db.todo``: reviews and admissions waiting at the user's level;
``db.milestones.due_for``: a 盟市's 实施步骤 due or overdue, the region's waiting for its review;
``db.disbursement.waiting_hops``: money to pass down) and the disclosure calendar's
(``db.deadlines.pending_for``: overdue windows, and the next ones, of which the digest keeps those due
within ``DUE_WITHIN`` days). Nothing here sends anything: ``admin/mail.py`` does, and it gives the
address of each page (``link``), since ``db`` knows no URL.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from .clock import today
from .deadlines import pending_for
from .disbursement import waiting_hops
from .milestones import NUMERALS as STEP_NUMERALS
from .milestones import STEPS, due_for
from .models import Project, Role, Village
from .money import format_fen
from .todo import projects_waiting, villages_waiting
from .workflow import ADMISSION, PROJECT

DUE_WITHIN = 7  # days: a disclosure due this soon is in the digest

Link = Callable[[str, int], str]  # ("project" | "village" | "milestone", id) -> the admin page's address


@dataclass(frozen=True)
class Item:
    kind: str    # "project", "village" or "milestone" (the 工程进度 board): which admin page it opens
    id: int
    name: str
    where: str   # the village (for a project) or the county (for a village)
    detail: str  # the state, the amount to pass down, or the disclosure window and its due date


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]
    amount: int | None = None  # money concerned, where there is any


@dataclass(frozen=True)
class Digest:
    user_name: str
    on: dt.date
    sections: tuple[Section, ...]  # the non-empty ones only

    @property
    def count(self) -> int:
        return sum(len(section.items) for section in self.sections)

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def subject(self) -> str:
        return f"幸福家园工作台：您有 {self.count} 项待办（{self.on:%Y-%m-%d}）"


def _project_item(project: Project, detail: str) -> Item:
    return Item("project", project.id, project.name, project.village.full_name, detail)


def digest_for(user, on: dt.date | None = None) -> Digest:
    """What waits for ``user`` on ``on`` (default today), within their area."""
    on = on or today()
    sections = []
    reviews = [_project_item(p, PROJECT.label(p.state))
               for p in projects_waiting(user).order_by(Project.ends_on, Project.id)]
    sections.append(Section("等待我审核办理的项目", tuple(reviews)))
    admissions = [Item("village", v.id, v.full_name, v.area.county.name if v.area.county_id else "",
                       ADMISSION.label(v.admission_state))
                  for v in villages_waiting(user).order_by(Village.id)]
    sections.append(Section("等待我办理的村社入选", tuple(admissions)))
    hops = waiting_hops(user)
    sections.append(Section("待拨付：善款已到本级，待向下一级拨付",
                            tuple(_project_item(p, f"待拨付 {format_fen(amount)}") for p, amount in hops),
                            sum(amount for _, amount in hops)))
    overdue, soon = pending_for(user, on)
    soon = [(pid, d) for pid, d in soon if d.due <= on + dt.timedelta(days=DUE_WITHIN)]
    projects = {p.id: p for p in Project.select().where(Project.id.in_([pid for pid, _ in overdue + soon] or [0]))}
    sections.append(Section("公示已逾期（慈善法第七十九条）",
                            tuple(_project_item(projects[pid], f"{d.label}：{d.describe(on)}") for pid, d in overdue)))
    sections.append(Section(f"{DUE_WITHIN} 天内须公示",
                            tuple(_project_item(projects[pid], f"{d.label}：{d.describe(on)}") for pid, d in soon)))
    steps = [d for d in due_for(user, on) if d.waiting_review or user.role != Role.REGION]
    sections.append(Section("实施步骤：待审核、30 天内到期或已逾期", tuple(
        Item("milestone", 0, f"{d.batch.name}（{STEP_NUMERALS[d.cell.step]}）{STEPS[d.cell.step]}", d.unit.name,
             "待自治区审核" if d.waiting_review else d.cell.describe()) for d in steps)))
    return Digest(str(user), on, tuple(s for s in sections if s.items))


NUMERALS = "一二三四五六七八九十"


def digest_body(digest: Digest, link: Link, desk: str) -> str:
    """The e-mail's plain text: a count per section and a line per item with its admin address;
    ``desk`` is the address of the 工作台."""
    lines = [f"{digest.user_name}，您好：", "",
             f"截至 {digest.on:%Y-%m-%d}，您在幸福家园工作台共有 {digest.count} 项待办："]
    for section in digest.sections:
        lines.append("  " + f"{section.title}：{len(section.items)} 项"
                     + (f"，共 {format_fen(section.amount)}" if section.amount else ""))
    for number, section in zip(NUMERALS, digest.sections):
        lines += ["", f"{number}、{section.title}（{len(section.items)} 项）"]
        for item in section.items:
            lines.append(f"  · {item.name}（{item.where}）：{item.detail}")
            lines.append(f"    {link(item.kind, item.id)}")
    lines += ["", f"请登录工作台办理：{desk}", "", "本邮件由系统每日自动发送，请勿直接回复。"]
    return "\n".join(lines) + "\n"
