"""Signing in: Flask-Login over ``db.users`` (hashing, lock-out after repeated failures), CSRF on every form."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from limits import parse, storage, strategies
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from db import audit
from db.errors import XfjyError
from db.users import authenticate, user_for_session

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"
login_manager.session_protection = "strong"
csrf = CSRFProtect()
bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名")])
    password = PasswordField("密码", validators=[DataRequired("请输入密码")])


@login_manager.user_loader
def load_user(key: str):
    return user_for_session(key)


def safe_next(target: str) -> str:
    """Where to go after signing in: a path of this site only (no scheme, host, ``//``, backslash or
    control character, which browsers would read as another host)."""
    target = target or ""
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 32 or ord(c) == 127 for c in target)):
        return url_for("admin.index")
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else url_for("admin.index")


LOGIN_RATE_LIMIT = "30/minute"  # sign-in attempts per address (XFJY_LOGIN_RATE_LIMIT), besides the per-account lock


def _within_rate_limit() -> bool:
    """One more sign-in attempt from this address, if the moving window allows it (``limits``)."""
    limiter, rate = current_app.extensions["xfjy.login_limit"]
    return rate is None or limiter.hit(rate, "login", request.remote_addr or "?")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "POST" and not _within_rate_limit():
        flash("登录尝试过于频繁，请一分钟后再试", "error")
        return render_template("login.html", form=form), 429
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data)
        except XfjyError as exc:
            flash(str(exc), "error")
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next", "")))
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


def init_app(app) -> None:
    """The rate limit's counts live in ``RATELIMIT_STORAGE_URI`` (memory by default; a ``redis://``
    address shares them between server processes, with the ``redis`` package installed)."""
    rate = app.config.get("LOGIN_RATE_LIMIT", LOGIN_RATE_LIMIT)
    store = storage.storage_from_string(app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    app.extensions["xfjy.login_limit"] = (strategies.MovingWindowRateLimiter(store), parse(rate) if rate else None)
    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(bp)

    @app.before_request
    def _log_views():
        """Every page an auditor opens is kept in 操作日志 (``db.audit.record_view``)."""
        if request.method == "GET" and current_user.is_authenticated and not (request.endpoint or "").endswith("static"):
            audit.record_view(current_user, request.full_path.rstrip("?"))

    @app.context_processor
    def _user():
        return {"current_user": current_user}
