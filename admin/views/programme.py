"""工程进度: each 盟市's four 实施步骤 per phase (``db.milestones``): the board, one step's page with its
documents, training records and review, and the region's due dates."""
from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from db import milestones
from db.areas import get_area
from db.clock import today
from db.errors import XfjyError
from db.models import Batch, Level, MilestoneReview, Role

from .workflow import WorkflowView, _checked_uploads, _date

STATUS_BADGES = {"not_started": "secondary", "in_progress": "info", "done": "success", "overdue": "danger"}


def _batch(code: str | None) -> Batch:
    if code:
        found = Batch.get_or_none(Batch.code == code)
        if found is None:
            abort(404)
        return found
    return milestones.current_batch()


class ProgrammeView(BaseView):
    """Seen at the region's and the 盟市-level units' level (read-only users there too); a unit sees its own row."""

    def is_accessible(self):
        return current_user.is_authenticated and (current_user.role == Role.ADMIN
                                                  or current_user.area.level <= Level.PREFECTURE)

    def inaccessible_callback(self, name, **kwargs):
        if current_user.is_authenticated:  # a 旗县市区 or a village: not theirs to see
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path))

    _done = WorkflowView._done

    def _root(self):
        return current_app.config["ATTACHMENTS_DIR"]

    def _within(self):
        return None if current_user.role == Role.ADMIN else current_user.area

    @expose("/")
    def index(self):
        batch = _batch(request.args.get("batch"))
        return self.render("admin/programme.html", batch=batch, batches=Batch.select().order_by(Batch.ordinal),
                           rows=milestones.board(batch, self._within()), steps=milestones.STEPS,
                           numerals=milestones.NUMERALS, dues=milestones.dues(batch), badges=STATUS_BADGES,
                           can_set_due=current_user.role == Role.REGION, today=today())

    @expose("/due", methods=("POST",))
    def due(self):
        batch = _batch(request.form.get("batch"))
        step = request.form.get("step", type=int)
        self._done(lambda: milestones.set_due(batch, step, _date(request.form.get("due_on", ""), "完成时间"),
                                              current_user), "完成时间已更新")
        return redirect(url_for(".index", batch=batch.code))

    def _unit(self, code: str):
        try:
            unit = get_area(code)
        except XfjyError:
            abort(404)
        if unit.level != Level.PREFECTURE or not milestones.may_see(current_user, unit):
            abort(404)
        return unit

    @expose("/<batch_code>/<unit_code>/<int:step>")
    def step(self, batch_code, unit_code, step):
        batch, unit = _batch(batch_code), self._unit(unit_code)
        if step not in milestones.STEPS:
            abort(404)
        cell = next(c for c in milestones.board(batch, unit)[0].cells if c.step == step)
        milestone = milestones.get(batch, unit, step)
        launches = milestones.village_launches(batch, unit) if step == milestones.LAUNCH else []
        return self.render(
            "admin/milestone.html", batch=batch, unit=unit, step=step, cell=cell, milestone=milestone,
            name=milestones.STEPS[step], numeral=milestones.NUMERALS[step], badges=STATUS_BADGES,
            documents=list(milestones.documents(milestone)) if milestone else [],
            trainings=list(milestones.trainings(milestone)) if milestone else [],
            reviews=list(milestone.reviews.order_by(MilestoneReview.at, MilestoneReview.id)) if milestone else [],
            machine=milestones.MILESTONE, document_name=milestones.DOCUMENTS.get(step, ""),
            steps=milestones.MILESTONE.available(milestone.state if milestone else "draft", current_user),
            can_record=milestones.may_record(current_user, unit) and step in milestones.RECORDED
            and (milestone is None or milestone.state in milestones.EDITABLE),
            may_review=milestones.may_review(current_user, unit), launches=launches, today=today())

    def _milestone(self, batch_code, unit_code, step, create: bool = False):
        batch, unit = _batch(batch_code), self._unit(unit_code)
        milestone = milestones.get(batch, unit, step)
        if milestone is None and not create:
            abort(404)
        return batch, unit, milestone

    def _back(self, batch, unit, step):
        return redirect(url_for(".step", batch_code=batch.code, unit_code=unit.code, step=step))

    @expose("/<batch_code>/<unit_code>/<int:step>/record", methods=("POST",))
    def record(self, batch_code, unit_code, step):
        batch, unit, _ = self._milestone(batch_code, unit_code, step, create=True)
        form = request.form
        files = [f for f in request.files.getlist("documents") if f and f.filename]

        self._done(lambda: milestones.record(
            batch, unit, step, done_on=_date(form["done_on"], "完成日期") if form.get("done_on") else None,
            summary=form.get("summary", ""), public=form.get("public") == "1", actor=current_user,
            root=self._root(), documents=[(f.filename, f.read()) for f in files]), "已保存")
        return self._back(batch, unit, step)

    @expose("/<batch_code>/<unit_code>/<int:step>/training", methods=("POST",))
    def training(self, batch_code, unit_code, step):
        batch, unit, milestone = self._milestone(batch_code, unit_code, step)
        form = request.form
        files = [f for f in request.files.getlist("photos") if f and f.filename]

        def add():
            try:
                participants = int(form.get("participants", "").strip())
            except ValueError as exc:
                raise XfjyError("参训人数应为正整数") from exc
            return milestones.add_training(
                self._root(), milestone, held_on=_date(form.get("held_on", ""), "培训日期"), place=form.get("place", ""),
                trainers=form.get("trainers", ""), participants=participants, notes=form.get("notes", ""),
                photos=_checked_uploads(files), actor=current_user)

        self._done(add, "培训记录已登记")
        return self._back(batch, unit, step)

    @expose("/<batch_code>/<unit_code>/<int:step>/advance", methods=("POST",))
    def advance(self, batch_code, unit_code, step):
        batch, unit, milestone = self._milestone(batch_code, unit_code, step)
        action = request.form.get("action", "")
        self._done(lambda: milestones.advance(milestone, action, current_user, request.form.get("opinion", ""),
                                              expected_state=request.form.get("from_state") or None), "已办理")
        return self._back(batch, unit, step)

