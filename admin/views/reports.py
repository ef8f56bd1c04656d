"""报表: the 统计报表 of an area within the user's jurisdiction as of a date, and the 年度报告 of an area or a
village for a year, each downloaded as the XLSX the command line writes or shown as an A4 page to print
(``db.reports`` and ``db.annual`` compute them, ``admin.reports`` renders the workbooks). Every download and
every printed page is kept in 操作日志 as an ``export``."""
from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from db import audit
from db.annual import COUNTS, FIRST_YEAR, LABELS, SECTIONS, annual_report, parse_year
from db.clock import now, parse_day, today
from db.errors import XfjyError
from db.jurisdiction import scoped
from db.models import Area, Level, Role
from db.money import format_fen
from db.reports import build_report

from ..reports import (
    MONEY_FIELDS,
    PRINT_BALANCES,
    PRINT_FLOWS,
    PRINT_GROUPS,
    REPORT_LABELS,
    TOTALS,
    annual_period,
    annual_workbook_bytes,
    period_text,
    workbook_bytes,
)
from .base import RoleGuard

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PRINTED_PROJECTS = 200  # beyond this a printed 年度报告 refers to its workbook's 项目 sheet


def report_areas(actor):
    """The areas the user may report on: their own and every one below it that has areas below it."""
    return scoped(Area.select(Area.code, Area.name, Area.level, Area.path), actor).where(
        Area.level < Level.VILLAGE).order_by(Area.path)


def annual_area(actor, code: str) -> Area:
    """The area or village of a 年度报告, within the user's jurisdiction; 404 as if it did not exist outside it."""
    area = scoped(Area.select(), actor).where(Area.code == (code or "").strip()).first()
    if area is None:
        abort(404)
    return area


class ReportView(RoleGuard, BaseView):
    # a village has no areas below it
    roles = (Role.REGION, Role.PREFECTURE, Role.COUNTY, Role.TOWNSHIP, Role.ADMIN, Role.AUDITOR)

    @property
    def _by(self) -> str:
        return f"{current_user}（{current_user.username}）"

    @expose("/")
    def index(self):
        own = None if current_user.role == Role.ADMIN else current_user.area.code
        year = today().year
        return self.render("admin/reports.html", areas=report_areas(current_user), levels=Level.NAMES,
                           chosen=request.args.get("area") or own or "150000", as_of=f"{today():%Y-%m-%d}",
                           years=list(range(year, FIRST_YEAR - 1, -1)), last_year=year - 1)

    def _report(self):
        """The 统计报表 the request asks for, or a flashed message (None)."""
        code = (request.args.get("area") or "").strip()
        try:
            area = report_areas(current_user).where(Area.code == code).first()
            if area is None:
                raise XfjyError(f"区划代码 {code or '（空）'} 不存在或不在您的管辖范围内")
            as_of = parse_day(request.args.get("as_of", ""), "统计截止日期")
            start = parse_day(request.args["start"], "起始日期") if request.args.get("start", "").strip() else None
            return build_report(area.code, as_of, start)
        except XfjyError as exc:
            flash(str(exc), "error")
            return None

    @expose("/download")
    def download(self):
        report = self._report()
        if report is None:
            return redirect(url_for(".index", area=request.args.get("area", "")))
        data = workbook_bytes(report, by=self._by)
        start, as_of = report.start, report.as_of
        period = f"{start:%Y%m%d}-{as_of:%Y%m%d}" if start else f"截至{as_of:%Y%m%d}"
        name = f"统计报表-{report.name}-{period}.xlsx"
        audit.record(current_user, "export", table="report", object_id=report.code, summary=f"下载 {name}")
        return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)

    @expose("/print")
    def print_report(self):
        """The 统计报表 on A4: the area's figures, its next level's rows, room for the stamp and signatures."""
        report = self._report()
        if report is None:
            return redirect(url_for(".index", area=request.args.get("area", "")))
        audit.record(current_user, "export", table="report", object_id=report.code,
                     summary=f"打印统计报表 {report.name}（{period_text(report)}）")
        return render_template("admin/report_print.html", report=report, period=period_text(report),
                               level_name=Level.NAMES[report.level], total=report.total,
                               level=report.levels[0] if report.levels else None, groups=PRINT_GROUPS,
                               flows=PRINT_FLOWS, balances=PRINT_BALANCES, labels=REPORT_LABELS, money=MONEY_FIELDS,
                               fmt=format_fen, by=self._by, generated_at=now(), back=url_for(".index", area=report.code))

    def _annual(self):
        """The 年度报告 the request asks for (404 outside the user's jurisdiction), or a flashed message (None)."""
        area = annual_area(current_user, request.args.get("village") or request.args.get("area"))
        try:
            return annual_report(area.code, parse_year(request.args.get("year")))
        except XfjyError as exc:
            flash(str(exc), "error")
            return None

    @expose("/annual.xlsx")
    def annual_download(self):
        report = self._annual()
        if report is None:
            return redirect(url_for(".index", area=request.args.get("area", "")))
        name = f"年度报告-{report.name}-{report.year}.xlsx"
        data = annual_workbook_bytes(report, by=self._by)
        audit.record(current_user, "export", table="report", object_id=report.code, summary=f"下载 {name}")
        return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)

    @expose("/annual/print")
    def annual_print(self):
        """The 年度报告 on A4, with room for the stamp and the signatures."""
        report = self._annual()
        if report is None:
            return redirect(url_for(".index", area=request.args.get("area", "")))
        audit.record(current_user, "export", table="report", object_id=report.code,
                     summary=f"打印年度报告 {report.name} {report.year} 年")
        return render_template("admin/annual_print.html", report=report, period=annual_period(report), f=report.figures,
                               level=report.levels[0] if report.levels else None, sections=SECTIONS, labels=LABELS,
                               counts=COUNTS, totals=TOTALS, village_level=Level.VILLAGE, fmt=format_fen,
                               max_projects=MAX_PRINTED_PROJECTS, by=self._by, generated_at=now(),
                               back=url_for(".index", area=report.code))
