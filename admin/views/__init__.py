"""The admin's screens, registered in one place."""
from __future__ import annotations

from pathlib import Path

from flask import redirect, request, send_file, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from markupsafe import Markup
from peewee import fn

from db import areas, milestones, submissions
from db.disbursement import held_by_level
from db.jurisdiction import may_write, scoped
from db.models import Project, PublishRun, Role
from db.money import format_fen
from db.todo import todo_list
from db.totals import totals
from db.workflow import PROJECT
from site_builder.charts import quota_chart
from site_builder.theme import CONTENT

from .grids import VIEWS
from .imports import ImportView
from .programme import ProgrammeView
from .publish import PublishView
from .reports import ReportView
from .sampling import SamplingView
from .workflow import WorkflowView

TRANSLATIONS = Path(__file__).parent.parent / "translations"  # what Flask-Admin's own catalogue lacks


class Dashboard(AdminIndexView):
    """工作台: the same figures as the public site, within the user's area, and their to-do list."""

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login"))

    @expose("/")
    def index(self):
        area = None if current_user.role == Role.ADMIN else current_user.area
        whole = area or areas.get_area("150000")
        lines = areas.quota_report(within=area)
        by_state = dict(scoped(Project.select(Project.state, fn.COUNT(Project.id)), current_user)
                        .group_by(Project.state).tuples())
        batch = milestones.current_batch()
        steps = milestones.board(batch, area) if batch is not None and whole.level <= 2 else []
        return self.render(
            "admin/dashboard.html", lines=lines, batch=batch, steps=steps, step_names=milestones.STEPS, totals=totals(area=whole),
            todo=todo_list(current_user), by_state=by_state, held=held_by_level(whole), states=PROJECT.states, fmt=format_fen,
            role_name=Role.NAMES[current_user.role], statuses=PublishRun.STATUSES,
            last_publish=PublishRun.select().order_by(PublishRun.id.desc()).first(),
            quota_chart=quota_chart(lines),
        )


def once_field() -> Markup:
    """The hidden one-time token of a form that writes (``db.submissions``)."""
    return Markup('<input type="hidden" name="once" value="{}">').format(submissions.new_token())


def init_app(app) -> None:
    app.jinja_env.globals["once_field"] = once_field
    app.jinja_env.globals["role_names"] = Role.NAMES
    app.jinja_env.globals["may_write"] = may_write  # a read-only user (auditor, supervisor) gets no write forms
    theme = Bootstrap4Theme(swatch="default", base_template="admin/xfjy_base.html")  # who is signed in, 退出登录
    admin = Admin(app, name="幸福家园 工作后台", url="/admin", theme=theme,
                  index_view=Dashboard(name="工作台", url="/admin"), translations_path=str(TRANSLATIONS),
                  csp_nonce_generator=lambda: getattr(request, "csp_nonce", ""))
    for view, model, name in VIEWS:
        admin.add_view(view(model, name=name, endpoint=model._meta.table_name))
    admin.add_view(WorkflowView(name="办理", endpoint="workflow"))
    admin.add_view(ImportView(name="导入", endpoint="imports"))
    admin.add_view(ReportView(name="报表", endpoint="reports", category="报表督导"))
    admin.add_view(ProgrammeView(name="实施步骤", endpoint="programme", category="报表督导"))
    admin.add_view(SamplingView(name="抽查验收", endpoint="sampling", category="报表督导"))
    admin.add_view(PublishView(name="发布网站", endpoint="publish"))

    @app.route("/")
    def home():
        return redirect(url_for("admin.index"))

    @app.route("/favicon.ico")
    def favicon():
        """The public site's icon: browsers ask every host for it, signed in or not."""
        return send_file(CONTENT / "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400)
