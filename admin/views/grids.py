"""One declarative grid per table."""
from __future__ import annotations

from flask import flash, g, request, url_for
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional
from wtforms.widgets import HiddenInput

from db import donations, matching
from db.errors import XfjyError
from db.evaluations import check_evaluation
from db.models import (
    AuditLog,
    Batch,
    Disclosure,
    Donation,
    Entry,
    Evaluation,
    Expenditure,
    FundSpending,
    ImportRun,
    MatchingRule,
    Project,
    Role,
    ServiceRecord,
    User,
    Village,
    Volunteer,
)
from db.money import fen_to_text
from db.totals import Totals, totals_by_project
from db.users import check_email, create_user, hash_password
from db.villages import check_donation_url, check_village, next_project_code, register_new_village
from db.workflow import ADMISSION, PROJECT, check_project

from .base import ChoiceFilter, XfjyModelView, project_filters, village_filters


def _choices(mapping):
    return lambda: list(mapping.items())


def _label(mapping):
    return lambda view, context, model, name: mapping.get(getattr(model, name), getattr(model, name))


class VillageView(XfjyModelView):
    column_list = ("full_name", "kind", "area.county", "batch", "admission_state", "fund_established_on", "address",
                   "leader_name", "leader_phone")
    column_labels = {"area.county": "旗县市区"}
    column_searchable_list = (Village.full_name, Village.address)
    column_sortable_list = ("full_name", "admission_state", "fund_established_on", "kind")
    column_editable_list = ("address", "leader_name", "leader_phone")
    column_details_exclude_list = ()
    column_formatters = {"admission_state": _label(ADMISSION.states),
                         "full_name": lambda v, c, m, n: Markup(
                             f'<a href="{url_for("workflow.village", village_id=m.id)}">{escape(m.full_name)}</a>')}
    column_formatters_export = {"admission_state": _label(ADMISSION.states)}
    form_columns = ("area", "full_name", "kind", "address", "leader_name", "leader_phone", "batch")
    form_ajax_refs = {"area": {"fields": ("name", "code"), "page_size": 20}}
    form_choices = {"kind": [(k, k) for k in Village.KINDS]}
    simple_list_pager = False

    def on_model_change(self, form, model, is_created):
        check_village(model)

    def get_create_form(self):
        """A new 村社 is registered under its 乡镇/街道 with its own 12-digit code (db.villages)."""
        class NewVillage(self.form_base_class):
            township = StringField("乡镇/街道代码（9 位）", [DataRequired("请填写乡镇/街道代码")],
                                   description="如 150121100（察素齐镇）")
            code = StringField("村社代码（12 位统计用区划代码）", [DataRequired("请填写村社代码")])
            name = StringField("村社名称", [DataRequired("请填写村社名称")])
            full_name = StringField("申报村居全称（留空按乡镇加村名生成）")
            kind = SelectField("类别", choices=[SelectChoice(k, k) for k in Village.KINDS])
            batch = SelectField("批次", choices=lambda: [SelectChoice(b.code, b.name)  # read per request
                                                        for b in Batch.select().order_by(Batch.ordinal)])
            address = StringField("详细地址")
            leader_name = StringField("负责人")
            leader_phone = StringField("联系电话（不公开）")

        return NewVillage

    def create_model(self, form):
        try:
            village = register_new_village(
                form.township.data, form.code.data, form.name.data, full_name=form.full_name.data or "",
                kind=form.kind.data, batch=form.batch.data, address=form.address.data or "",
                leader_name=form.leader_name.data or "", leader_phone=form.leader_phone.data or "", actor=current_user)
        except XfjyError as exc:
            flash(f"新建失败：{exc}", "error")
            return False
        return village

    @property
    def column_filters(self):
        return [ChoiceFilter(Village.admission_state, "入选状态", options=_choices(ADMISSION.states)),
                *village_filters(Village.area, lambda villages: Village.id.in_(villages))]


def _money_total(view, context, model, name) -> str:
    """A money figure of the project (``db.totals``), read once for every exported row (``_export_data``)."""
    return fen_to_text(getattr(g.project_totals.get(model.id) or Totals(), name))


class ProjectView(XfjyModelView):
    money_columns = ("target",)
    column_list = ("code", "name", "village", "target", "starts_on", "ends_on", "urgent", "state")
    column_searchable_list = (Project.name, Project.code)
    column_sortable_list = ("code", "name", "target", "starts_on", "ends_on", "state")
    column_editable_list = ("urgent", "donation_url")
    column_formatters = {"state": _label(PROJECT.states),
                         "name": lambda v, c, m, n: Markup(
                             f'<a href="{url_for("workflow.project", project_id=m.id)}">{escape(m.name)}</a>')}
    column_export_list = (*column_list, "raised", "spent", "unused")
    column_labels = {"raised": "已筹", "spent": "已支出", "unused": "结余"}  # 结余: what every level still holds
    column_formatters_export = {"state": _label(PROJECT.states), "raised": _money_total, "spent": _money_total,
                                "unused": _money_total}
    form_columns = ("village", "name", "reporting_unit", "reported_on", "address", "leader_name", "leader_phone",
                    "target", "starts_on", "ends_on", "background", "summary", "democratic_decision", "urgent",
                    "donation_url")
    form_ajax_refs = {"village": {"fields": ("full_name",), "page_size": 20}}
    form_widget_args = {"background": {"rows": 4}, "summary": {"rows": 4}, "democratic_decision": {"rows": 3}}

    @property
    def column_filters(self):
        return [ChoiceFilter(Project.state, "状态", options=_choices(PROJECT.states)),
                *village_filters(Project.village, lambda villages: Project.village.in_(villages))]

    def _export_data(self):
        count, data = super()._export_data()
        data = list(data)
        g.project_totals = totals_by_project([m.id for m in data])
        return count, data

    def on_model_change(self, form, model, is_created):
        model.donation_url = check_donation_url(model.donation_url)
        if is_created:
            model.code = next_project_code(model.village)
        else:
            from db.workflow import check_editable

            check_editable(model, [name for name in form._fields if name not in ("csrf_token", "list_form_pk")])
        for warning in check_project(model):
            from flask import flash

            flash(warning, "warning")


class DonationView(XfjyModelView):
    money_columns = ("amount",)
    can_create = False
    can_edit = False
    can_delete = False
    simple_list_pager = True
    column_list = ("txn_no", "project", "donor_name", "name_consent", "amount", "channel", "donated_at", "timing",
                   "message")
    column_searchable_list = (Donation.txn_no, Donation.donor_name)
    column_sortable_list = ("donated_at", "amount", "txn_no")
    column_default_sort = ("donated_at", True)
    column_formatters = {"name_consent": _label(Donation.CONSENTS), "channel": _label(Donation.CHANNELS),
                         "timing": _label(Donation.TIMINGS)}
    column_formatters_export = column_formatters

    @property
    def column_filters(self):
        return [ChoiceFilter(Donation.channel, "渠道", options=_choices(Donation.CHANNELS)),
                *project_filters(Donation.project)]

    @action("refund", "退款", "确定退还所选捐赠？退款会从中华慈善总会专用账户退回捐赠人。")
    def action_refund(self, ids):
        reason = request.form.get("reason", "").strip() or "捐赠人申请退款"
        done = 0
        for donation in self.scoped_ids(ids):
            try:
                donations.refund_donation(donation, reason, current_user)
                done += 1
            except XfjyError as exc:
                flash(f"{donation.txn_no}：{exc}", "error")
        if done:
            flash(f"已退款 {done} 笔", "success")


class EntryView(XfjyModelView):
    """The ledger: read only. A wrong entry is reversed, with a reason, from its detail page."""

    money_columns = ("amount",)
    roles = (Role.COUNTY, Role.PREFECTURE, Role.REGION, Role.ADMIN, Role.TOWNSHIP, Role.VILLAGE, Role.AUDITOR,
             Role.SUPERVISOR)
    can_create = False
    can_edit = False
    can_delete = False
    simple_list_pager = True
    column_list = ("id", "booked_on", "kind", "from_account", "to_account", "amount", "project", "memo", "reverses",
                   "reason")
    column_sortable_list = ("id", "booked_on", "amount")
    column_default_sort = ("id", True)
    column_formatters = {"kind": _label(Entry.KINDS)}
    column_formatters_export = {"kind": _label(Entry.KINDS)}
    details_template = "admin/entry_details.html"

    @property
    def column_filters(self):
        return [ChoiceFilter(Entry.kind, "类型", options=_choices(Entry.KINDS)), *project_filters(Entry.project)]


class ExpenditureView(XfjyModelView):
    money_columns = ("amount",)
    can_create = False
    can_edit = False
    column_list = ("spent_on", "project", "item", "payee", "amount", "voucher_no", "approved_by")
    column_searchable_list = (Expenditure.item, Expenditure.payee, Expenditure.voucher_no)
    column_sortable_list = ("spent_on", "amount")
    column_default_sort = ("spent_on", True)
    column_editable_list = ("approved_by",)

    @property
    def column_filters(self):
        return project_filters(Expenditure.project)


class FundSpendingView(XfjyModelView):
    """Payments out of the villages' 互助基金: recorded on a village's page (db.funds), listed here."""

    money_columns = ("amount",)
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("spent_on", "village", "item", "payee", "amount", "voucher_no", "approved_by", "approved_on")
    column_labels = {"approved_by": "同意的监管会成员", "approved_on": "监管会同意日期"}
    column_searchable_list = (FundSpending.item, FundSpending.payee, FundSpending.voucher_no)
    column_sortable_list = ("spent_on", "amount")
    column_default_sort = ("spent_on", True)
    column_formatters = {"village": lambda v, c, m, n: Markup(
        f'<a href="{url_for("workflow.village", village_id=m.village_id)}#fund">{escape(m.village.full_name)}</a>')}
    column_formatters_export = {"village": lambda v, c, m, n: m.village.full_name}

    @property
    def column_filters(self):
        return village_filters(FundSpending.village, lambda villages: FundSpending.village.in_(villages))


class DisclosureView(XfjyModelView):
    can_edit = False
    can_create = False
    column_list = ("published_on", "project", "title", "period_start", "period_end", "corrects", "correction_note")
    column_searchable_list = (Disclosure.title,)
    column_default_sort = ("published_on", True)

    @property
    def column_filters(self):
        return project_filters(Disclosure.project)


class VolunteerView(XfjyModelView):
    column_list = ("name", "village", "skills", "joined_on")
    column_labels = {"name": "姓名", "phone": "联系电话（不公开）"}
    column_searchable_list = (Volunteer.name, Volunteer.skills)
    column_editable_list = ("skills", "phone")
    form_columns = ("village", "name", "phone", "skills", "joined_on")
    form_ajax_refs = {"village": {"fields": ("full_name",), "page_size": 20}}
    inline_models = ((ServiceRecord, dict(
        form_columns=("id", "served_on", "minutes", "activity"), form_label="服务记录",
        form_args={"id": {"validators": [Optional()], "widget": HiddenInput()},  # empty on a new record
                   "served_on": {"label": "服务日期", "validators": [DataRequired("请填写服务日期")]},
                   "minutes": {"label": "服务时长（分钟）", "validators": [
                       DataRequired("请填写服务时长"), NumberRange(1, 24 * 60, "服务时长应在 1 分钟到 24 小时之间")]},
                   "activity": {"label": "服务内容", "validators": [DataRequired("请填写服务内容")]}})),)

    @property
    def column_filters(self):
        return village_filters(Volunteer.village, lambda villages: Volunteer.village.in_(villages))


class EvaluationView(XfjyModelView):
    roles = (Role.COUNTY, Role.PREFECTURE, Role.REGION, Role.ADMIN, Role.AUDITOR)
    column_list = ("project", "evaluated_on", "unit", "evaluator", "result", "score", "notes")
    column_formatters = {"result": _label(Evaluation.RESULTS)}
    column_formatters_export = {"result": _label(Evaluation.RESULTS)}
    column_editable_list = ("notes",)
    form_columns = ("project", "evaluated_on", "unit", "evaluator", "result", "score", "notes")
    form_ajax_refs = {"project": {"fields": ("name", "code"), "page_size": 20}}
    form_choices = {"result": list(Evaluation.RESULTS.items())}

    @property
    def column_filters(self):
        return [ChoiceFilter(Evaluation.result, "评估结果", options=_choices(Evaluation.RESULTS)),
                *project_filters(Evaluation.project)]

    def on_model_change(self, form, model, is_created):
        check_evaluation(model.project, model.result, model.score, current_user)


class MatchingRuleView(XfjyModelView):
    roles = (Role.COUNTY, Role.PREFECTURE, Role.REGION, Role.ADMIN, Role.AUDITOR)
    money_columns = ("cap",)
    column_list = ("name", "area", "kind", "ratio_bp", "cap", "active")
    column_formatters = {"kind": _label(MatchingRule.KINDS)}
    column_editable_list = ("active", "name")
    form_columns = ("area", "kind", "name", "ratio_bp", "cap", "active")
    form_choices = {"kind": list(MatchingRule.KINDS.items())}
    form_ajax_refs = {"area": {"fields": ("name", "code"), "page_size": 20}}
    column_labels = {"ratio_bp": "比例（万分之一，1000 即 10%）", "cap": "每村上限", "area": "慈善总会所在地"}

    def on_model_change(self, form, model, is_created):
        matching.check_rule(model, current_user)


class UserView(XfjyModelView):
    """Accounts are created through ``db.users.create_user`` (role must fit the area's level)."""

    roles = (Role.ADMIN,)
    column_list = ("username", "display_name", "role", "area", "unit", "active", "last_login_at", "locked_until")
    column_searchable_list = (User.username, User.display_name)
    column_editable_list = ("display_name", "unit", "active")
    column_formatters = {"role": _label(Role.NAMES)}
    column_formatters_export = {"role": _label(Role.NAMES)}
    column_exclude_list = ("password_hash",)
    column_details_exclude_list = ("password_hash",)
    column_export_exclude_list = ("password_hash",)
    form_columns = ("display_name", "unit", "email", "active")
    form_extra_fields = {"password": PasswordField("新密码（不少于 10 位，不能全是数字或包含用户名；留空则不修改）")}

    @property
    def column_filters(self):
        return [ChoiceFilter(User.role, "角色", options=_choices(Role.NAMES))]


    def get_create_form(self):
        class NewUser(self.form_base_class):
            username = StringField("用户名", [DataRequired()])
            role = SelectField("角色", choices=[SelectChoice(code, name) for code, name in Role.NAMES.items()])
            area = StringField("区划代码", [DataRequired()], description="如 150121（土默特左旗）")
            display_name = StringField("姓名")
            unit = StringField("单位（留空按区划生成）")
            password = PasswordField("初始密码（不少于 10 位，不能全是数字或包含用户名）", [DataRequired()])

        return NewUser

    def create_model(self, form):
        try:
            user = create_user(form.username.data, form.password.data, form.role.data, form.area.data,
                               display_name=form.display_name.data or "", unit=form.unit.data or "", by=current_user)
        except XfjyError as exc:
            flash(f"新建失败：{exc}", "error")
            return False
        return user

    def on_model_change(self, form, model, is_created):
        model.email = check_email(model.email)
        password = getattr(form, "password", None)
        if password is not None and password.data:
            model.password_hash = hash_password(password.data, model.username)


class AuditLogView(XfjyModelView):
    can_create = False
    can_edit = False
    can_delete = False
    simple_list_pager = True
    column_list = ("at", "username", "action", "table", "object_id", "summary")
    column_searchable_list = (AuditLog.summary, AuditLog.username)
    column_default_sort = ("at", True)
    column_labels = {"summary": "摘要"}

    @property
    def column_filters(self):
        return [ChoiceFilter(AuditLog.action, "操作", options=lambda: [
            (a, a) for a in ("create", "update", "delete", "transition", "post", "import", "login", "login_failed",
                             "view", "export")]),
            ChoiceFilter(AuditLog.table, "数据表", options=lambda: [(t, t) for t in (
                "village", "project", "donation", "entry", "expenditure", "disclosure", "users")]),
            AuditLog.at, AuditLog.username]


class ImportRunView(XfjyModelView):
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("at", "filename", "kind", "added", "skipped", "user")


VIEWS = [
    (VillageView, Village, "村社"), (ProjectView, Project, "项目"), (DonationView, Donation, "捐赠"),
    (EntryView, Entry, "资金台账"), (ExpenditureView, Expenditure, "支出"),
    (FundSpendingView, FundSpending, "互助基金支出"), (DisclosureView, Disclosure, "公示"),
    (MatchingRuleView, MatchingRule, "配捐规则"), (VolunteerView, Volunteer, "志愿者"),
    (EvaluationView, Evaluation, "验收评估"), (ImportRunView, ImportRun, "导入记录"), (UserView, User, "用户"),
    (AuditLogView, AuditLog, "操作日志"),
]
