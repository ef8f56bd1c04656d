"""发布网站: the history of publishes and a button that starts one in the background."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import current_app, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from db.models import PublishRun, Role
from site_builder.publish import is_running

from .base import RoleGuard

SHOWN_RUNS = 20


def start_publish(app, username: str) -> None:
    """Run ``xfjy publish`` as its own process, so that it outlives the request and holds the lock itself."""
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], XFJY_INSTANCE=app.instance_path,
               XFJY_SITE_DIR=app.config["SITE_DIR"], XFJY_SITE_URL=app.config["SITE_URL"],
               XFJY_ATTACHMENTS_DIR=app.config["ATTACHMENTS_DIR"])
    log = open(Path(app.instance_path) / "publish.log", "ab")
    subprocess.Popen([sys.executable, "-m", "admin.cli", "publish", "--requested-by", username],
                     env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()


class PublishView(RoleGuard, BaseView):
    roles = (Role.REGION, Role.ADMIN)

    @expose("/")
    def index(self):
        runs = PublishRun.select().order_by(PublishRun.id.desc()).limit(SHOWN_RUNS)
        return self.render("admin/publish.html", runs=runs, statuses=PublishRun.STATUSES,
                           running=is_running(Path(current_app.config["SITE_DIR"])),
                           site_url=current_app.config["SITE_URL"])

    @expose("/run", methods=("POST",))
    def run(self):
        if is_running(Path(current_app.config["SITE_DIR"])):
            flash("已有一次发布正在进行，请稍后刷新查看结果", "warning")
        else:
            start_publish(current_app._get_current_object(), current_user.username)
            flash("已开始发布，通常需要几十秒到几分钟；完成后刷新本页查看结果", "success")
        return redirect(url_for(".index"))
