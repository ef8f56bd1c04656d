"""抽查验收: draws of projects in 验收 (``db.sampling``), their checklists, the evaluations or reasons that tick
them off, and each checklist as XLSX. A draw is seen from its area and above; a 旗县市区 reaches the sampled
projects of its own area from the index, to record their evaluations."""
from __future__ import annotations

import io
import re
import secrets

from flask import flash, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from db import areas, audit, sampling
from db.clock import parse_day, today
from db.errors import XfjyError
from db.evaluations import record_evaluation
from db.jurisdiction import scoped
from db.models import Area, Evaluation, Level, Project, Role, SampleDraw, SampleItem, Village
from db.money import format_fen
from db.totals import totals_by_project
from db.workflow import PROJECT

from ..reports import ITEM_STATES, draw_method, item_state, replay_text, sampling_workbook_bytes
from .base import RoleGuard
from .reports import XLSX
from .workflow import WorkflowView

MAX_PENDING = 200


def _share_bp(text: str) -> int | None:
    """A share typed in percent ("10", "12.5", "12.5%") as basis points; none when left empty."""
    text = text.strip().removesuffix("%").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,9})(?:\.(\d{1,2}))?", text, re.ASCII)
    if match is None:
        raise XfjyError(f"抽查比例「{text}」应为百分数，最多两位小数，如 10 或 12.5")
    return int(match[1]) * 100 + int((match[2] or "").ljust(2, "0"))


def _whole(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,9}", text, re.ASCII):
        raise XfjyError(f"{what}「{text}」应为整数")
    return int(text)


class SamplingView(RoleGuard, BaseView):
    roles = (Role.REGION, Role.PREFECTURE, Role.COUNTY, Role.ADMIN, Role.AUDITOR)

    _get = WorkflowView._get  # a row outside the user's area: 404, as if it did not exist
    _done = WorkflowView._done  # one rule, once per form, in one transaction; its Chinese error flashed

    def _drawable(self) -> list[Area]:
        """The areas the user may draw for: their own, and for the region each 盟市."""
        own = current_user.area
        candidates = [own, *areas.prefectures()] if own.level == Level.REGION else [own]
        return [area for area in candidates if sampling.may_draw(current_user, area)]

    @expose("/")
    def index(self):
        draws = list(scoped(SampleDraw.select(SampleDraw, Area).join(Area), current_user)
                     .order_by(SampleDraw.drawn_at.desc(), SampleDraw.id.desc()))
        seen = scoped(SampleDraw.select(SampleDraw.id), current_user)
        pending = list(scoped(SampleItem.select(SampleItem, Project, Village, Area).join(Project).join(Village)
                              .join(Area), current_user)
                       .where(SampleItem.resolved_at.is_null() & SampleItem.draw.not_in(seen))
                       .order_by(SampleItem.draw.desc(), SampleItem.position).limit(MAX_PENDING))
        return self.render("admin/sampling_index.html", draws=draws, coverage={d.id: sampling.coverage(d) for d in draws},
                           method=draw_method, drawable=self._drawable(), pending=pending, results=Evaluation.RESULTS,
                           evaluable={item.id for item in pending
                                      if sampling.may_resolve(current_user, item, evaluated=True)},
                           today=today())

    @expose("/draw", methods=("POST",))
    def new_draw(self):
        form = request.form
        area = scoped(Area.select(), current_user).where(Area.code == form.get("area", "").strip()).first()
        if area is None:
            flash("所选抽查范围不存在或不在您的管辖范围内", "error")
            return redirect(url_for(".index"))
        sample = self._done(lambda: sampling.draw(
            area, share_bp=_share_bp(form.get("share", "")), count=_whole(form.get("count", ""), "抽查数量"),
            weighted=form.get("weighted") == "1", seed=form.get("seed", "").strip() or secrets.token_hex(8),
            note=form.get("note", ""), actor=current_user),
            lambda s: f"已从 {s.population_size} 个项目中抽取 {s.items.count()} 个，清单如下")
        return redirect(url_for(".draw", draw_id=sample.id) if sample else url_for(".index"))

    def _checklist(self, sample: SampleDraw) -> dict:
        items = list(sampling.checklist(sample))
        raised = {pid: t.raised for pid, t in totals_by_project([i.project_id for i in items]).items()} if items else {}
        return dict(items=items, raised=raised, coverage=sampling.coverage(sample),
                    replay=replay_text(sampling.replay(sample), items))

    @expose("/<int:draw_id>")
    def draw(self, draw_id):
        sample = self._get(SampleDraw, draw_id)
        facts = self._checklist(sample)
        return self.render("admin/sampling_draw.html", sample=sample, **facts, method=draw_method, fmt=format_fen,
                           results=Evaluation.RESULTS, states=ITEM_STATES, state=item_state, label=PROJECT.label,
                           may_resolve=lambda item, evaluated: sampling.may_resolve(current_user, item,
                                                                                    evaluated=evaluated),
                           today=today())

    @expose("/<int:draw_id>.xlsx")
    def export(self, draw_id):
        sample = self._get(SampleDraw, draw_id)
        facts = self._checklist(sample)
        data = sampling_workbook_bytes(sample, facts.pop("items"), by=f"{current_user}（{current_user.username}）",
                                       **facts)
        name = f"抽查验收-{sample.area.name}-{sample.drawn_at:%Y%m%d}-{sample.id}.xlsx"
        audit.record(current_user, "export", table="sample_draw", object_id=sample.id, summary=f"下载 {name}")
        return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)

    @expose("/item/<int:item_id>/evaluation", methods=("POST",))
    def evaluate(self, item_id):
        """The 验收评估 and the tick on the checklist, in one transaction: both or neither."""
        item = self._get(SampleItem, item_id)
        form = request.form

        def record():
            evaluation = record_evaluation(
                item.project, result=form.get("result", ""), evaluated_on=parse_day(form.get("evaluated_on", ""), "评估日期"),
                unit=form.get("unit", "").strip(), evaluator=form.get("evaluator", "").strip(),
                score=_whole(form.get("score", ""), "评分"), notes=form.get("notes", "").strip(), actor=current_user)
            return sampling.resolve(item, evaluation=evaluation, actor=current_user)

        self._done(record, lambda done: f"「{done.project.name}」的验收评估已登记，抽查清单已勾销")
        return redirect(self._back(item))

    @expose("/item/<int:item_id>/reason", methods=("POST",))
    def reason(self, item_id):
        item = self._get(SampleItem, item_id)
        self._done(lambda: sampling.resolve(item, reason=request.form.get("reason", ""), actor=current_user),
                   lambda done: f"已记录「{done.project.name}」未评估的原因")
        return redirect(self._back(item))

    def _back(self, item: SampleItem) -> str:
        """The draw's page if the user sees it, else the index where their county's items wait."""
        if scoped(SampleDraw.select(), current_user).where(SampleDraw.id == item.draw_id).exists():
            return url_for(".draw", draw_id=item.draw_id) + f"#item-{item.id}"
        return url_for(".index")
