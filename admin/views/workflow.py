"""Workflows as buttons: each step calls one rule in ``db/`` and shows its Chinese message."""
from __future__ import annotations

import datetime as dt
import io

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from markupsafe import Markup

from db import (
    areas,
    attachments,
    audit_pack,
    deadlines,
    disbursement,
    disclosures,
    forms,
    funds,
    ledger,
    matching,
    settlement,
    spending,
    submissions,
    supervision,
    workflow,
)
from db.clock import today
from db.database import write_transaction
from db.errors import JurisdictionError, MoneyError, XfjyError
from db.jurisdiction import get_scoped, scoped
from db.models import (
    Attachment,
    Disclosure,
    Entry,
    Expenditure,
    FundSpending,
    MatchingRule,
    Project,
    Role,
    SupervisionOpinion,
    SupervisoryMember,
    Village,
)
from db.money import format_fen, parse_fen
from db.text import render_markdown
from db.totals import project_totals
from db.volunteers import team_size


def _checked_uploads(files) -> list[tuple[str, bytes]]:
    """Every file's type and size checked before anything is written, so a bad one writes nothing."""
    uploads = [(f.filename, f.read()) for f in files]
    for name, data in uploads:
        attachments.sniff(data, name)
    return uploads


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (AttributeError, ValueError) as exc:
        raise XfjyError(f"{name}格式不正确，应为 2024-03-05") from exc


def render_print_form(project: Project, as_of: dt.date | None = None) -> str:
    """The 附件2 form as 打印申报表 shows it; the audit pack (``xfjy audit-pack``) holds the same page."""
    return render_template("admin/print_form.html", **forms.print_form_context(project, as_of))


class WorkflowView(BaseView):
    """Pages for one project or village, with the steps the signed-in user may take."""

    def is_visible(self):
        return False

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))

    @expose("/")
    def index(self):
        return redirect(url_for("admin.index"))

    def _get(self, model, pk):
        try:
            return get_scoped(model, current_user, pk)
        except JurisdictionError:
            abort(404)

    def _done(self, fn, success):
        """Run one rule, once per form (its token is claimed in the same transaction); flash its Chinese
        error, or ``success`` (a text, or made from the result)."""
        try:
            with write_transaction():
                submissions.claim(request.form.get("once"), current_user)
                result = fn()
        except (XfjyError, MoneyError) as exc:
            flash(str(exc), "error")
            return None
        flash(success(result) if callable(success) else success, "success")
        return result

    # -- project --------------------------------------------------------------------------------
    @expose("/project/<int:project_id>")
    def project(self, project_id):
        project = self._get(Project, project_id)
        steps = workflow.PROJECT.available(project.state, current_user)
        hop = None
        if project.state in workflow.DISBURSING_STATES:
            try:
                hop = disbursement.next_hop(project, current_user)
            except XfjyError:
                hop = None
        rules = [matching.matching_preview(rule, project) for rule in matching.rules_of(current_user)]
        settle = settlement.settlement_amount(project)
        return self.render(
            "admin/project.html", project=project, steps=steps, machine=workflow.PROJECT, totals=project_totals(project),
            reviews=project.reviews.order_by(project.reviews.model.at, project.reviews.model.id), hop=hop, rules=rules,
            can_settle=settle > 0 and not settlement.settle_refusal(project, current_user), settle=settle,
            expenditures=project.expenditures.order_by(Expenditure.spent_on), is_cancelled=spending.is_cancelled,
            disclosures=project.disclosures.order_by(Disclosure.published_on, Disclosure.id),
            entries=project.entries.order_by(Entry.id), fmt=format_fen, markdown=lambda t: Markup(render_markdown(t)),
            can_spend=spending.may_record(current_user, project),
            warnings=workflow.check_project(project), today=today(),
            calendar=deadlines.project_calendar(project), status_labels=deadlines.STATUS_LABELS,
            can_disclose=disclosures.may_publish(current_user, project),
            can_audit=audit_pack.may_download(current_user),
            opinions=list(supervision.opinions_of(project)), can_opine=supervision.may_opine(current_user, project),
        )

    @expose("/project/<int:project_id>/step", methods=("POST",))
    def project_step(self, project_id):
        project = self._get(Project, project_id)
        action = request.form.get("action", "")
        self._done(lambda: workflow.advance_project(project, action, current_user, request.form.get("opinion", ""),
                                                    expected_state=request.form.get("from_state") or None,
                                                    settle=settlement.settle_remaining), _stepped)
        return redirect(url_for(".project", project_id=project.id))

    @expose("/project/<int:project_id>/disburse", methods=("POST",))
    def disburse(self, project_id):
        project = self._get(Project, project_id)
        expected = request.form.get("expected", type=int)
        self._done(lambda: disbursement.disburse(project, current_user, expected, source=request.form.get("source", type=int)),
                   "已拨付并记账")
        return redirect(url_for(".project", project_id=project.id))

    @expose("/project/<int:project_id>/match", methods=("POST",))
    def match(self, project_id):
        project = self._get(Project, project_id)
        rule = MatchingRule.get_or_none(MatchingRule.id == request.form.get("rule", type=int))
        if rule is None:
            abort(404)
        expected = request.form.get("expected", type=int)
        self._done(lambda: matching.post_matching(rule, project, current_user, expected), "已按规则记账")
        return redirect(url_for(".project", project_id=project.id))

    @expose("/project/<int:project_id>/settle", methods=("POST",))
    def settle(self, project_id):
        project = self._get(Project, project_id)
        self._done(lambda: settlement.settle_to_fund(project, current_user), "余款已转入村社互助基金")
        return redirect(url_for(".project", project_id=project.id))

    @expose("/project/<int:project_id>/expenditure", methods=("POST",))
    def expenditure(self, project_id):
        project = self._get(Project, project_id)
        form = request.form
        files = [f for f in request.files.getlist("receipts") if f and f.filename]

        def record():
            uploads = _checked_uploads(files)
            with write_transaction():
                line = spending.record_expenditure(
                    project, spent_on=_date(form.get("spent_on", ""), "支出日期"), item=form.get("item", ""),
                    payee=form.get("payee", ""), amount=parse_fen(form.get("amount", ""), allow_zero=False),
                    voucher_no=form.get("voucher_no", ""), approved_by=form.get("approved_by", ""), actor=current_user)
                for name, data in uploads:
                    attachments.store(self._root(), data, name, expenditure=line, actor=current_user)
            return line

        self._done(record, "支出已登记并记账")
        return redirect(url_for(".project", project_id=project.id))

    @expose("/project/<int:project_id>/disclosure", methods=("POST",))
    def disclosure(self, project_id):
        project = self._get(Project, project_id)
        form = request.form
        files = [f for f in request.files.getlist("files") if f and f.filename]

        def publish():
            uploads = _checked_uploads(files)
            start = _date(form["period_start"], "公示期间") if form.get("period_start") else None
            end = _date(form["period_end"], "公示期间") if form.get("period_end") else None
            with write_transaction():
                post = disclosures.publish(project, form.get("title", ""), form.get("body", ""), period_start=start,
                                           period_end=end, actor=current_user)
                for name, data in uploads:
                    attachments.store(self._root(), data, name, disclosure=post, actor=current_user)
            return post

        self._done(publish, "公示已发布")
        return redirect(url_for(".project", project_id=project.id))

    @expose("/project/<int:project_id>/opinion", methods=("POST",))
    def opinion(self, project_id):
        project = self._get(Project, project_id)
        form = request.form
        corrects = form.get("corrects", type=int)
        earlier = self._get(SupervisionOpinion, corrects) if corrects else None
        self._done(lambda: supervision.give_opinion(
            project, form.get("text", ""), given_on=_date(form.get("given_on", ""), "意见日期"),
            public=form.get("public") == "1", actor=current_user, corrects=earlier), "监督意见已记录")
        return redirect(url_for(".project", project_id=project.id) + "#opinions")

    @expose("/disclosure/<int:disclosure_id>/correct", methods=("POST",))
    def correct(self, disclosure_id):
        original = self._get(Disclosure, disclosure_id)
        self._done(lambda: disclosures.correct(original, request.form.get("body", ""), request.form.get("note", ""),
                                               actor=current_user), "更正已发布，原公示保留")
        return redirect(url_for(".project", project_id=original.project_id))

    @expose("/entry/<int:entry_id>/reverse", methods=("POST",))
    def reverse(self, entry_id):
        entry = self._get(Entry, entry_id)
        if not ledger.may_reverse(current_user):
            abort(403)
        self._done(lambda: ledger.reverse(entry, request.form.get("reason", ""), current_user), "已冲正")
        spent = FundSpending.get_or_none(FundSpending.entry == entry.id)
        back = url_for(".project", project_id=entry.project_id) if entry.project_id else \
            url_for(".village", village_id=spent.village_id) + "#fund" if spent else url_for("entry.index_view")
        return redirect(back)

    @expose("/attachment/<int:attachment_id>")
    def attachment(self, attachment_id):
        item = self._get(Attachment, attachment_id)
        path = attachments.path_for(self._root(), item.sha256)
        if not path.exists():
            abort(404)
        return send_file(path, mimetype=item.mime, download_name=item.filename, as_attachment=True)  # sandboxed by create_app

    @expose("/project/<int:project_id>/print")
    def print_form(self, project_id):
        return render_print_form(self._get(Project, project_id))

    @expose("/project/<int:project_id>/audit-pack")
    def audit_pack(self, project_id):
        project = self._get(Project, project_id)
        if not audit_pack.may_download(current_user):
            abort(403)
        pack = audit_pack.build_for(current_user, project, self._root(), render_form=render_print_form)
        return send_file(io.BytesIO(pack.data), mimetype="application/zip", as_attachment=True,
                         download_name=f"{pack.folder}.zip", max_age=0)

    # -- village --------------------------------------------------------------------------------
    @expose("/village/<int:village_id>")
    def village(self, village_id):
        village = self._get(Village, village_id)
        return self.render(
            "admin/village.html", village=village, machine=workflow.ADMISSION,
            steps=workflow.ADMISSION.available(village.admission_state, current_user),
            history=village.admission_steps.order_by(village.admission_steps.model.at),
            supervisors=village.supervisors.order_by(SupervisoryMember.id), team=team_size(village),
            projects=scoped(Project.select(), current_user).where(Project.village == village), fmt=format_fen,
            fund=funds.balance(village), min_supervisors=workflow.MIN_SUPERVISORS,
            project_states=workflow.PROJECT.states, statement=funds.statement(funds.flows_of(village)),
            sources=funds.SOURCES, is_cancelled=funds.is_cancelled,
            fund_lines=village.fund_spending.order_by(FundSpending.spent_on, FundSpending.id),
            can_spend=funds.may_spend(village, current_user),
        )

    @expose("/village/<int:village_id>/fund-spending", methods=("POST",))
    def fund_spending(self, village_id):
        village = self._get(Village, village_id)
        form = request.form
        files = [f for f in request.files.getlist("receipts") if f and f.filename]

        def record():
            uploads = _checked_uploads(files)
            with write_transaction():
                line = funds.spend(
                    village, spent_on=_date(form.get("spent_on", ""), "支出日期"), item=form.get("item", ""),
                    payee=form.get("payee", ""), amount=parse_fen(form.get("amount", ""), allow_zero=False),
                    voucher_no=form.get("voucher_no", ""), approved_by=form.get("approved_by", ""),
                    approved_on=_date(form.get("approved_on", ""), "监管会同意日期"), actor=current_user)
                for name, data in uploads:
                    attachments.store(self._root(), data, name, fund_spending=line, actor=current_user)
            return line

        self._done(record, "互助基金支出已登记并记账")
        return redirect(url_for(".village", village_id=village.id) + "#fund")

    @expose("/village/<int:village_id>/step", methods=("POST",))
    def village_step(self, village_id):
        village = self._get(Village, village_id)
        self._done(lambda: workflow.advance_village(village, request.form.get("action", ""), current_user,
                                                    request.form.get("opinion", "")), "已办理")
        return redirect(url_for(".village", village_id=village.id))

    @expose("/village/<int:village_id>/supervisor", methods=("POST",))
    def supervisor(self, village_id):
        village = self._get(Village, village_id)
        self._done(lambda: workflow.add_supervisor(village, request.form.get("name", ""),
                                                   request.form.get("title", "委员"), current_user,
                                                   phone=request.form.get("phone", "")), "已添加监管会成员")
        return redirect(url_for(".village", village_id=village.id))

    # -- a federation's 配捐 / 以奖代补 pool -------------------------------------------------------
    @expose("/pool", methods=("GET", "POST"))
    def pool(self):
        if current_user.role not in (Role.REGION, Role.PREFECTURE, Role.COUNTY):
            abort(403)
        area = current_user.area
        if request.method == "POST":
            form = request.form
            source = form.get("source_other", "").strip() if form.get("source") == "其他" else form.get("source", "")
            detail = form.get("detail", "").strip()
            self._done(lambda: matching.fund_pool(
                area, parse_fen(form.get("amount", ""), allow_zero=False),
                f"{source}（{detail}）" if detail and source else source or detail, current_user,
                on=_date(form["on"], "到账日期") if form.get("on") else None), "已入账")
            return redirect(url_for(".pool"))
        pool = ledger.pool_account(area)
        rules = MatchingRule.select().where(MatchingRule.area == area)
        return self.render("admin/pool.html", area=area, balance=ledger.balance(pool), fmt=format_fen,
                           entries=matching.pool_entries(area).limit(200), sources=matching.POOL_SOURCES, rules=rules,
                           pool=pool, kinds=Entry.KINDS, federation=areas.federation_name(area))

    @expose("/todo")
    def todo(self):
        kind = request.args.get("kind")
        if kind in ("disclosure_overdue", "disclosure_soon"):
            rows = list(_deadline_rows(kind))
        elif kind == "disburse":
            rows = list(_waiting_rows())
        else:
            kind = "village" if kind == "village" else "project"
            machine = workflow.ADMISSION if kind == "village" else workflow.PROJECT
            states = [s for s in request.args.get("states", "").split(",") if s in machine.states]
            rows = list(_todo_rows(kind, states))
        return self.render("admin/todo.html", rows=rows[:200], more=len(rows) > 200,
                           label=request.args.get("label", "待办")[:40])

    def _root(self):
        return current_app.config["ATTACHMENTS_DIR"]


def _stepped(step) -> str:
    """The message after a step; closing says what the settlement to the 互助基金 actually moved."""
    if step.to_state != "closed":
        return "已办理"
    moved = sum(e.amount for e in getattr(step, "settled", []))
    return f"已结项，结余 {format_fen(moved)} 已转入村社互助基金" if moved else "已结项，没有结余"


def _waiting_rows():
    """Projects whose money waits at the user's level to be passed down, with the amount."""
    for project, amount in disbursement.waiting_hops(current_user)[:201]:
        yield dict(url=url_for("workflow.project", project_id=project.id), name=project.name,
                   where=project.village.full_name, state=f"待拨付 {format_fen(amount)}",
                   date=workflow.PROJECT.label(project.state))


def _deadline_rows(kind: str):
    """Disclosures the law asks for (db.deadlines), overdue or due within 30 days, in the user's area."""
    overdue, soon = deadlines.pending_for(current_user)
    items = overdue if kind == "disclosure_overdue" else soon
    shown = items[:201]
    named = {pid: (name, village) for pid, name, village in Project.select(Project.id, Project.name, Village.full_name)
             .join(Village).where(Project.id.in_([i for i, _ in shown] or [0])).tuples()}
    for pid, deadline in shown:
        yield dict(url=url_for("workflow.project", project_id=pid), name=named[pid][0], where=named[pid][1],
                   state=deadline.label, date=f"{deadline.due:%Y-%m-%d} 截止")


def _todo_rows(kind: str, states: list[str]):
    if kind == "village":
        query = scoped(Village.select(), current_user).where(Village.admission_state.in_(states))
        for village in query.order_by(Village.id).limit(201):
            yield dict(url=url_for("workflow.village", village_id=village.id), name=village.full_name,
                       where=village.area.county.name if village.area.county_id else "",
                       state=workflow.ADMISSION.label(village.admission_state), date=village.created_at.date())
    else:
        query = scoped(Project.select(), current_user).where(Project.state.in_(states))
        for project in query.order_by(Project.ends_on).limit(201):
            yield dict(url=url_for("workflow.project", project_id=project.id), name=project.name,
                       where=project.village.full_name, state=workflow.PROJECT.label(project.state),
                       date=project.ends_on)

