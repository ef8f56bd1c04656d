"""The staff admin: ``create_app()`` wires the database, the CLI and the views."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_babel import Babel
from flask_talisman import Talisman
from markupsafe import escape
from peewee import DatabaseError

import db
from db.errors import storage_full

from . import auth, views


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("XFJY_INSTANCE") or str(Path.cwd() / "instance"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SECRET_KEY=_secret_key(app.instance_path),
        ATTACHMENTS_DIR=str(Path(app.instance_path) / "attachments"),
        SITE_DIR=str(Path(app.instance_path) / "site"),
        SITE_URL="http://127.0.0.1:8000/",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=40 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.from_prefixed_env("XFJY")
    if test_config:
        app.config.update(test_config)

    db.init_app(app)
    Babel(app, locale_selector=lambda: "zh_Hans_CN")

    _secure_headers(app)

    auth.init_app(app)
    views.init_app(app)

    @app.errorhandler(DatabaseError)
    @app.errorhandler(OSError)
    def disk_full(error):
        """A full disk (SQLite's file, the attachments) refuses the whole request, as any other bad input."""
        full = storage_full(error)
        if full is None:
            raise error
        app.logger.error("存储空间已满：%s", error)
        return (f"<!doctype html><meta charset=utf-8><title>存储空间已满</title><p>{escape(str(full))}</p>"
                "<p>请返回上一页。</p>"), 507

    @app.errorhandler(413)
    def too_large(_error):
        limit = app.config["MAX_CONTENT_LENGTH"] // 1024 // 1024
        return (f"<!doctype html><meta charset=utf-8><title>文件过大</title><p>上传的内容超过 {limit} MB，未保存任何内容。"
                f"每个票据不超过 10 MB，导入文件不超过 30 MB。请返回上一页。</p>"), 413
    return app


CSP = {
    "default-src": "'self'",
    "script-src": "'self'",        # plus each page's nonce (Flask-Admin puts it on its inline scripts)
    "script-src-attr": "'unsafe-inline'",  # Flask-Admin's confirm() on delete buttons
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _secure_headers(app) -> None:
    """CSP, frame, sniffing and referrer headers on every response (Flask-Talisman); HTTPS-only
    cookies and HSTS when the admin is served over https (``XFJY_HTTPS=1``)."""
    @app.after_request
    def sandbox_downloads(response):
        """A download (receipt, export) is never run as a page. Registered before Talisman, so it runs
        after it (Flask runs these in reverse) and its CSP is the one sent."""
        if response.headers.get("Content-Disposition", "").startswith("attachment"):
            response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    https = bool(app.config.get("HTTPS"))
    Talisman(app, force_https=https, strict_transport_security=https, session_cookie_secure=https,
             frame_options="DENY", referrer_policy="same-origin", content_security_policy=CSP,
             content_security_policy_nonce_in=["script-src"])
    app.config["REMEMBER_COOKIE_SECURE"] = https


def _secret_key(instance_path: str) -> str:
    """Read the instance's secret key, creating it on first start (never one shared in the repo)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
