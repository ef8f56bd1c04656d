"""Sending the daily reminder digests (``db.reminders``) over SMTP, for ``xfjy remind``.

Configuration is the app's (``XFJY_MAIL_SERVER`` etc., read by ``create_app``'s ``from_prefixed_env``):
``MAIL_SERVER`` (nothing is sent without it), ``MAIL_PORT`` (25), ``MAIL_USE_TLS`` (STARTTLS after
connecting), ``MAIL_USE_SSL`` (TLS from the start, usually port 465), ``MAIL_USERNAME`` and
``MAIL_PASSWORD`` (login, when given), ``MAIL_FROM`` (the sender's address) and ``ADMIN_URL`` (the
address the staff reach the admin at, for the links in the mail; default ``http://127.0.0.1:5000/``).
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid

from flask import Flask, url_for

from db.reminders import Digest, digest_body

SENDER_NAME = "幸福家园工作台"
TIMEOUT = 30  # seconds for each SMTP conversation step


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass(frozen=True)
class MailConfig:
    server: str
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = "xfjy@localhost"

    @classmethod
    def from_app(cls, config) -> MailConfig | None:
        """The SMTP settings of the app's config, or None when ``MAIL_SERVER`` is not set."""
        server = str(config.get("MAIL_SERVER") or "").strip()
        if not server:
            return None
        username = str(config.get("MAIL_USERNAME") or "")
        return cls(server=server, port=int(config.get("MAIL_PORT") or 25),
                   starttls=_flag(config.get("MAIL_USE_TLS") or config.get("MAIL_USE_STARTTLS")),
                   ssl=_flag(config.get("MAIL_USE_SSL")), username=username,
                   password=str(config.get("MAIL_PASSWORD") or ""),
                   sender=str(config.get("MAIL_FROM") or (username if "@" in username else "xfjy@localhost")))


def user_address(user) -> str | None:
    """The user's e-mail address (empty: the user gets no reminders)."""
    return user.email.strip() or None


class Links:
    """The admin's addresses of projects, villages and the 工程进度 board, from its own routes, rooted at
    ``ADMIN_URL``."""

    def __init__(self, app: Flask):
        self.app = app
        self.base = str(app.config.get("ADMIN_URL") or "http://127.0.0.1:5000/")

    def __call__(self, kind: str, id_: int) -> str:
        with self.app.test_request_context("/", base_url=self.base):
            if kind == "milestone":
                return url_for("programme.index", _external=True)
            endpoint, arg = ("workflow.village", "village_id") if kind == "village" else ("workflow.project", "project_id")
            return url_for(endpoint, **{arg: id_}, _external=True)

    @property
    def desk(self) -> str:
        with self.app.test_request_context("/", base_url=self.base):
            return url_for("admin.index", _external=True)


def message(digest: Digest, to: str, sender: str, links: Links) -> EmailMessage:
    mail = EmailMessage(policy=SMTP)
    mail["Subject"] = digest.subject
    mail["From"] = formataddr((SENDER_NAME, sender))
    mail["To"] = to
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(digest_body(digest, links, links.desk), charset="utf-8")
    return mail


@dataclass
class Outcome:
    sent: int = 0
    nothing: int = 0      # users with nothing waiting: no mail
    no_address: int = 0   # users with something waiting but no e-mail address: skipped
    failed: list[str] = field(default_factory=list)  # one line per recipient that failed


def _connect(config: MailConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if config.ssl:
        smtp = smtplib.SMTP_SSL(config.server, config.port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(config.server, config.port, timeout=TIMEOUT)
        if config.starttls:
            smtp.starttls(context=context)
    if config.username:
        smtp.login(config.username, config.password)
    return smtp


def send_digests(digests: Iterable[tuple[Digest, str | None]], config: MailConfig, links: Links,
                 echo: Callable[[str], None] = lambda _line: None) -> Outcome:
    """Send each non-empty digest to its address over one SMTP connection (opened only when there is
    something to send); a recipient that fails is counted and the others still get theirs."""
    outcome, smtp = Outcome(), None
    try:
        for digest, address in digests:
            if digest.empty:
                outcome.nothing += 1
                continue
            if not address:
                outcome.no_address += 1
                continue
            try:
                smtp = smtp or _connect(config)
                smtp.send_message(message(digest, address, config.sender, links))
                outcome.sent += 1
            except (smtplib.SMTPException, OSError) as exc:
                outcome.failed.append(f"{digest.user_name} <{address}>：{_reason(exc)}")
                echo(f"发送失败：{outcome.failed[-1]}")
                refused = isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException)
                if smtp is not None and not refused:
                    smtp.close()  # the connection is gone or broken: the next recipient opens a new one
                    smtp = None
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    return outcome


def _reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"收件人被拒绝（{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}）"
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"邮件服务器拒绝（{exc.smtp_code} {error}）"
    return f"{type(exc).__name__}: {exc}"


def preview(digest: Digest, address: str | None, links: Links) -> str:
    """What ``xfjy remind --dry-run`` prints for one digest."""
    to = address or "（无邮箱地址，不会发送）"
    return f"收件人：{digest.user_name} {to}\n主题：{digest.subject}\n\n{digest_body(digest, links, links.desk)}"
