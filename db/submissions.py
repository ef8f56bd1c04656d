"""A form is posted once. Each form the admin renders carries a fresh token; the write it causes
claims the token in the same transaction, so the same form sent twice (a double click, the browser
resending it, two tabs) writes once, and a write that fails leaves its token free to try again."""
from __future__ import annotations

import secrets

from peewee import IntegrityError

from .database import database, write_transaction
from .errors import XfjyError
from .models import Submission

ALREADY_POSTED = "这张表单已经提交过一次，没有重复记账。如需再登记一笔，请刷新页面后重新填写。"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def claim(token: str | None, actor=None) -> None:
    """Mark ``token`` used inside the caller's transaction; refuse one used before. No token, no check
    (forms from other clients, such as the tests' and the CLI's, post without one)."""
    token = (token or "").strip()
    if not token:
        return
    if len(token) > 64:
        raise XfjyError("表单已失效，请刷新页面后重新填写")
    with write_transaction():
        if Submission.select().where(Submission.token == token).exists():
            raise XfjyError(ALREADY_POSTED)
        try:
            with database.atomic():
                Submission.insert(token=token, user=getattr(actor, "id", None)).execute()
        except IntegrityError as exc:  # PostgreSQL: the other request committed it while this one waited
            raise XfjyError(ALREADY_POSTED) from exc
