"""Import screens: upload → preview with every problem by row and column → confirm → one transaction."""
from __future__ import annotations

import re
import time
from pathlib import Path

from flask import current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from db.errors import DataImportError
from db.imports import (
    DONATION_COLUMNS,
    MAX_FILE_BYTES,
    VILLAGE_COLUMNS,
    import_donations,
    import_villages,
    preview_donations,
    preview_villages,
)
from db.models import Donation, Role
from db.money import format_fen

from .base import RoleGuard

KINDS = {
    "donations": ("捐赠明细", DONATION_COLUMNS, preview_donations, import_donations, "donation.index_view"),
    "villages": ("村社名单", VILLAGE_COLUMNS, preview_villages, import_villages, "village.index_view"),
}
SUFFIXES = (".csv", ".xlsx")
SHOWN_ROWS = 200


class ImportView(RoleGuard, BaseView):
    roles = (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY, Role.PREFECTURE, Role.REGION)

    @expose("/")
    def index(self):
        return self.render("admin/import.html", kinds=KINDS, limit=MAX_FILE_BYTES // 1024 // 1024)

    @expose("/preview", methods=("POST",))
    def preview(self):
        kind = request.form.get("kind", "")
        upload = request.files.get("file")
        if kind not in KINDS or upload is None or not upload.filename:
            flash("请选择要导入的文件", "error")
            return redirect(url_for(".index"))
        name = Path(upload.filename).name
        if Path(name).suffix.lower() not in SUFFIXES:
            flash(f"不支持的文件类型「{name}」，请上传 CSV 或 XLSX", "error")
            return redirect(url_for(".index"))
        data = upload.read(MAX_FILE_BYTES + 1)
        title, columns, check, _, _ = KINDS[kind]
        result = check(data, name, current_user)
        if result.ok and result.rows:
            self._keep(result.sha256, data)
        return self.render("admin/import_preview.html", kind=kind, title=title, columns=columns, result=result,
                           name=name, shown=result.rows[:SHOWN_ROWS], limit=SHOWN_ROWS, fmt=format_fen,
                           consents=Donation.CONSENTS)

    @expose("/confirm", methods=("POST",))
    def confirm(self):
        kind, digest, name = request.form.get("kind", ""), request.form.get("sha256", ""), request.form.get("name", "")
        if kind not in KINDS or not re.fullmatch(r"[0-9a-f]{64}", digest):
            flash("导入请求无效", "error")
            return redirect(url_for(".index"))
        path = self._path(digest)
        if not path.exists():
            flash("预览已过期，请重新上传文件", "error")
            return redirect(url_for(".index"))
        _, _, _, run, listing = KINDS[kind]
        try:
            result = run(path.read_bytes(), Path(name).name or "import.csv", current_user)
        except DataImportError as exc:
            flash(f"导入失败，未写入任何记录：{exc}", "error")
            return redirect(url_for(".index"))
        path.unlink(missing_ok=True)
        flash(result.message, "success")
        return redirect(url_for(listing))

    def _path(self, digest: str) -> Path:
        return Path(current_app.instance_path) / "uploads" / f"{current_user.id}-{digest}"

    def _keep(self, digest: str, data: bytes) -> None:
        """Keep the previewed file until it is confirmed; previews left for a day are removed."""
        path = self._path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.iterdir():
            if old.stat().st_mtime < time.time() - 86400:
                old.unlink(missing_ok=True)
        path.write_bytes(data)
