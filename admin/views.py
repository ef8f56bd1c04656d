"""What the admin serves so far: an overview of the programme (public figures only, no personal data)."""
from __future__ import annotations

from flask import Blueprint, render_template

from db import areas
from db.models import Level, Project, Village
from db.money import format_fen
from db.totals import totals
from db.workflow import PROJECT

bp = Blueprint("overview", __name__)


@bp.route("/")
def index():
    region = areas.get_area("150000")
    lines = areas.quota_report()
    by_state = {state: 0 for state in PROJECT.states}
    for project in Project.select(Project.state):
        by_state[project.state] += 1
    return render_template(
        "overview.html",
        lines=lines,
        totals=totals(area=region),
        villages=Village.select().count(),
        funds=Village.select().where(Village.fund_established_on.is_null(False)).count(),
        by_state=by_state,
        labels=PROJECT.states,
        level_names=Level.NAMES,
    )


def init_app(app) -> None:
    app.jinja_env.filters["yuan"] = format_fen
    app.register_blueprint(bp)
