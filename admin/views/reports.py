"""统计报表: the report of an area within the user's jurisdiction as of a date, downloaded as the XLSX
``xfjy report`` writes (``db.reports`` computes it, ``admin.reports`` renders it)."""
from __future__ import annotations

import io

from flask import flash, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from db.clock import parse_day, today
from db.errors import XfjyError
from db.jurisdiction import scoped
from db.models import Area, Level, Role
from db.reports import build_report

from ..reports import workbook_bytes
from .base import RoleGuard

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_areas(actor):
    """The areas the user may report on: their own and every one below it that has areas below it."""
    return scoped(Area.select(Area.code, Area.name, Area.level, Area.path), actor).where(
        Area.level < Level.VILLAGE).order_by(Area.path)


class ReportView(RoleGuard, BaseView):
    # a village has no areas below it
    roles = (Role.REGION, Role.PREFECTURE, Role.COUNTY, Role.TOWNSHIP, Role.ADMIN, Role.AUDITOR)

    @expose("/")
    def index(self):
        own = None if current_user.role == Role.ADMIN else current_user.area.code
        return self.render("admin/reports.html", areas=report_areas(current_user), levels=Level.NAMES,
                           chosen=request.args.get("area") or own or "150000", as_of=f"{today():%Y-%m-%d}")

    @expose("/download")
    def download(self):
        code = (request.args.get("area") or "").strip()
        try:
            area = report_areas(current_user).where(Area.code == code).first()
            if area is None:
                raise XfjyError(f"区划代码 {code or '（空）'} 不存在或不在您的管辖范围内")
            as_of = parse_day(request.args.get("as_of", ""), "统计截止日期")
            start = parse_day(request.args["start"], "起始日期") if request.args.get("start", "").strip() else None
            report = build_report(area.code, as_of, start)
        except XfjyError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index", area=code))
        data = workbook_bytes(report, by=f"{current_user}（{current_user.username}）")
        period = f"{start:%Y%m%d}-{as_of:%Y%m%d}" if start else f"截至{as_of:%Y%m%d}"
        return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                         download_name=f"统计报表-{report.name}-{period}.xlsx")
