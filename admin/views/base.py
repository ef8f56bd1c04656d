"""The grid every model view is built on: jurisdiction below the view, atomic writes, audit, safe exports.

Views are declarative subclasses; rules come from ``db/`` (scoped queries, deletion blockers,
workflow steps), never from here.
"""
from __future__ import annotations

import logging

from flask import flash, has_request_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.peewee import ModelView
from flask_admin.contrib.peewee.ajax import QueryAjaxModelLoader
from flask_admin.contrib.peewee.filters import BasePeeweeFilter, FilterEqual
from flask_admin.contrib.peewee.form import save_inline
from flask_admin.model import typefmt
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from peewee import ForeignKeyField, IntegerField, IntegrityError, Model
from wtforms import HiddenField

from db import audit, submissions
from db.database import write_transaction
from db.deletion import deletion_blocker
from db.errors import XfjyError
from db.jurisdiction import READ_ONLY, area_of, covers, may_write, require_write, scoped
from db.models import Area, Batch, Level, Project, Role, Village

from ..fields import MoneyField, money, money_export, spreadsheet_safe
from ..labels import LABELS

log = logging.getLogger("xfjy.admin")


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """Foreign-key lookups that only offer rows inside the user's area."""

    def get_one(self, pk):
        return scoped(self.model.select(), current_user).where(self.model._meta.primary_key == pk).first()

    def get_list(self, term, offset=0, limit=DEFAULT_PAGE_SIZE):
        query = scoped(self.model.select(), current_user)
        if term:
            condition = None
            for field in self._cached_fields:
                clause = field ** f"%{term}%"
                condition = clause if condition is None else condition | clause
            query = query.where(condition)
        return list(query.offset(offset).limit(limit))


class AreaFilter(BasePeeweeFilter):
    """Filter by 盟市 or 旗县市区 through the model's own link to a village or area."""

    def __init__(self, column, name, level: int, to_area):
        self.level, self.to_area = level, to_area
        super().__init__(column, name, options=self._choices)

    def _choices(self):
        if not has_request_context():
            return []
        query = Area.select(Area.id, Area.name).where(Area.level == self.level)
        if current_user.is_authenticated and current_user.role != Role.ADMIN:
            ancestors = current_user.area.path.strip("/").split("/")
            query = query.where(Area.path.startswith(current_user.area.path) | Area.code.in_(ancestors))
        return [(str(a.id), a.name) for a in query.order_by(Area.code)]

    def clean(self, value):
        return int(value)

    def apply(self, query, value):
        field = Area.prefecture if self.level == Level.PREFECTURE else Area.county
        return query.where(self.to_area(Area.select(Area.id).where(field == value)))

    def operation(self):
        return "为"


class ChoiceFilter(FilterEqual):
    def operation(self):
        return "为"


def village_filters(link, to_villages):
    """盟市 / 旗县市区 / 批次 filters for a model that reaches villages through ``link``."""
    def by_area(area_ids):
        return to_villages(Village.select(Village.id).where(Village.area.in_(
            Area.select(Area.id).where(Area.prefecture.in_(area_ids) | Area.county.in_(area_ids)))))

    return [
        AreaFilter(link, "盟市", Level.PREFECTURE, by_area),
        AreaFilter(link, "旗县市区", Level.COUNTY, by_area),
        BatchFilter(link, "批次", to_villages),
    ]


class BatchFilter(BasePeeweeFilter):
    def __init__(self, column, name, to_villages):
        self.to_villages = to_villages
        super().__init__(column, name, options=lambda: [(str(b.id), b.name) for b in Batch.select().order_by(
            Batch.ordinal)] if has_request_context() else [])

    def clean(self, value):
        return int(value)

    def apply(self, query, value):
        return query.where(self.to_villages(Village.select(Village.id).where(Village.batch == value)))

    def operation(self):
        return "为"


def project_filters(link):
    return village_filters(link, lambda villages: link.in_(Project.select(Project.id).where(Project.village.in_(villages))))


class RoleGuard:
    """A screen open to the roles in ``roles``: others get 403, signed-out users the login page."""

    roles: tuple[str, ...] = Role.ALL

    def is_accessible(self):
        return current_user.is_authenticated and current_user.role in self.roles

    def inaccessible_callback(self, name, **kwargs):
        if current_user.is_authenticated:
            return "无权访问", 403
        return redirect(url_for("auth.login", next=request.full_path))


def yes_no(view, value, name) -> Markup:
    """A yes/no column says 是 or 否 (Flask-Admin's icon alone has an English title and no name for a screen reader)."""
    icon = "fa-check-circle text-success" if value else "fa-minus-circle text-muted"
    return Markup('<span class="fa {}" aria-hidden="true"></span> {}').format(icon, "是" if value else "否")


def _writes_allowed() -> bool:
    """The signed-in user may write (``db.jurisdiction.may_write``); outside a request (views being
    set up) the grid's own settings hold."""
    return not has_request_context() or not current_user.is_authenticated or may_write(current_user)


class _UnlessReadOnly:
    """A grid's ``can_create`` / ``can_edit`` / ``can_delete``, False for a read-only user (auditor,
    supervisor) whatever the grid declares."""

    def __set_name__(self, owner, name):
        self.name = f"_declared_{name}"

    def __get__(self, view, owner=None):
        declared = getattr(owner if view is None else view, self.name)
        return declared and _writes_allowed()


class XfjyModelView(RoleGuard, ModelView):
    """Declarative grid over one model, confined to the signed-in user's area."""

    can_create = _UnlessReadOnly()
    can_edit = _UnlessReadOnly()
    can_delete = _UnlessReadOnly()
    _declared_can_create = _declared_can_edit = _declared_can_delete = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("can_create", "can_edit", "can_delete"):
            declared = cls.__dict__.get(name)
            if isinstance(declared, bool):  # a grid's declaration becomes the default the guard reads
                setattr(cls, f"_declared_{name}", declared)
                delattr(cls, name)

    form_base_class = FlaskForm
    list_template = "admin/xfjy_list.html"  # the grid scrolls in its own box on a phone
    column_type_formatters = {**typefmt.BASE_FORMATTERS, bool: yes_no}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, bool: yes_no}
    money_columns: tuple[str, ...] = ()
    can_view_details = True
    can_export = True
    export_types = ["csv", "xlsx"]
    export_max_rows = 200_000
    can_set_page_size = True
    page_size = 50
    page_size_options = (20, 50, 100, 500)
    action_disallowed_list = ["delete"]

    def __init__(self, model, *args, **kwargs):
        labels = {**LABELS, **(self.column_labels or {})}
        self.column_labels = labels
        formatters = dict(self.column_formatters or {})
        exports = dict(self.column_formatters_export or {})
        overrides = dict(self.form_overrides or {})
        for name in self.money_columns:
            formatters.setdefault(name, money)
            exports.setdefault(name, money_export)
            overrides.setdefault(name, MoneyField)
        self.column_formatters, self.column_formatters_export = formatters, exports
        self.form_overrides = overrides
        args_ = dict(self.form_args or {})
        for name, label in labels.items():
            args_.setdefault(name, {}).setdefault("label", label)
        self.form_args = args_
        self.form_extra_fields = {**(self.form_extra_fields or {}), "row_version": HiddenField(),
                                  "once": HiddenField(default=submissions.new_token)}
        super().__init__(model, *args, **kwargs)

    def _get_filter_groups(self):
        """Filter choices are read per request (they depend on the user, and the database may not
        exist yet when the app is created)."""
        self._refresh_filters_cache()
        return super()._get_filter_groups()

    def validate_form(self, form):
        """A lookup that names a row the user may not see comes back empty: say so, not "required"."""
        valid = super().validate_form(form)
        for name in getattr(self, "_form_ajax_refs", {}) or {}:
            field = getattr(form, name, None)
            if field is not None and field.raw_data and field.raw_data[0] and field.data is None:
                field.errors = ["所选记录不存在或不在您的管辖范围内，请重新选择"]
                valid = False
        return valid

    def search_placeholder(self):
        return "搜索：" + "、".join(self.column_labels.get(f.name, f.name) for f in self._search_fields or [])

    # -- who may open the view ----------------------------------------------------------------
    def _handle_view(self, name, **kwargs):
        """A read-only user (auditor, supervisor) is sent back from every form and post with the reason;
        an inline edit answers 403 in ``ajax_update`` (after the row is looked up)."""
        refused = super()._handle_view(name, **kwargs)
        if refused is not None or _writes_allowed() or name == "ajax_update":
            return refused
        if request.method != "GET" or name in ("create_view", "edit_view"):
            flash(READ_ONLY, "error")
            return redirect(self.get_url(".index_view"))
        return None

    def is_editable(self, name):
        return _writes_allowed() and super().is_editable(name)

    def is_action_allowed(self, name):
        return _writes_allowed() and super().is_action_allowed(name)

    # -- jurisdiction below every path ----------------------------------------------------------
    def get_query(self):
        return scoped(self.model.select(), current_user)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """The page of rows, with the rows each foreign-key column names loaded in one query per column
        (not one per row: 50 donations name 50 projects)."""
        count, query = super().get_list(page, sort_column, sort_desc, search, filters, execute=False,
                                        page_size=page_size)
        if not execute:
            return count, query
        rows = list(query.execute())
        for name in self.column_list or ():
            field = self.model._meta.fields.get(name)
            if not isinstance(field, ForeignKeyField) or not rows:
                continue
            keys = {row.__data__.get(field.name) for row in rows} - {None}
            target = field.rel_model
            related = {obj._pk: obj for obj in target.select().where(target._meta.primary_key.in_(list(keys)))}
            for row in rows:
                key = row.__data__.get(field.name)
                if key in related:
                    row.__rel__[field.name] = related[key]
        return count, rows

    def get_one(self, id):
        field = self.model._meta.primary_key
        if isinstance(field, IntegerField) and not str(id).strip().isdigit():
            return None  # "abc" finds nothing, on PostgreSQL too (it would refuse the comparison)
        try:
            pk = field.python_value(id)
        except (TypeError, ValueError):
            return None
        return self.get_query().where(self.model._meta.primary_key == pk).first()

    def _create_ajax_loader(self, name, options):
        field = getattr(self.model, name)
        return ScopedAjaxLoader(name, field.rel_model, **options)

    def _check_area(self, model) -> None:
        area = area_of(model)
        if not covers(current_user, area):
            raise XfjyError("所选记录不在您的管辖范围内")

    # -- writes: atomic, audited, refused where money is attached -------------------------------
    def create_model(self, form):
        try:
            require_write(current_user)
            with write_transaction():
                submissions.claim(form.once.data if hasattr(form, "once") else None, current_user)
                model = self.model()
                form.populate_obj(model)
                self.on_model_change(form, model, True)
                self._check_area(model)
                model.save(force_insert=True)
                save_inline(form, model)
                audit.record(current_user, "create", model, summary=f"新建{self.name}：{model}")
        except Exception as ex:
            self._report(ex, "新建失败")
            return False
        self.after_model_change(form, model, True)
        return model

    def edit_form(self, obj=None):
        """The form remembers which version of the row it showed (``db.audit.version``)."""
        form = super().edit_form(obj)
        if obj is not None and request.method == "GET" and hasattr(form, "row_version"):
            form.row_version.data = str(audit.version(obj))
        return form

    def update_model(self, form, model):
        try:
            require_write(current_user)
            with write_transaction():
                seen = getattr(form, "row_version", None)
                if seen is not None and str(seen.data or "").isdigit():
                    audit.check_unchanged(model, int(seen.data))  # inside the transaction: nobody in between
                    del form.row_version
                before = audit.snapshot(model)
                form.populate_obj(model)
                self.on_model_change(form, model, False)
                self._check_area(model)
                model.save()
                save_inline(form, model)
                audit.record(current_user, "update", model, before=before, summary=f"修改{self.name}：{model}")
        except Exception as ex:
            self._report(ex, "保存失败")
            return False
        self.after_model_change(form, model, False)
        return True

    def delete_model(self, model):
        try:
            require_write(current_user)
            blocker = deletion_blocker(model)
            if blocker:
                raise XfjyError(blocker)
            with write_transaction():
                self.on_model_delete(model)
                before = audit.snapshot(model)
                model.delete_instance()
                audit.record(current_user, "delete", model, before=before, summary=f"删除{self.name}：{model}")
        except Exception as ex:
            self._report(ex, "删除失败")
            return False
        self.after_model_delete(model)
        return True

    def _report(self, ex: Exception, what: str) -> None:
        if isinstance(ex, XfjyError):
            flash(f"{what}：{ex}", "error")
        elif isinstance(ex, IntegrityError):
            flash(f"{what}：与已有记录冲突（如编号重复）或缺少必填项", "error")
        elif not self.handle_view_exception(ex):
            flash(f"{what}：{ex}", "error")
            log.exception(what)

    def handle_view_exception(self, exc):
        if isinstance(exc, XfjyError):
            flash(str(exc), "error")
            return True
        return super().handle_view_exception(exc)

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        """An inline edit: a row outside the user's area is not found (404), a refused value is the
        user's to fix (400), never a server error."""
        pk = request.form.get("list_form_pk")
        if not self.column_editable_list or not pk or self.get_one(pk) is None:
            return "记录不存在或不在您的管辖范围内", 404
        if not may_write(current_user):
            return READ_ONLY, 403
        result = super().ajax_update()
        if isinstance(result, tuple) and result[1] == 500:
            return result[0], 400
        return result

    def scoped_ids(self, ids):
        """Bulk actions act only on the selected rows the user may see."""
        return list(self.get_query().where(self.model._meta.primary_key.in_(ids)))

    # -- exports a spreadsheet cannot be tricked by ---------------------------------------------
    def get_export_value(self, model, name):
        value = super().get_export_value(model, name)
        if isinstance(value, Model):
            value = str(value)  # a linked row's name is typed by users too
        return spreadsheet_safe(value)
